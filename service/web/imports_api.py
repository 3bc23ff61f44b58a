"""The imports JSON API: start a run, read runs, import settings and schedule, the clean-up action.

Every Redis or RQ call runs in a thread (service/imports.py is synchronous): the event loop never waits."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service import imports
from service.connections import readiness
from service.store import Store
from service.web.body import api_body, json_object
from service.web.errors import ApiError
from service.web.guard import current_session

MAX_BODY = 16 * 1024
_RUN_ID = re.compile(r"^r[0-9a-f]{16}$")


def _ctx(request: Request) -> tuple[Store, Any, str]:
    return request.app.state.store, request.app.state.redis, current_session(request).tenant


async def _thread(func, *args, **kwargs):
    return await asyncio.wait_for(asyncio.to_thread(func, *args, **kwargs), 15)


async def _body(request: Request) -> dict[str, Any]:
    # this API's 413 has always come without `fields`: the answers are frozen
    raw = await api_body(request, MAX_BODY, f"{MAX_BODY // 1024} KB", fields=False)
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise ApiError(422, "invalid", "The request body is not valid JSON.", fields={"body": "is not valid JSON"}) \
            from None
    return json_object(body)


async def start_import(request: Request) -> JSONResponse:
    """
    summary: Start a full or delta import.
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/ImportForm'}}}}
    responses:
      202: {description: "{id}: the run, queued", content: {application/json: {schema: {$ref: '#/components/schemas/ImportStarted'}}}}
      409: {description: "configuration_incomplete (missing names what) or import_running"}
      422: {description: mode is not "full" or "delta"}
    """
    store, conn, tenant = _ctx(request)
    body = await _body(request)
    mode = body.get("mode")
    if mode not in imports.MODES:
        raise ApiError(422, "invalid", 'mode must be "full" or "delta".', fields={"mode": 'must be "full" or "delta"'})
    run_id = await _thread(imports.start_import, store, conn, tenant, mode)
    return JSONResponse({"id": run_id}, status_code=202)


async def list_imports(request: Request) -> JSONResponse:
    """
    summary: The last 30 runs, newest first (each with its first issues; the run itself has them all).
    responses:
      200: {description: "{items: [run]}", content: {application/json: {schema: {$ref: '#/components/schemas/Runs'}}}}
    """
    store, conn, tenant = _ctx(request)
    items = await _thread(imports.list_runs, store, conn, tenant, imports.RECENT)
    return JSONResponse({"items": items})


async def get_import(request: Request) -> JSONResponse:
    """
    summary: One run (progress, counts, errors and warnings).
    parameters:
      - {name: run_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: "{id, mode, status, created_at, started_at, finished_at, progress, counts, errors, warnings}",
        content: {application/json: {schema: {$ref: '#/components/schemas/Run'}}}}
      404: {description: no such run for this tenant}
    """
    store, conn, tenant = _ctx(request)
    run_id = request.path_params["run_id"]
    run = await _thread(imports.get_run, store, conn, tenant, run_id) if _RUN_ID.match(run_id) else None
    if run is None:
        raise ApiError(404, "not_found", "There is no such import.")
    return JSONResponse(run)


async def _settings_document(store: Store, conn: Any, tenant: str) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        status = store.get_section(tenant, "status")
        return {"settings": imports.import_settings(store, tenant),
                "schedule": imports.schedule_status(conn, tenant),
                "missing": readiness(store, tenant).missing,
                "next_import": status.get("next_import"),
                "first_import_done": bool(status.get("first_import_done")),
                "cleanup": store.get_section(tenant, imports.CLEANUP_SECTION) or None,
                "to_retry": ledger.count_failed() if (ledger := store.ledger(tenant)) else 0}
    return await _thread(read)


async def get_import_settings(request: Request) -> JSONResponse:
    """
    summary: Import filters, removed-products policy and delta schedule, with what is still missing.
    responses:
      200: {description: "{settings, schedule, missing, next_import, first_import_done, cleanup, to_retry}",
        content: {application/json: {schema: {$ref: '#/components/schemas/ImportSettings'}}}}
    """
    store, conn, tenant = _ctx(request)
    return JSONResponse(await _settings_document(store, conn, tenant))


async def put_import_settings(request: Request) -> JSONResponse:
    """
    summary: Save import filters, removed-products policy and the delta schedule (any subset).
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/ImportSettingsForm'}}}}
    responses:
      200: {description: "{settings, schedule, ...}: saved; a changed schedule replaced the armed one",
        content: {application/json: {schema: {$ref: '#/components/schemas/ImportSettings'}}}}
      422: {description: "invalid fields, nothing saved"}
    """
    store, conn, tenant = _ctx(request)
    body = await _body(request)
    current = await _thread(imports.import_settings, store, tenant)
    values, errors = imports.read_import_settings(body, current)
    if errors:
        raise ApiError(422, "invalid", "Some import settings are not valid: " + "; ".join(
            f"{k} {v}" for k, v in errors.items()), fields=errors)
    await _thread(imports.save_import_settings, store, conn, tenant, values)
    return JSONResponse(await _settings_document(store, conn, tenant))


async def start_cleanup(request: Request) -> JSONResponse:
    """
    summary: After a confirmed guarded change, hide or delete what the connector created before it.
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/CleanupForm'}}}}
    responses:
      202: {description: "{id, action}: the clean-up job, queued", content: {application/json: {schema: {$ref: '#/components/schemas/CleanupStarted'}}}}
      409: {description: "nothing_to_clean, other_store, import_running, cleanup_running"}
      422: {description: action is not "hide" or "delete"}
    """
    store, conn, tenant = _ctx(request)
    body = await _body(request)
    action = body.get("action")
    if action not in ("hide", "delete"):
        raise ApiError(422, "invalid", 'action must be "hide" or "delete".',
                       fields={"action": 'must be "hide" or "delete"'})
    job_id = await _thread(imports.start_cleanup, store, conn, tenant, action)
    return JSONResponse({"id": job_id, "action": action}, status_code=202)


routes: list[Route] = [
    Route("/api/imports", start_import, methods=["POST"]),
    Route("/api/imports", list_imports, methods=["GET"]),
    Route("/api/imports/cleanup", start_cleanup, methods=["POST"]),
    Route("/api/imports/{run_id}", get_import, methods=["GET"]),
    Route("/api/config/imports", get_import_settings, methods=["GET"]),
    Route("/api/config/imports", put_import_settings, methods=["PUT"]),
]
