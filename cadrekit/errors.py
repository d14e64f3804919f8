"""What a use case says went wrong, in the domain's words and with no HTTP in it.

Use cases (``services/*/service``), the import pipeline and the domain raise these; they
do not know that a missing cadre is a 404 or a stale version a 412. The one place that
does is ``cadrekit.problems.install_problem_handlers``: it maps each kind below to its
problem+json answer (status, type, English and Chinese title), the same in every service.
A test (``tests/architecture``) keeps ``cadrekit.problems``, FastAPI and Starlette out of
the layers below the routes.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A failure the caller can act on. ``detail`` says what happened; ``errors`` names the
    fields at fault; ``extra`` carries facts the caller needs to recover (a current state,
    the rules not met) and is returned beside the detail.

    ``detail_zh``, and a ``message_zh`` in an entry of ``errors``, say the same in Chinese:
    a caller asking for Chinese (``Accept-Language: zh``) is answered with them instead."""

    default_detail = "the request cannot be carried out"

    def __init__(
        self,
        detail: str | None = None,
        *,
        detail_zh: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.default_detail)
        self.detail = detail or self.default_detail
        self.detail_zh = detail_zh
        self.errors = errors
        self.extra = extra


class NotFound(DomainError):
    """No such object, or none the caller's unit scope reaches: the two answer the same."""

    default_detail = "not found"


class Conflict(DomainError):
    """Well formed, but the present state does not allow it (a closed batch, a taken post)."""

    default_detail = "the present state does not allow this"


class NotKnownYet(Conflict):
    """A reference to something this service has not heard of yet from the service that
    owns it (a unit created a moment ago, still on its way through the events): not an
    error of the caller's, and the same request succeeds a moment later."""

    default_detail = "the reference is not known here yet"

    def __init__(self, detail: str | None = None, *, retry_after: int = 2, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.retry_after = retry_after


class Invalid(DomainError):
    """The input breaks a rule of the domain; ``errors`` names the fields."""

    default_detail = "invalid request"


class StaleVersion(DomainError):
    """The caller changed an object from a version that is no longer the current one."""

    default_detail = "the object has changed since it was read"


class NotPermitted(DomainError):
    """The caller's role may not do this to this object."""

    default_detail = "not permitted"


class TooLarge(DomainError):
    """The input is larger than the service accepts (a spreadsheet, a batch)."""

    default_detail = "too large"


def field_error(field: str, message: str, detail: str | None = None, *, zh: str | None = None, **extra: Any) -> Invalid:
    """An ``Invalid`` naming the one field at fault; ``zh`` is the message in Chinese."""
    error = {"field": field, "message": message} | ({"message_zh": zh} if zh else {})
    detail_zh = f"{field}: {zh}" if zh else None
    return Invalid(detail or f"{field}: {message}", detail_zh=detail_zh, errors=[error], **extra)
