"""Error bodies shaped like BigCommerce's: `{status, title, type, errors}`."""

from __future__ import annotations

from starlette.responses import JSONResponse

STATUS_DOCS = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "You don't have a required scope to access the endpoint",
    404: "The requested resource was not found",
    405: "Method Not Allowed",
    409: "The request conflicts with existing data",
    413: "The request payload is too large",
    422: "JSON data is missing or invalid",
    429: "Too many requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """Raised by handlers; turned into a JSON error response by the endpoint wrapper."""

    def __init__(self, status: int, title: str | None = None, errors: dict | None = None, body=None):
        super().__init__(title or TITLES.get(status, "Error"))
        self.status = status
        self.title = title or TITLES.get(status, "Error")
        self.errors = errors
        self.body = body  # a complete body, for the few routes whose error shape differs

    def response(self, headers: dict | None = None) -> JSONResponse:
        if self.body is not None:
            return JSONResponse(self.body, status_code=self.status, headers=headers)
        return error_response(self.status, self.title, self.errors, headers)


def error_body(status: int, title: str | None = None, errors: dict | None = None) -> dict:
    body = {"status": status, "title": title or TITLES.get(status, "Error"), "type": STATUS_DOCS}
    if errors is not None:
        body["errors"] = errors
    return body


def error_response(status: int, title: str | None = None, errors: dict | None = None,
                   headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, title, errors), status_code=status, headers=headers)


def invalid(errors: dict, title: str = "JSON data is missing or invalid") -> ApiError:
    return ApiError(422, title, errors)


def not_found(title: str = "The requested resource was not found") -> ApiError:
    return ApiError(404, title, {})


def conflict(title: str, errors: dict) -> ApiError:
    return ApiError(409, title, errors)
