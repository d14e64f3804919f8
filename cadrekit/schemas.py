"""Request-model primitives every service's ``schemas.py`` builds on.

Requests forbid unknown fields (no mass assignment of ``status``, ``version`` …) and strings
refuse NUL: PostgreSQL text cannot hold one, so it is a 422 naming the field here rather than
a 500 there. Ids are looked up as given; an empty id is refused (a move under parent ``""``
would otherwise reach the foreign key).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

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


def has_nul(value: Any) -> bool:
    """Whether a NUL hides anywhere in a value: a string, or a list's or a mapping's."""
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_nul(v) for v in value)
    return isinstance(value, str) and "\x00" in value


class Strict(BaseModel):
    """A request body: unknown fields are a 422, not silently dropped; and no field holds a
    NUL, not even inside a list or a mapping (a field without ``Text``'s pattern too)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value
