"""The configuration's JSON API: `GET /api/config` and `PUT /api/config/events` here, the connection forms
in web/connections_api.py, the main configuration and its PIM pickers in web/main_api.py. What they share
is here: a form's body (`read_form`), who saves it (`author`), what the policy they call takes (`context`).

Every form is read strictly: 413 past 64 KB, 422 with per-field errors before anything is stored. Secrets
never leave the server: the answers say whether a secret is set, never what it is (service.config.public)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from service.config import forms
from service.config.public import configuration, public_events
from service.settings import Settings
from service.store import Store
from service.web.body import api_object
from service.web.guard import current_session

MAX_BODY = 64 * 1024


async def read_form(request: Request) -> dict[str, Any]:
    """A configuration form's body: a JSON object of at most 64 KB (413, 422 otherwise)."""
    return await api_object(request, MAX_BODY, f"{MAX_BODY // 1024} KB")


def context(request: Request) -> tuple[Settings, Store, str]:
    """The settings, the store and the session's tenant: what the configuration's functions take first."""
    return request.app.state.settings, request.app.state.store, current_session(request).tenant


def author(request: Request) -> dict[str, Any]:
    """Who saves, as a recorded configuration change names them: `{user, via}`."""
    session = current_session(request)
    user = session.user or {}
    return {"user": user.get("email") or user.get("username") or user.get("id"), "via": session.via}


async def get_config(request: Request) -> JSONResponse:
    """
    summary: The tenant's configuration (secrets masked) and whether the first import ran.
    responses:
      200: {description: "{pim, bigcommerce, main, events, first_import_done}", content: {application/json: {schema: {$ref: '#/components/schemas/Config'}}}}
    """
    settings, store, tenant = context(request)
    return JSONResponse(await asyncio.to_thread(configuration, store, tenant, settings.app_url))


async def put_events(request: Request) -> JSONResponse:
    """
    summary: Store the PIM event subscription's secret (encrypted).
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/ManualEventsForm'}}}}
    responses:
      200: {description: "{saved, events}", content: {application/json: {schema: {$ref: '#/components/schemas/ManualEventsSaved'}}}}
      413: {description: body larger than 64 KB}
      422: {description: invalid secret}
    """
    settings, store, tenant = context(request)
    values, errors = forms.read_events(await read_form(request))
    if errors:
        raise forms.FieldsInvalid(errors)
    await asyncio.to_thread(store.put_credentials, tenant, "events", {"secret": values["secret"]})
    events = await asyncio.to_thread(public_events, settings.app_url, store, tenant)
    return JSONResponse({"saved": True, "events": events})
