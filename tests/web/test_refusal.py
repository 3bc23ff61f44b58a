"""Every refusal of the service is one `Refusal`, answered by one handler with the API's error body."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from service.embed.extensions import ExtensionError
from service.events.subscription import SubscriptionError
from service.imports import ImportRefused
from service.mapping_service import Invalid, MappingServiceError, NotReady
from service.refusal import Refusal
from service.web.errors import EXCEPTION_HANDLERS, ApiError

CASES = [
    (ApiError(429, "too_many_waiting", "Busy.", retry_after=7), 429,
     {"error": "too_many_waiting", "message": "Busy.", "retry_after": 7}),
    (ImportRefused("import_running", "An import is already running.", job="j1"), 409,
     {"error": "import_running", "message": "An import is already running.", "job": "j1"}),
    (SubscriptionError(502, "pim_error", "The PIM could not be asked for a token."), 502,
     {"error": "pim_error", "message": "The PIM could not be asked for a token."}),
    (ExtensionError(409, "pim_not_connected", "Connect the PIM first."), 409,
     {"error": "pim_not_connected", "message": "Connect the PIM first.", "hints": []}),
    (ExtensionError(403, "permission_missing", "No permission.", ["Give it."]), 403,
     {"error": "permission_missing", "message": "No permission.", "hints": ["Give it."]}),
    (NotReady("Connect the PIM first.", error="pim_not_connected"), 409,
     {"error": "pim_not_connected", "message": "Connect the PIM first."}),
    (Invalid({"sku": "is required"}), 422,
     {"error": "invalid", "message": "The mapping is not valid: is required", "fields": {"sku": "is required"}}),
    (MappingServiceError("Bad."), 400, {"error": "bad_request", "message": "Bad."}),
]


def _answer(exc: Exception) -> httpx.Response:
    async def raising(request: Request):
        raise exc

    async def get() -> httpx.Response:
        app = Starlette(routes=[Route("/", raising)], exception_handlers=EXCEPTION_HANDLERS)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            return await http.get("/")
    return asyncio.run(get())


@pytest.mark.parametrize(("exc", "status", "body"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_each_refusal_is_answered_with_its_status_and_body(exc, status, body):
    assert isinstance(exc, Refusal)
    response = _answer(exc)
    assert response.status_code == status
    assert response.json() == {**body, "request_id": ""}
    assert response.headers.get("retry-after") == (str(body["retry_after"]) if "retry_after" in body else None)


def test_one_handler_answers_every_refusal():
    assert [cls for cls in EXCEPTION_HANDLERS if issubclass(cls, Refusal)] == [Refusal]


def test_the_old_attributes_stay():
    """Callers read `error` (the schedule tick's log) and `hints` (the saved UI-extensions section)."""
    assert ImportRefused("import_running", "m").status == 409
    assert ExtensionError(403, "permission_missing", "m", ["h"]).hints == ["h"]
    assert NotReady("m").error == "not_ready" and NotReady("m").status == 409
