"""Request-model primitives every service's ``schemas.py`` builds on.

Requests forbid unknown fields (no mass assignment of ``status``, ``version`` …) and strings
refuse NUL: PostgreSQL text cannot hold one, so it is a 422 naming the field here rather than
a 500 there. Ids are looked up as given; an empty id is refused (a move under parent ``""``
would otherwise reach the foreign key).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NO_NUL = r"^[^\x00]*$"


# Bounded by the aliases below, or by a service with ``Annotated[Text, Field(max_length=…)]``.
Text = Annotated[str, StringConstraints(strip_whitespace=True, pattern=NO_NUL)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36, pattern=NO_NUL)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Tag = Annotated[Text, Field(min_length=1, max_length=50)]
Reason = Annotated[Text, Field(min_length=2, max_length=500)]
LongText = Annotated[Text, Field(max_length=5000)]


class ReadModel(BaseModel):
    """An answer: validated from a table row's attributes, or built by a use case."""

    model_config = ConfigDict(from_attributes=True)


class Strict(BaseModel):
    """A request body: unknown fields are a 422, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
