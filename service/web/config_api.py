"""The configuration JSON API (`/api/config…`, `/api/pim/…`). Owned by the configuration work.

Every handler reads its body strictly (422 with per-field errors before anything is stored), and
secrets never leave the server: the answers say whether a secret is set, never what it is."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.clients.akeneo import API as AKENEO_API
from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoError, AkeneoNotFound, AkeneoValidationError
from service.config import forms
from service.config.checks import CheckCrashed, check_bigcommerce, check_pim
from service.config.guard import changed_fields, confirmation_message, full_import_status
from service.config.hints import pim_failure
from service.config.main import MainInvalid, label, validate_main
from service.config.records import (
    IDENTITY,
    SECRETS,
    bigcommerce_section,
    has_credentials,
    kept_secrets,
    save_tested,
)
from service.connections import UNUSABLE, credentials_in_force, is_in_force, standalone_pim_client
from service.net import UnsafeUrl, ensure_public_url
from service.store import Store, TenantGone, attempt_name
from service.web.body import api_body
from service.web.errors import ApiError
from service.web.guard import current_session

log = logging.getLogger("connector.config")

MAX_BODY = 64 * 1024
LIMIT = re.compile(r"^[0-9]{1,3}$")  # ASCII digits only: "²".isdigit() is true, int("²") fails
LOCALE_NAMES = {
    "en_US": "English (United States)", "en_GB": "English (United Kingdom)", "en_AU": "English (Australia)",
    "en_CA": "English (Canada)", "fr_FR": "French (France)", "fr_BE": "French (Belgium)",
    "fr_CA": "French (Canada)", "fr_CH": "French (Switzerland)", "de_DE": "German (Germany)",
    "de_AT": "German (Austria)", "de_CH": "German (Switzerland)", "es_ES": "Spanish (Spain)",
    "es_MX": "Spanish (Mexico)", "it_IT": "Italian (Italy)", "nl_NL": "Dutch (Netherlands)",
    "nl_BE": "Dutch (Belgium)", "pt_PT": "Portuguese (Portugal)", "pt_BR": "Portuguese (Brazil)",
    "pl_PL": "Polish (Poland)", "sv_SE": "Swedish (Sweden)", "da_DK": "Danish (Denmark)",
    "fi_FI": "Finnish (Finland)", "nb_NO": "Norwegian (Norway)", "ja_JP": "Japanese (Japan)",
    "zh_CN": "Chinese (China)", "ko_KR": "Korean (Korea)", "ru_RU": "Russian (Russia)",
}


# --- helpers ------------------------------------------------------------------------------------


def _invalid(fields: dict[str, str], message: str | None = None) -> ApiError:
    summary = message or "Some fields are not valid: " + "; ".join(f"{k} {v}" for k, v in fields.items())
    return ApiError(422, "invalid", summary, fields=fields)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await api_body(request, MAX_BODY, f"{MAX_BODY // 1024} KB")
    try:
        body = json.loads(raw)
    except RecursionError:  # absurd nesting ("[[[[…"): the decoder gives up before we would
        raise _invalid({"body": "is nested too deeply"}, "The request body is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError):
        raise _invalid({"body": "is not valid JSON"}, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _invalid({"body": "must be a JSON object"}, "The request body must be a JSON object.")
    return body


def _ctx(request: Request) -> tuple[Store, str]:
    return request.app.state.store, current_session(request).tenant


def _first_import_done(store: Store, tenant: str) -> bool:
    return bool(store.get_section(tenant, "status").get("first_import_done"))


def _guard(store: Store, tenant: str, old: dict, new: dict, fields: tuple[str, ...], confirm: bool) -> list[str]:
    """The guarded fields this save changes after the first import; 409 unless confirmed."""
    if not _first_import_done(store, tenant):
        return []
    changed = changed_fields(old, new, fields)
    if changed and not confirm:
        raise ApiError(409, "confirmation_required", confirmation_message(changed), changed=changed)
    return changed


def _record(store: Store, tenant: str, request: Request, changed: list[str], old: dict, new: dict) -> None:
    if not changed:
        return
    user = current_session(request).user
    store.record_config_change(tenant, {
        "changed": changed, "from": {f: old.get(f) for f in changed}, "to": {f: new.get(f) for f in changed},
        "user": user.get("email") or user.get("username") or user.get("id"), "via": current_session(request).via})
    store.put_section(tenant, "status", full_import_status(store.get_section(tenant, "status")))


def _attempt(section: dict, fields: tuple[str, ...]) -> dict[str, Any] | None:
    if not section:
        return None
    return {**{f: section.get(f, "") for f in fields}, "connected": False, "message": section.get("message", ""),
            "hints": section.get("hints", []), "tested_at": section.get("tested_at")}


def _split(section: dict, attempt: dict | None) -> tuple[dict, dict]:
    """(in force, latest failed attempt). A section stored as not connected (older versions stored a failed
    test in place) is an attempt, not a connection in force."""
    attempt = attempt or {}
    if section and not is_in_force(section):
        return {}, attempt or section
    return section, attempt


def public_pim(section: dict, credentials: dict | None, attempt: dict | None = None,
               attempt_credentials: dict | None = None) -> dict[str, Any]:
    """The PIM connection as the page shows it: the connection in force (`connected`), else the latest
    attempt; `last_attempt` is the latest failed test, `previous_in_use` says a failed one left the
    previous connection in force."""
    in_force, failed = _split(section, attempt)
    shown = in_force or failed
    creds, tried = credentials or {}, attempt_credentials or {}
    return {"url": shown.get("url") or creds.get("url") or "", "client_id": shown.get("client_id", ""),
            "username": shown.get("username", ""), "secret_set": bool(tried.get("secret") or creds.get("secret")),
            "password_set": bool(tried.get("password") or creds.get("password")),
            "connected": bool(in_force), "message": shown.get("message", ""), "hints": shown.get("hints", []),
            "tested_at": shown.get("tested_at"), "last_attempt": _attempt(failed, ("url", "client_id", "username")),
            "previous_in_use": bool(in_force and failed)}


def public_bigcommerce(section: dict, credentials: dict | None, attempt: dict | None = None,
                       attempt_credentials: dict | None = None) -> dict[str, Any]:
    in_force, failed = _split(section, attempt)
    shown = in_force or failed
    return {"store_hash": shown.get("store_hash", ""), "client_id": shown.get("client_id") or "",
            "token_set": bool((credentials or {}).get("access_token") or (attempt_credentials or {}).get("access_token")),
            "installed_as_app": bool(in_force.get("installed_as_app") or failed.get("installed_as_app")),
            "connected": bool(in_force), "message": shown.get("message", ""), "hints": shown.get("hints", []),
            "store": in_force.get("store") or {}, "tested_at": shown.get("tested_at"),
            "last_attempt": _attempt(failed, ("store_hash", "client_id")), "previous_in_use": bool(in_force and failed)}


def public_connection(store: Store, tenant: str, kind: str, sections: dict[str, dict] | None = None) -> dict[str, Any]:
    """`public_pim` / `public_bigcommerce` for a tenant, read from the store."""
    sections = store.all_sections(tenant) if sections is None else sections
    view = public_pim if kind == "pim" else public_bigcommerce
    return view(sections.get(kind, {}), store.get_credentials(tenant, kind), sections.get(attempt_name(kind)),
                store.get_credentials(tenant, attempt_name(kind)))


def public_main(section: dict) -> dict[str, Any]:
    return {k: section.get(k) for k in ("locale", "channel", "category", "category_tree", "saved_at")}


def public_events(request: Request, store: Store, tenant: str) -> dict[str, Any]:
    return {"webhook_url": f"{request.app.state.settings.app_url}/webhooks/akeneo/{tenant}",
            "secret_set": bool((store.get_credentials(tenant, "events") or {}).get("secret"))}


def _pim_credentials(store: Store, tenant: str) -> dict:
    creds = credentials_in_force(store, tenant, "pim")
    if not creds:
        raise ApiError(409, "pim_not_connected",
                       "Save PIM credentials that pass the connection test first.")
    return creds


async def pim_client(request: Request, store: Store, tenant: str) -> tuple[AkeneoClient, dict]:
    """A client on the tenant's stored PIM credentials, and those credentials (for failure hints); 409
    until the PIM connection passed its test. The Redis reads run off the event loop."""
    creds = await asyncio.to_thread(_pim_credentials, store, tenant)
    try:
        client = standalone_pim_client(request.app.state.settings, creds, timeout=15.0, max_attempts=3)
    except (KeyError, TypeError, *UNUSABLE):
        raise _unusable_pim_credentials() from None
    return client, creds


def _unusable_pim_credentials() -> ApiError:
    return ApiError(409, "pim_not_connected", "The stored PIM credentials cannot be used: save the PIM form again.")


def _crashed(exc: CheckCrashed) -> ApiError:
    """Nothing was saved: the values could not even be sent (the form's checks should have caught it)."""
    return _invalid({f: "could not be used for the connection test: check it for unusual characters"
                     for f in exc.fields},
                    "These values could not be used for the connection test; nothing was saved. Check them for "
                    "unusual characters.")


def _pim_error(exc: AkeneoError, creds: dict) -> ApiError:
    message, hints = pim_failure(exc, creds)
    return ApiError(502, "pim_error", message, hints=hints)


# --- configuration --------------------------------------------------------------------------------


async def get_config(request: Request) -> JSONResponse:
    """
    summary: The tenant's configuration (secrets masked) and whether the first import ran.
    responses:
      200: {description: "{pim, bigcommerce, main, events, first_import_done}", content: {application/json: {schema: {$ref: '#/components/schemas/Config'}}}}
    """
    store, tenant = _ctx(request)
    return JSONResponse(await asyncio.to_thread(_config_document, request, store, tenant))


def _config_document(request: Request, store: Store, tenant: str) -> dict[str, Any]:
    sections = store.all_sections(tenant)
    status = sections.get("status", {})
    return {
        "pim": public_connection(store, tenant, "pim", sections),
        "bigcommerce": public_connection(store, tenant, "bigcommerce", sections),
        "main": public_main(sections.get("main", {})),
        "events": public_events(request, store, tenant),
        "first_import_done": bool(status.get("first_import_done")),
        "next_import": status.get("next_import"),
        "changes": store.config_changes(tenant, 10),
    }


def _in_use(kind: str) -> ApiError:
    if kind == "pim":
        return ApiError(409, "pim_in_use", "Another connection of this connector already uses this PIM.",
                        fields={"url": "is used by another connection"})
    return ApiError(409, "store_in_use", "Another connection of this connector already uses this store.",
                    fields={"store_hash": "is used by another connection"})


def _save(store: Store, tenant: str, kind: str, credentials: dict, section: dict) -> None:
    try:
        holder = save_tested(store, tenant, kind, credentials, section)
    except TenantGone:  # deleted while we were testing (uninstalled, or it yielded to another tenant)
        raise ApiError(401, "unauthorized", "This connection no longer exists: open the connector again from "
                                            "your PIM or from the BigCommerce control panel.") from None
    if holder:
        raise _in_use(kind)  # another tenant connected this PIM or store while we were testing


def _check_owner(store: Store, tenant: str, kind: str, value: str) -> None:
    """409 before any test when another tenant's tested connection holds this PIM/store (the save checks
    again, atomically: this early answer only spares the merchant a test)."""
    if store.blocking_owner(tenant, kind, value):
        raise _in_use(kind)


def _kept(store: Store, tenant: str, kind: str, values: dict, errors: dict[str, str]) -> dict[str, str]:
    """The stored secrets the empty fields keep; the fields that must be typed again go into `errors`."""
    if any(name in errors for name in IDENTITY[kind]):  # no identity to compare: only say what is missing
        if not has_credentials(store, tenant, kind):
            errors.update({n: "is required" for n in SECRETS[kind] if not values.get(n) and n not in errors})
        return {}
    kept, changed = kept_secrets(store, tenant, kind, {n: values[n] for n in IDENTITY[kind]})
    errors.update({k: v for k, v in forms.retype_errors(values, SECRETS[kind], kept, changed, IDENTITY[kind]).items()
                   if k not in errors})
    return kept


async def put_pim(request: Request) -> JSONResponse:
    """
    summary: Test the PIM credentials; those that pass are saved and used, a failed test keeps the previous ones.
    description: "A stored secret or password is used again only while the URL, client ID and username are
      unchanged; otherwise both must be typed again (422, nothing is sent anywhere). A failed test leaves the
      credentials that last passed in force (`previous_in_use`) and is shown as `pim.last_attempt`."
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/PimForm'}}}}
    responses:
      200: {description: "{connected, message, hints, previous_in_use, pim}", content: {application/json: {schema: {$ref: '#/components/schemas/PimTest'}}}}
      409: {description: confirmation_required (PIM URL changed after the first import) or pim_in_use}
      413: {description: "body larger than 64 KB, nothing saved"}
      422: {description: "invalid fields, secrets to type again (or values the test could not use), nothing saved"}
    """
    store, tenant = _ctx(request)
    settings = request.app.state.settings
    body = await _json_object(request)
    values, errors, notes = forms.read_pim(body, have_secret=True, have_password=True)
    kept = await asyncio.to_thread(_kept, store, tenant, "pim", values, errors)
    if errors:
        raise _invalid(errors)
    try:
        await ensure_public_url(values["url"], allow_private=settings.allow_private_urls)
    except UnsafeUrl as exc:
        raise _invalid({"url": str(exc)}) from None
    except ValueError:  # a host name the resolver refuses to encode (forms should have caught it)
        raise _invalid({"url": "is not a valid URL (the host name is not valid)"}) from None
    section = await asyncio.to_thread(store.get_section, tenant, "pim")
    in_force = section if is_in_force(section) else {}
    old, new = {"pim_url": in_force.get("url")}, {"pim_url": values["url"]}
    changed = await asyncio.to_thread(_guard, store, tenant, old, new, ("pim_url",), values["confirm"])
    await asyncio.to_thread(_check_owner, store, tenant, "pim", values["url"])
    creds = {"url": values["url"], "client_id": values["client_id"], "username": values["username"],
             "secret": values["secret"] or kept.get("secret", ""),
             "password": values["password"] or kept.get("password", "")}
    # Test first, save after: a check that crashes leaves everything stored as it was.
    try:
        result = await check_pim(settings, **creds)
    except CheckCrashed as exc:
        raise _crashed(exc) from None
    hints = [*result["hints"], *notes]
    section = {"url": creds["url"], "client_id": creds["client_id"], "username": creds["username"],
               "connected": result["connected"], "message": result["message"], "hints": hints,
               "tested_at": time.time()}
    await asyncio.to_thread(_save, store, tenant, "pim", creds, section)
    if result["connected"]:
        await asyncio.to_thread(_record, store, tenant, request, changed, old, new)
    view = await asyncio.to_thread(public_connection, store, tenant, "pim")
    return JSONResponse({"connected": result["connected"], "message": result["message"], "hints": hints,
                         "previous_in_use": view["previous_in_use"], "pim": view})


async def put_bigcommerce(request: Request) -> JSONResponse:
    """
    summary: Test the BigCommerce credentials; those that pass are saved and used, a failed test keeps the previous ones.
    description: "A stored token is used again only while the store hash and client ID are unchanged; a failed
      test leaves the token that last passed in force (`previous_in_use`, `bigcommerce.last_attempt`)."
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/BigCommerceForm'}}}}
    responses:
      200: {description: "{connected, message, hints, previous_in_use, bigcommerce}", content: {application/json: {schema: {$ref: '#/components/schemas/BigCommerceTest'}}}}
      409: {description: confirmation_required (store hash changed after the first import) or store_in_use}
      413: {description: "body larger than 64 KB, nothing saved"}
      422: {description: "invalid fields, a token to type again (or values the test could not use), nothing saved"}
    """
    store, tenant = _ctx(request)
    settings = request.app.state.settings
    body = await _json_object(request)
    values, errors, notes = forms.read_bigcommerce(body, have_token=True)
    sections = await asyncio.to_thread(store.all_sections, tenant)
    section = sections.get("bigcommerce", {})
    in_force = section if is_in_force(section) else {}
    app = in_force if in_force.get("installed_as_app") else sections.get(attempt_name("bigcommerce"), {})
    if (not errors and app.get("installed_as_app") and app.get("store_hash")
            and values["store_hash"] != app["store_hash"]):
        errors["store_hash"] = (f"cannot change: the connector is installed as an app in the store "
                                f"{app['store_hash']}; install it from the other store's control panel instead")
    kept = await asyncio.to_thread(_kept, store, tenant, "bigcommerce", values, errors)
    if errors:
        raise _invalid(errors)
    old, new = {"store_hash": in_force.get("store_hash")}, {"store_hash": values["store_hash"]}
    changed = await asyncio.to_thread(_guard, store, tenant, old, new, ("store_hash",), values["confirm"])
    await asyncio.to_thread(_check_owner, store, tenant, "bigcommerce", values["store_hash"])
    token = values["access_token"] or kept.get("access_token", "")
    # Test first, save after: a check that crashes leaves everything stored as it was.
    try:
        result = await check_bigcommerce(settings, values["store_hash"], token, values["client_id"])
    except CheckCrashed as exc:
        raise _crashed(exc) from None
    hints = [*result["hints"], *notes]
    section = bigcommerce_section(result, store_hash=values["store_hash"], client_id=values["client_id"],
                                  hints=hints, kept={k: app[k] for k in ("installed_as_app", "scope") if k in app})
    await asyncio.to_thread(_save, store, tenant, "bigcommerce", {"access_token": token}, section)
    if result["connected"]:
        await asyncio.to_thread(_record, store, tenant, request, changed, old, new)
    view = await asyncio.to_thread(public_connection, store, tenant, "bigcommerce")
    return JSONResponse({"connected": result["connected"], "message": result["message"], "hints": hints,
                         "previous_in_use": view["previous_in_use"], "bigcommerce": view})


async def put_main(request: Request) -> JSONResponse:
    """
    summary: Save locale, channel and main category after checking them against the PIM.
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/MainForm'}}}}
    responses:
      200: {description: "{saved, main, changed}", content: {application/json: {schema: {$ref: '#/components/schemas/MainSaved'}}}}
      409: {description: "pim_not_connected, or confirmation_required after the first import"}
      413: {description: body larger than 64 KB}
      422: {description: invalid or inconsistent codes}
      502: {description: the PIM failed}
    """
    store, tenant = _ctx(request)
    body = await _json_object(request)
    values, errors = forms.read_main(body)
    if errors:
        raise _invalid(errors)
    client, creds = await pim_client(request, store, tenant)
    try:
        async with client as pim:
            main = await validate_main(pim, values["locale"], values["channel"], values["category"])
    except MainInvalid as exc:
        raise _invalid(exc.fields) from None
    except AkeneoError as exc:
        raise _pim_error(exc, creds) from None
    except UNUSABLE:  # credentials stored before they were checked this strictly
        log.exception("stored PIM credentials cannot be used")
        raise _unusable_pim_credentials() from None
    section, changed = await asyncio.to_thread(_save_main, store, tenant, request, main, values["confirm"])
    return JSONResponse({"saved": True, "main": public_main(section), "changed": changed})


def _save_main(store: Store, tenant: str, request: Request, main: dict, confirm: bool) -> tuple[dict, list[str]]:
    old = store.get_section(tenant, "main")
    changed = _guard(store, tenant, old, main, ("locale", "channel", "category"), confirm)
    section = {**main, "saved_at": time.time()}
    store.put_section(tenant, "main", section)
    _record(store, tenant, request, changed, old, main)
    return section, changed


async def put_events(request: Request) -> JSONResponse:
    """
    summary: Store the PIM event subscription's secret (encrypted).
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/ManualEventsForm'}}}}
    responses:
      200: {description: "{saved, events}", content: {application/json: {schema: {$ref: '#/components/schemas/ManualEventsSaved'}}}}
      413: {description: body larger than 64 KB}
      422: {description: invalid secret}
    """
    store, tenant = _ctx(request)
    values, errors = forms.read_events(await _json_object(request))
    if errors:
        raise _invalid(errors)
    await asyncio.to_thread(store.put_credentials, tenant, "events", {"secret": values["secret"]})
    return JSONResponse({"saved": True, "events": await asyncio.to_thread(public_events, request, store, tenant)})


# --- choices read from the PIM --------------------------------------------------------------------


def _query_text(request: Request, name: str, errors: dict[str, str], max_length: int = 255) -> str | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    value = value.strip()
    if len(value) > max_length:
        errors[name] = f"is too long (at most {max_length} characters)"
        return None
    if problem := forms.text_problem(value):
        errors[name] = problem
        return None
    return value or None


def _pim_refusal(exc: AkeneoError, creds: dict, field: str | None, value: str | None) -> ApiError:
    """A 404 or 400/422 of the PIM about a code the request named is the request's fault (422 on that
    field), not a PIM that may be down; anything else is a PIM error (502)."""
    if field and isinstance(exc, AkeneoNotFound | AkeneoValidationError):
        what = {"channel": "channel", "parent": "category"}.get(field, "value")
        return _invalid({field: f"\u201c{value}\u201d is not a {what} of this PIM"}
                        if field in ("channel", "parent") else {field: "was refused by the PIM"})
    return _pim_error(exc, creds)


async def pim_locales(request: Request) -> JSONResponse:
    """
    summary: The PIM's enabled locales (optionally only a channel's).
    parameters:
      - {name: channel, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "{items: [{code, label}], next: null}", content: {application/json: {schema: {$ref: '#/components/schemas/Choices'}}}}
      409: {description: pim_not_connected}
      422: {description: unusable or unknown channel}
      502: {description: the PIM failed}
    """
    store, tenant = _ctx(request)
    errors: dict[str, str] = {}
    channel = _query_text(request, "channel", errors)
    if channel and (problem := forms.code_problem(channel)):
        errors["channel"] = problem
    if errors:
        raise _invalid(errors)
    field = None
    client, creds = await pim_client(request, store, tenant)
    try:
        async with client as pim:
            locales = await pim.list_locales(enabled_only=True)
            wanted = None
            if channel:
                field = "channel"
                wanted = {str(c).lower() for c in (await pim.get_channel(channel)).get("locales") or []}
    except AkeneoError as exc:
        raise _pim_refusal(exc, creds, field, channel) from None
    except UNUSABLE:
        log.exception("stored PIM credentials cannot be used")
        raise _unusable_pim_credentials() from None
    items = [{"code": loc["code"], "label": LOCALE_NAMES.get(loc["code"], loc["code"])} for loc in locales
             if wanted is None or str(loc["code"]).lower() in wanted]
    return JSONResponse({"items": items, "next": None})


async def pim_channels(request: Request) -> JSONResponse:
    """
    summary: The PIM's channels with their locales and category tree.
    parameters:
      - {name: locale, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "{items: [{code, label, locales, category_tree, currencies}], next: null}", content: {application/json: {schema: {$ref: '#/components/schemas/Choices'}}}}
      409: {description: pim_not_connected}
      422: {description: unusable locale}
      502: {description: the PIM failed}
    """
    store, tenant = _ctx(request)
    errors: dict[str, str] = {}
    locale = _query_text(request, "locale", errors)
    if errors:
        raise _invalid(errors)
    client, creds = await pim_client(request, store, tenant)
    try:
        async with client as pim:
            channels = await pim.list_channels()
    except AkeneoError as exc:
        raise _pim_error(exc, creds) from None
    except UNUSABLE:
        log.exception("stored PIM credentials cannot be used")
        raise _unusable_pim_credentials() from None
    items = [{"code": c["code"], "label": label(c, locale), "locales": c.get("locales", []),
              "category_tree": c.get("category_tree"), "currencies": c.get("currencies", [])} for c in channels]
    return JSONResponse({"items": items, "next": None})


def _encode_cursor(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str | None:
    """The PIM page URL a cursor stands for; only the categories list may be paged this way."""
    try:
        url = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    path = urlsplit(url).path
    return url if path.endswith(f"{AKENEO_API}/categories") else None


async def pim_categories(request: Request) -> JSONResponse:
    """
    summary: One page of categories for the picker, never the whole tree.
    description: "`parent=` lists a category's children (roots without it); `search=` matches codes and
      labels (server-side, bounded scan per call); `limit` 1..100 (default 20); `next` is an opaque cursor to
      pass back as `cursor` with the same other parameters."
    parameters:
      - {name: search, in: query, required: false, schema: {type: string}}
      - {name: parent, in: query, required: false, schema: {type: string}}
      - {name: locale, in: query, required: false, schema: {type: string}}
      - {name: limit, in: query, required: false, schema: {type: integer}}
      - {name: cursor, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "{items: [{code, label, parent}], next: str|null}", content: {application/json: {schema: {$ref: '#/components/schemas/Choices'}}}}
      409: {description: pim_not_connected}
      422: {description: "bad limit, cursor or code (the PIM refused the parent, search or cursor)"}
      502: {description: the PIM failed}
    """
    store, tenant = _ctx(request)
    errors: dict[str, str] = {}
    search = _query_text(request, "search", errors, 200)
    parent = _query_text(request, "parent", errors)
    if parent and (problem := forms.code_problem(parent)):
        errors["parent"] = problem
    locale = _query_text(request, "locale", errors)
    raw_limit = request.query_params.get("limit", "20").strip()
    limit = int(raw_limit) if LIMIT.fullmatch(raw_limit) else 0
    if not 1 <= limit <= 100:
        errors["limit"] = "must be a whole number from 1 to 100"
    page_url = None
    if cursor := _query_text(request, "cursor", errors, 4000):
        page_url = _decode_cursor(cursor)
        if page_url is None:
            errors["cursor"] = "is not a cursor this API gave out"
    if errors:
        raise _invalid(errors)
    locale = locale or (await asyncio.to_thread(store.get_section, tenant, "main")).get("locale")
    client, creds = await pim_client(request, store, tenant)
    try:
        async with client as pim:
            found, next_url = await pim.list_categories(parent=parent, search=search, limit=limit,
                                                        page_url=page_url)
    except AkeneoError as exc:
        field, value = next(((f, v) for f, v in (("parent", parent), ("cursor", cursor), ("search", search)) if v),
                            (None, None))
        raise _pim_refusal(exc, creds, field, value) from None
    except UNUSABLE:
        log.exception("stored PIM credentials cannot be used")
        raise _unusable_pim_credentials() from None
    items = [{"code": c["code"], "label": label(c, locale), "parent": c.get("parent")} for c in found]
    return JSONResponse({"items": items, "next": _encode_cursor(next_url) if next_url else None})


routes: list[Route] = [
    Route("/api/config", get_config, methods=["GET"]),
    Route("/api/config/pim", put_pim, methods=["PUT"]),
    Route("/api/config/bigcommerce", put_bigcommerce, methods=["PUT"]),
    Route("/api/config/main", put_main, methods=["PUT"]),
    Route("/api/config/events", put_events, methods=["PUT"]),
    Route("/api/pim/locales", pim_locales, methods=["GET"]),
    Route("/api/pim/channels", pim_channels, methods=["GET"]),
    Route("/api/pim/categories", pim_categories, methods=["GET"]),
]
