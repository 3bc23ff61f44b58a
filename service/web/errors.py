"""JSON errors: every failure is `{"error": code, "message": str, ...}`, never a stack trace.

Every `Refusal` (service/refusal.py) that leaves a handler, whether the handler raised it (`ApiError`) or the
policy it called did (a mapping, subscription, import or UI-extensions refusal), is answered by the one
handler `refusal_error`: handlers never convert one by hand.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from service.refusal import Refusal

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests",
          503: "unavailable"}


class ApiError(Refusal):
    """Raised by handlers to answer a JSON error: ApiError(409, "pim_not_connected", "…", changed=[…])."""


def request_id(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id", "")


def _encodable(value):
    """`value` with text that UTF-8 cannot encode (lone surrogates) replaced: an error must always answer."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(v) for v in value]
    return value


def error_response(status: int, error: str, message: str, request: Request | None = None, **extra) -> JSONResponse:
    body = _encodable({"error": error, "message": message, **extra})
    if request is not None:
        body["request_id"] = request_id(request)
    return JSONResponse(body, status_code=status)


async def refusal_error(request: Request, exc: Refusal) -> JSONResponse:
    response = error_response(exc.status, exc.error, exc.message, request, **exc.extra)
    if exc.extra.get("retry_after"):  # a 429 says when to come back, in the body and the header
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    response = error_response(exc.status_code, _CODES.get(exc.status_code, "error"),
                              exc.detail or "request failed", request)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


# Starlette looks a handler up along the exception's MRO: every subclass of Refusal lands in refusal_error.
EXCEPTION_HANDLERS = {Refusal: refusal_error, HTTPException: http_error}
