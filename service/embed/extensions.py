"""Install and remove the connector's four UI extensions in the tenant's PIM ("Add the connector to the PIM").

With the merchant's PIM connection (its user needs "Extensions > Manage your extensions using the API"):
- `page`: iframe at `pim.activity.navigation.tab`, the connector's whole page;
- `product` / `model`: iframes at `pim.product.tab` / `pim.product-model.tab`, this item's store status;
- `action`: action at `pim.product-grid.action-bar`, "Send to BigCommerce".
Each has its own generated secret (credentials kind `embed`, encrypted). Installing is idempotent: an
extension we know (stored uuid) is PATCHed, one the PIM no longer has is created again, one a lost answer
left behind is found by its name. Removing deletes what the PIM still has and forgets the secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

from service.clients.akeneo_errors import (
    AkeneoAuthError,
    AkeneoError,
    AkeneoNotFound,
    AkeneoPermissionError,
    AkeneoValidationError,
)
from service.clients.akeneo_extensions import UiExtensions
from service.connections import credentials_in_force, is_in_force, standalone_pim_client
from service.refusal import Refusal
from service.settings import Settings
from service.store import Store
from service.store import embed as embed_store

log = logging.getLogger("connector.embed")

VERSION = "1"
# kind -> (type, position, label)
EXTENSIONS: dict[str, tuple[str, str, str]] = {
    "page": ("iframe", "pim.activity.navigation.tab", "BigCommerce"),
    "product": ("iframe", "pim.product.tab", "BigCommerce"),
    "model": ("iframe", "pim.product-model.tab", "BigCommerce"),
    "action": ("action", "pim.product-grid.action-bar", "Send to BigCommerce"),
}
IFRAMES = ("page", "product", "model")
PERMISSION_HINT = ("In the PIM, give the role of the connection's API user the permission “Extensions > "
                   "Manage your extensions using the API” (System > Roles > Permissions), then try again.")

URL_HINT = ("The PIM opens extensions at the connector's public address (APP_URL) and accepts only https "
            "addresses: the operator must set APP_URL to the connector's https URL.")

UNAVAILABLE_HINT = ("Without UI extensions, open the connector from the PIM through its address (GET /?pim=…, "
                    "self-hosted PIMs behind the same host) or from the BigCommerce control panel.")


class ExtensionError(Refusal):
    """Something the merchant can act on: `status` for the API, `error` code, `message`, `hints` (always in
    the answer, an empty list when there are none: the page shows them under the message)."""

    def __init__(self, status: int, error: str, message: str, hints: list[str] | None = None) -> None:
        super().__init__(status, error, message, hints=hints or [])
        self.hints: list[str] = self.extra["hints"]


def extension_url(settings: Settings, tenant: str, kind: str) -> str:
    return f"{settings.app_url}/embed/{tenant}/{kind}"


def extension_name(kind: str) -> str:
    return f"bigcommerce_connector_{kind}"


def body(settings: Settings, tenant: str, kind: str, secret: str) -> dict[str, Any]:
    kind_type, position, label = EXTENSIONS[kind]
    return {"name": extension_name(kind), "version": VERSION, "type": kind_type, "position": position,
            "configuration": {"url": extension_url(settings, tenant, kind), "default_label": label,
                              "labels": {"en_US": label}, "secret": secret}}


@contextlib.asynccontextmanager
async def _extensions(settings: Settings, pim: dict) -> AsyncIterator[UiExtensions]:
    try:
        async with standalone_pim_client(settings, pim, timeout=10.0, max_attempts=2) as client:
            yield UiExtensions(client)
    except AkeneoPermissionError as exc:
        raise ExtensionError(403, "permission_missing", "The PIM connection's user may not manage UI extensions "
                             f"(HTTP 403: {exc.message}).", [PERMISSION_HINT]) from None
    except AkeneoAuthError:
        raise ExtensionError(409, "pim_not_connected", "The PIM refused the saved connection: save the PIM form "
                                                       "again.") from None
    except AkeneoValidationError as exc:
        raise ExtensionError(502, "pim_refused_extension", f"The PIM refused the extension: {exc.message}",
                             [URL_HINT]) from None
    except AkeneoError as exc:
        raise ExtensionError(502, "pim_error", f"The PIM did not accept the extension: {exc}") from None


def _ensure_secrets(store: Store, tenant: str) -> dict[str, str]:
    current = embed_store.secrets_of(store, tenant)
    fresh = {k: current.get(k) or secrets.token_urlsafe(32) for k in EXTENSIONS}
    if fresh != current:
        embed_store.save_secrets(store, tenant, fresh)
    return fresh


async def install(settings: Settings, store: Store, tenant: str) -> dict[str, Any]:
    """Create or update the four extensions; answers the section (see `public`)."""
    pim = await asyncio.to_thread(credentials_in_force, store, tenant, "pim")
    if not pim:
        raise ExtensionError(409, "pim_not_connected", "Connect the PIM first (its connection test must pass).")
    section = await asyncio.to_thread(embed_store.section, store, tenant)
    known: dict[str, dict] = dict(section.get("extensions") or {})
    if section.get("pim_url") and section["pim_url"] != pim["url"]:
        # another PIM than the one they were made in: the old PIM keeps its copies of the secrets, so these
        # extensions get new ones (the old ones then open nothing anywhere) and new uuids
        known = {}
        await asyncio.to_thread(embed_store.forget, store, tenant)
    keys = await asyncio.to_thread(_ensure_secrets, store, tenant)
    try:
        async with _extensions(settings, pim) as api:
            listed: dict[str, dict] | None = None
            for kind in EXTENSIONS:
                doc = body(settings, tenant, kind, keys[kind])
                uuid = (known.get(kind) or {}).get("uuid")
                answer = None
                if uuid:
                    with contextlib.suppress(AkeneoNotFound):  # removed in the PIM meanwhile: created again
                        answer = await api.update(uuid, doc)
                if answer is None:
                    if listed is None:  # one a lost answer created: same name, adopted and updated
                        listed = {str(e.get("name")): e for e in await api.list()}
                    found = listed.get(doc["name"])
                    if found and found.get("uuid"):
                        answer = await api.update(str(found["uuid"]), doc)
                        answer = {"uuid": found["uuid"], **answer}
                    else:
                        try:
                            answer = await api.create(doc)
                        except AkeneoNotFound:  # the route itself is missing: no UI extensions in this PIM
                            raise ExtensionError(409, "extensions_unavailable", "This PIM has no UI extensions "
                                                 "API (it needs a SaaS or Enterprise Edition PIM that offers UI "
                                                 "extensions).", [UNAVAILABLE_HINT]) from None
                uuid = str(answer.get("uuid") or uuid or "")
                known[kind] = {"uuid": uuid, "type": doc["type"], "position": doc["position"],
                               "url": doc["configuration"]["url"]}
                # saved after each one: a failure half-way still knows what exists
                await asyncio.to_thread(embed_store.save_section, store, tenant,
                                        {"installed": False, "extensions": known, "pim_url": pim["url"],
                                         "message": "", "hints": []})
    except ExtensionError as exc:
        await asyncio.to_thread(embed_store.save_section, store, tenant, {
            "installed": False, "extensions": known, "pim_url": pim["url"], "message": exc.message,
            "hints": exc.hints})
        raise
    log.info("UI extensions installed", extra={"tenant": tenant, "extensions": len(known)})
    return await asyncio.to_thread(embed_store.save_section, store, tenant,
                                   {"installed": True, "extensions": known, "pim_url": pim["url"],
                                    "message": "", "hints": []})


async def remove(settings: Settings, store: Store, tenant: str) -> dict[str, Any]:
    """Delete the extensions the PIM still has (gone already is fine) and forget their secrets."""
    pim = await asyncio.to_thread(credentials_in_force, store, tenant, "pim")
    section = await asyncio.to_thread(embed_store.section, store, tenant)
    known = {k: v for k, v in (section.get("extensions") or {}).items() if v.get("uuid")}
    if known and pim:
        async with _extensions(settings, pim) as api:
            for kind, ext in list(known.items()):
                await api.delete(ext["uuid"])
                known.pop(kind)
                await asyncio.to_thread(embed_store.save_section, store, tenant,
                                        {**section, "installed": False, "extensions": known})
    await asyncio.to_thread(embed_store.forget, store, tenant)
    log.info("UI extensions removed", extra={"tenant": tenant})
    return await asyncio.to_thread(embed_store.section, store, tenant)



def public(section: dict[str, Any], pim: dict[str, Any]) -> dict[str, Any]:
    """GET /api/embed: what the configuration page shows (never a secret). `pim`: the PIM section."""
    extensions = section.get("extensions") or {}
    pim_connected = is_in_force(pim)
    elsewhere = bool(extensions) and bool(section.get("pim_url")) and section["pim_url"] != pim.get("url")
    if elsewhere:  # they stay in the PIM left behind (its credentials are gone) and open nothing here
        return {"installed": False, "pim_connected": pim_connected, "elsewhere": section["pim_url"],
                "extensions": [{"kind": k, "type": t, "position": p, "label": label, "installed": False,
                                "uuid": None} for k, (t, p, label) in EXTENSIONS.items()],
                "message": f"The connector was added to the PIM you were connected to before ({section['pim_url']}); "
                           "there it no longer opens anything. Add it to this PIM.",
                "hints": ["Remove the old extensions in that PIM under System > UI extensions if you still use it."],
                "changed_at": section.get("changed_at")}
    return {"installed": bool(section.get("installed")), "pim_connected": pim_connected,
            "extensions": [{"kind": k, "type": EXTENSIONS[k][0], "position": EXTENSIONS[k][1],
                            "label": EXTENSIONS[k][2], "installed": bool((extensions.get(k) or {}).get("uuid")),
                            "uuid": (extensions.get(k) or {}).get("uuid")} for k in EXTENSIONS],
            "message": section.get("message") or "", "hints": section.get("hints") or [],
            "changed_at": section.get("changed_at")}
