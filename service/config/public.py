"""What the configuration page and `GET /api/config` show of a tenant's configuration.

Secrets never leave the server: a view says whether a secret is set, never what it is. A connection is
shown as the one in force (`connected`, its test passed), else as the latest attempt; `last_attempt` is
the latest failed test and `previous_in_use` says that a failed test left the previous connection in force.
Synchronous Redis reads: call them in a thread from async code."""

from __future__ import annotations

from typing import Any

from service.connections import is_in_force
from service.store import Store, attempt_name


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


def public_events(app_url: str, store: Store, tenant: str) -> dict[str, Any]:
    """The PIM events' webhook URL (on this connector's `app_url`) and whether its secret is set."""
    return {"webhook_url": f"{app_url}/webhooks/akeneo/{tenant}",
            "secret_set": bool((store.get_credentials(tenant, "events") or {}).get("secret"))}


def overview(store: Store, tenant: str, app_url: str, sections: dict[str, dict] | None = None) -> dict[str, Any]:
    """What the configuration page shows: `{pim, bigcommerce, main, events, first_import_done}`."""
    sections = store.all_sections(tenant) if sections is None else sections
    return {
        "pim": public_connection(store, tenant, "pim", sections),
        "bigcommerce": public_connection(store, tenant, "bigcommerce", sections),
        "main": public_main(sections.get("main", {})),
        "events": public_events(app_url, store, tenant),
        "first_import_done": bool(sections.get("status", {}).get("first_import_done")),
    }


def configuration(store: Store, tenant: str, app_url: str) -> dict[str, Any]:
    """`GET /api/config`: the `overview`, what the next import will be, the last ten recorded changes."""
    sections = store.all_sections(tenant)
    return {**overview(store, tenant, app_url, sections), "next_import": sections.get("status", {}).get("next_import"),
            "changes": store.config_changes(tenant, 10)}
