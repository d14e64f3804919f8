"""The scoring API's request bodies and read models (the JSON as the API always answered
it), one module per router (``schemas/<resource>.py`` beside ``api/<resource>.py``); here,
the types they share."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainSerializer

from services.scoring.domain.money import text

# Points: a Decimal inside, text to two places in the JSON ("-1.50").
Money = Annotated[Decimal, PlainSerializer(text, return_type=str, when_used="json")]

JsonList = list[dict[str, Any]]  # the catalogue's JSON columns, as stored
