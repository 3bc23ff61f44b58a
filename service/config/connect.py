"""Saving a connection form (the PIM's, the store's): test first, save after.

Guarantees (each refusal is a `Refusal`, nothing stored unless said otherwise):
- A stored secret is used again for an empty field only while the identity it was saved with (PIM URL,
  client ID and username; store hash and client ID) is unchanged; otherwise it must be typed again (422).
- After the first import, a changed PIM URL or store hash needs the form's confirmation (409
  `confirmation_required`); once its test passes, the change is recorded and the next import is a full one.
- A PIM or store that another tenant's connection in force holds is refused before any test (409
  `pim_in_use` / `store_in_use`), and again, atomically, when the passed test is saved.
- A test that crashes saves nothing (422 on the values it could not use). A passed test puts the
  connection in force; a failed one is kept as the latest attempt and the connection in force stays.
- A connector installed as an app in a store keeps that store: its hash cannot be changed from the form.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from service.config import forms
from service.config.checks import CheckCrashed, check_bigcommerce, check_pim
from service.config.forms import FieldsInvalid
from service.config.guard import record_change, require_confirmation
from service.config.public import public_connection
from service.config.records import (
    IDENTITY,
    SECRETS,
    bigcommerce_section,
    has_credentials,
    kept_secrets,
    pim_section,
    save_tested,
)
from service.connections import is_in_force
from service.net import UnsafeUrl, ensure_public_url
from service.refusal import Refusal
from service.settings import Settings
from service.store import Store, TenantGone, attempt_name

# The guarded field (service.config.guard) each connection form changes, and which of its values names it.
GUARDED = {"pim": ("pim_url", "url"), "bigcommerce": ("store_hash", "store_hash")}


def kept(store: Store, tenant: str, kind: str, values: dict, errors: dict[str, str]) -> dict[str, str]:
    """The stored secrets the empty fields keep; the fields that must be typed again go into `errors`."""
    if any(name in errors for name in IDENTITY[kind]):  # no identity to compare: only say what is missing
        if not has_credentials(store, tenant, kind):
            errors.update({n: "is required" for n in SECRETS[kind] if not values.get(n) and n not in errors})
        return {}
    secrets, changed = kept_secrets(store, tenant, kind, {n: values[n] for n in IDENTITY[kind]})
    errors.update({k: v for k, v in forms.retype_errors(values, SECRETS[kind], secrets, changed, IDENTITY[kind]).items()
                   if k not in errors})
    return secrets


def _in_use(kind: str) -> Refusal:
    if kind == "pim":
        return Refusal(409, "pim_in_use", "Another connection of this connector already uses this PIM.",
                       fields={"url": "is used by another connection"})
    return Refusal(409, "store_in_use", "Another connection of this connector already uses this store.",
                   fields={"store_hash": "is used by another connection"})


def check_owner(store: Store, tenant: str, kind: str, value: str) -> None:
    """409 before any test when another tenant's tested connection holds this PIM/store (the save checks
    again, atomically: this early answer only spares the merchant a test)."""
    if store.blocking_owner(tenant, kind, value):
        raise _in_use(kind)


def _save(store: Store, tenant: str, kind: str, credentials: dict, section: dict) -> None:
    try:
        holder = save_tested(store, tenant, kind, credentials, section)
    except TenantGone:  # deleted while we were testing (uninstalled, or it yielded to another tenant)
        raise Refusal(401, "unauthorized", "This connection no longer exists: open the connector again from "
                                           "your PIM or from the BigCommerce control panel.") from None
    if holder:
        raise _in_use(kind)  # another tenant connected this PIM or store while we were testing


def _crashed(exc: CheckCrashed) -> FieldsInvalid:
    """Nothing was saved: the values could not even be sent (the form's checks should have caught it)."""
    return FieldsInvalid({f: "could not be used for the connection test: check it for unusual characters"
                          for f in exc.fields},
                         "These values could not be used for the connection test; nothing was saved. Check them "
                         "for unusual characters.")


async def _test_then_save(store: Store, tenant: str, kind: str, values: dict, notes: list[str], by: dict[str, Any], *,
                          in_force: dict, credentials: dict, test: Callable[[], Awaitable[dict[str, Any]]],
                          section: Callable[[dict[str, Any], list[str]], dict[str, Any]]) -> dict[str, Any]:
    """The confirmation, the owner check, the test, the save and the record of a connection form whose
    fields passed; the answer `{connected, message, hints, previous_in_use, <kind>: the connection's view}`."""
    field, name = GUARDED[kind]
    old, new = {field: in_force.get(name)}, {field: values[name]}
    changed = await asyncio.to_thread(require_confirmation, store, tenant, old, new, (field,), values["confirm"])
    await asyncio.to_thread(check_owner, store, tenant, kind, values[name])
    # Test first, save after: a check that crashes leaves everything stored as it was.
    try:
        result = await test()
    except CheckCrashed as exc:
        raise _crashed(exc) from None
    hints = [*result["hints"], *notes]
    await asyncio.to_thread(_save, store, tenant, kind, credentials, section(result, hints))
    if result["connected"]:
        await asyncio.to_thread(record_change, store, tenant, changed, old, new, by)
    view = await asyncio.to_thread(public_connection, store, tenant, kind)
    return {"connected": result["connected"], "message": result["message"], "hints": hints,
            "previous_in_use": view["previous_in_use"], kind: view}


async def save_pim(settings: Settings, store: Store, tenant: str, values: dict, errors: dict[str, str],
                   notes: list[str], by: dict[str, Any]) -> dict[str, Any]:
    """The PIM form (`forms.read_pim`'s values, errors and notes) tested, and saved as its test says;
    `by`: who saves ({user, via}), for the record of a guarded change."""
    secrets = await asyncio.to_thread(kept, store, tenant, "pim", values, errors)
    if errors:
        raise FieldsInvalid(errors)
    try:
        await ensure_public_url(values["url"], allow_private=settings.allow_private_urls)
    except UnsafeUrl as exc:
        raise FieldsInvalid({"url": str(exc)}) from None
    except ValueError:  # a host name the resolver refuses to encode (forms should have caught it)
        raise FieldsInvalid({"url": "is not a valid URL (the host name is not valid)"}) from None
    section = await asyncio.to_thread(store.get_section, tenant, "pim")
    creds = {"url": values["url"], "client_id": values["client_id"], "username": values["username"],
             "secret": values["secret"] or secrets.get("secret", ""),
             "password": values["password"] or secrets.get("password", "")}
    return await _test_then_save(
        store, tenant, "pim", values, notes, by, in_force=section if is_in_force(section) else {},
        credentials=creds, test=lambda: check_pim(settings, **creds),
        section=lambda result, hints: pim_section(result, creds, hints))


async def save_bigcommerce(settings: Settings, store: Store, tenant: str, values: dict, errors: dict[str, str],
                           notes: list[str], by: dict[str, Any]) -> dict[str, Any]:
    """The store form (`forms.read_bigcommerce`'s values, errors and notes) tested, and saved as its test
    says; `by`: who saves ({user, via}), for the record of a guarded change."""
    sections = await asyncio.to_thread(store.all_sections, tenant)
    section = sections.get("bigcommerce", {})
    in_force = section if is_in_force(section) else {}
    app = in_force if in_force.get("installed_as_app") else sections.get(attempt_name("bigcommerce"), {})
    if (not errors and app.get("installed_as_app") and app.get("store_hash")
            and values["store_hash"] != app["store_hash"]):
        errors["store_hash"] = (f"cannot change: the connector is installed as an app in the store "
                                f"{app['store_hash']}; install it from the other store's control panel instead")
    secrets = await asyncio.to_thread(kept, store, tenant, "bigcommerce", values, errors)
    if errors:
        raise FieldsInvalid(errors)
    token = values["access_token"] or secrets.get("access_token", "")
    return await _test_then_save(
        store, tenant, "bigcommerce", values, notes, by, in_force=in_force, credentials={"access_token": token},
        test=lambda: check_bigcommerce(settings, values["store_hash"], token, values["client_id"]),
        section=lambda result, hints: bigcommerce_section(
            result, store_hash=values["store_hash"], client_id=values["client_id"], hints=hints,
            kept={k: app[k] for k in ("installed_as_app", "scope") if k in app}))
