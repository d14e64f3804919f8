"""A valid instance of any event model, for examples and tests: the model's own ``EXAMPLE``
where it has one, every other required field filled from its type.

A test names only the fields it is about (``sample("secondment.started", cadre_id=c)``) and
still hands a consumer an event its contract accepts; when a model gains a required field
the tests keep building valid events without being edited one by one.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from decimal import Decimal
from typing import Any

from pydantic.fields import FieldInfo

from contracts.base import EventData, current

DAY = dt.date(2022, 1, 1)


def _value(name: str, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _value(name, args[0])
    if origin in (typing.Union, types.UnionType):
        return _value(name, next(a for a in args if a is not type(None)))
    if origin is typing.Literal:
        return args[0]
    if origin in (list, tuple, set, frozenset):
        return []
    if origin is dict:
        return {}
    if annotation is dt.datetime:
        return dt.datetime.combine(DAY, dt.time(), dt.UTC).isoformat()
    if annotation is dt.date:
        return DAY.isoformat()
    if annotation is bool:
        return False
    if annotation is int:
        return 1
    if annotation is Decimal:
        return "0.00"
    if annotation is str:
        return f"{name.removesuffix('_id')}-1" if name.endswith("_id") else name
    raise TypeError(f"no sample value for {name}: {annotation!r}")


def _required(field: FieldInfo) -> bool:
    return field.is_required()


def sample_data(model: type[EventData] | str, /, **overrides: Any) -> dict[str, Any]:
    """The JSON data of a sample (``overrides`` applied unvalidated: a test may add a field
    the contract does not know, or give a value it refuses)."""
    model = current(model) if isinstance(model, str) else model
    data = dict(model.EXAMPLE or {})
    ordered_by = model.ORDER.by if model.ORDER is not None else None
    for name, field in model.model_fields.items():
        # what orders the states is optional only for events from before it; emitted, always there
        if name not in data and (_required(field) or name == ordered_by):
            data[name] = _value(name, field.annotation)
    return {**model.model_validate(data).model_dump(mode="json"), **overrides}


def sample(model: type[EventData] | str, /, **overrides: Any) -> EventData:
    """A validated instance: the sample with ``overrides``."""
    model = current(model) if isinstance(model, str) else model
    return model.model_validate(sample_data(model, **overrides))
