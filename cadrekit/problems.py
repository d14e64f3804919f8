"""RFC 9457 problem details: the one error shape of every service and the gateway.

Use cases raise ``cadrekit.errors`` kinds, which know nothing of HTTP; the edges (tokens,
the gateway, ETag headers) raise ``Problem`` subclasses, which do. One set of handlers turns
both, validation failures and anything unexpected into ``application/problem+json``;
``PROBLEM_OF`` is the one table that says which answer each domain kind gets.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cadrekit import context, errors
from cadrekit.dates import impossible_day

log = logging.getLogger("cadrekit.problems")

PROBLEM_BASE = "https://cadre.example/problems/"
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """A failure the client can act on. Subclasses set status, slug and title."""

    status = 400
    slug = "bad-request"
    title = "Bad request"
    title_zh = "请求有误"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


class NotFound(Problem):
    status, slug, title, title_zh = 404, "not-found", "Not found", "未找到"


class Conflict(Problem):
    status, slug, title, title_zh = 409, "conflict", "Conflict", "冲突"


class InvalidInput(Problem):
    status, slug, title, title_zh = 422, "validation", "Invalid request", "请求参数无效"


class Unauthorized(Problem):
    status, slug, title, title_zh = 401, "unauthorized", "Unauthorized", "未认证"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **kw)


class Forbidden(Problem):
    status, slug, title, title_zh = 403, "forbidden", "Forbidden", "无权访问"


class PreconditionFailed(Problem):
    status, slug, title, title_zh = 412, "precondition-failed", "Precondition failed", "版本已变更"


class PreconditionRequired(Problem):
    status, slug, title, title_zh = 428, "precondition-required", "Precondition required", "缺少 If-Match"


class PayloadTooLarge(Problem):
    status, slug, title, title_zh = 413, "payload-too-large", "Payload too large", "请求体过大"


class ServiceUnavailable(Problem):
    status, slug, title, title_zh = 503, "unavailable", "Service unavailable", "服务暂不可用"


# The answer of each domain kind; a subclass (``CadreNotFound``) answers as its nearest
# listed ancestor.
PROBLEM_OF: dict[type[errors.DomainError], type[Problem]] = {
    errors.NotFound: NotFound,
    errors.NotKnownYet: Conflict,
    errors.Conflict: Conflict,
    errors.Invalid: InvalidInput,
    errors.StaleVersion: PreconditionFailed,
    errors.NotPermitted: Forbidden,
    errors.TooLarge: PayloadTooLarge,
    errors.DomainError: Problem,
}


def problem_of(exc: errors.DomainError) -> type[Problem]:
    return next(PROBLEM_OF[k] for k in type(exc).__mro__ if k in PROBLEM_OF)


_ZH_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "JSON 格式错误",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "date_from_datetime_parsing": "日期格式无效",
    "date_parsing": "日期格式无效",
    "date_type": "日期格式无效",
    "uuid_parsing": "编号格式无效",
    "uuid_type": "编号格式无效",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "string_too_long": "字符串过长",
    "string_too_short": "字符串过短",
    "too_long": "条目过多",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_attributes_type": "应为对象",
    "value_error": "取值无效",
}


async def reject_nul_in_url(request: Request) -> None:
    """A NUL in a path or query parameter is bad input, answered 422 before it reaches a
    query: PostgreSQL text cannot hold NUL and the driver would fail with a 500."""
    bad = [("query", k) for k, v in request.query_params.multi_items() if "\x00" in k or "\x00" in v]
    bad += [("path", k) for k, v in request.path_params.items() if isinstance(v, str) and "\x00" in v]
    if bad:
        raise InvalidInput(
            "parameters must not contain NUL characters",
            errors=[{"field": k, "in": where, "message": "contains a NUL character"} for where, k in bad],
        )


def wants_chinese(request: Request) -> bool:
    lang = request.headers.get("accept-language", "").lower()
    return lang.startswith("zh")


def problem_body(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": context.request_id.get() or getattr(request.state, "request_id", None),
    }
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=MEDIA_TYPE, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


_WRITTEN_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _impossible_date(err: dict[str, Any], zh: bool) -> str | None:
    """A date in the asked-for form that names no day says what is wrong with it, not that
    the form is wrong."""
    if not str(err.get("type", "")).startswith("date") or not isinstance(err.get("input"), str):
        return None
    m = _WRITTEN_DATE.fullmatch(err["input"])
    wrong = m and impossible_day(int(m[1]), int(m[2]), int(m[3]))
    return (wrong[1] if zh else wrong[0]) if wrong else None


def _clean_message(err: dict[str, Any], zh: bool) -> str:
    kind = err.get("type", "")
    impossible = _impossible_date(err, zh)
    if impossible:
        return impossible
    if zh and kind in _ZH_MESSAGES:
        msg = _ZH_MESSAGES[kind]
        if kind == "value_error":
            ctx = err.get("ctx", {}).get("error")
            return f"{msg}: {ctx}" if ctx else msg
        return msg
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


def _in_language(error: dict[str, Any], zh: bool) -> dict[str, Any]:
    """A domain error's field entry in one language: its ``message_zh`` replaces the message
    for a caller asking for Chinese and never leaves the service as a key of its own."""
    out = {k: v for k, v in error.items() if k != "message_zh"}
    if zh and error.get("message_zh"):
        out["message"] = error["message_zh"]
    return out


def validation_errors(exc: RequestValidationError, zh: bool) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            out.append({"field": "body", "message": _clean_message(err, zh)})
            continue
        out.append(
            {"field": _field_name(loc), "message": _clean_message(err, zh), "in": str(loc[0]) if loc else "body"}
        )
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        zh = wants_chinese(request)
        body = problem_body(
            request,
            status=exc.status,
            slug=exc.slug,
            title=exc.title_zh if zh else exc.title,
            detail=exc.detail,
            errors=exc.errors,
            extra=exc.extra,
        )
        return problem_response(body, exc.headers)

    @app.exception_handler(errors.DomainError)
    async def _domain(request: Request, exc: errors.DomainError) -> JSONResponse:
        kind = problem_of(exc)
        zh = wants_chinese(request)
        body = problem_body(
            request,
            status=kind.status,
            slug=kind.slug,
            title=kind.title_zh if zh else kind.title,
            detail=(exc.detail_zh or exc.detail) if zh else exc.detail,
            errors=None if exc.errors is None else [_in_language(e, zh) for e in exc.errors],
            extra=exc.extra,
        )
        retry_after = getattr(exc, "retry_after", None)
        return problem_response(body, {"Retry-After": str(retry_after)} if retry_after else None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        zh = wants_chinese(request)
        errors = validation_errors(exc, zh)
        n = len(errors)
        detail = f"{n} 个字段无效" if zh else f"{n} field{'s' if n != 1 else ''} invalid"
        body = problem_body(
            request,
            status=422,
            slug="validation",
            title="请求参数无效" if zh else "Invalid request",
            detail=detail,
            errors=errors,
        )
        return problem_response(body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        zh = wants_chinese(request)
        titles = {404: ("Not found", "未找到"), 405: ("Method not allowed", "方法不允许")}
        en, cn = titles.get(exc.status_code, ("Error", "错误"))
        body = problem_body(
            request,
            status=exc.status_code,
            slug="not-found" if exc.status_code == 404 else f"http-{exc.status_code}",
            title=cn if zh else en,
            detail=str(exc.detail),
        )
        return problem_response(body, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never a stack trace in the body: it goes to the log with the request id.
        log.exception("unhandled error", extra={"path": request.url.path})
        zh = wants_chinese(request)
        status, slug, title = 500, "internal", "服务器内部错误" if zh else "Internal error"
        if _is_database_unreachable(exc):
            status, slug, title = 503, "unavailable", "服务暂不可用" if zh else "Service unavailable"
        body = problem_body(request, status=status, slug=slug, title=title, detail=title)
        return problem_response(body, {"Retry-After": "5"} if status == 503 else None)


def _is_database_unreachable(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, InterfaceError | OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, ConnectionError | OSError)
