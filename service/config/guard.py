"""Changes that can wreck a store once products went over: which ones, what they would do, the
confirmation they need after the first import (409 `confirmation_required` otherwise), and their record
(who changed what, from what to what; the next import becomes a full one)."""

from __future__ import annotations

from typing import Any

from service.refusal import Refusal
from service.store import Store

GUARDED = ("pim_url", "store_hash", "locale", "channel", "category")

_CONSEQUENCES = {
    "locale": "the locale: every name, description and category label is sent again in the new language",
    "channel": "the channel: a different selection of products and values goes to BigCommerce; products "
               "outside it are hidden in the store",
    "category": "the main category: products and categories outside the new category tree are hidden in the "
                "store and the category tree is rebuilt",
    "pim_url": "the PIM URL: products of another PIM do not match the ones already in the store, so they may be "
               "created as duplicates and the old ones hidden",
    "store_hash": "the store hash: the connector starts over in another store; the store it filled until now is "
                  "no longer updated",
}


def changed_fields(old: dict[str, Any], new: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    """Guarded fields that already had a value and would get another one (codes compare case-insensitively)."""
    return [f for f in fields
            if old.get(f) and new.get(f) is not None and str(old[f]).lower() != str(new[f]).lower()]


def confirmation_message(changed: list[str]) -> str:
    parts = "; ".join(_CONSEQUENCES[f] for f in changed if f in _CONSEQUENCES)
    return ("The first import has already filled your BigCommerce store. You are changing " + parts + ". "
            "The next import will be a full one: it re-sends the whole catalog and can take a long time. "
            "Confirm only if this is what you want.")


def full_import_status(status: dict[str, Any]) -> dict[str, Any]:
    """The tenant's `status` section with the next import forced to a full one."""
    return {**status, "next_import": "full"}


def require_confirmation(store: Store, tenant: str, old: dict[str, Any], new: dict[str, Any],
                         fields: tuple[str, ...], confirm: bool) -> list[str]:
    """The guarded fields this save changes after the first import (none before it); unless `confirm`,
    a refusal (409 `confirmation_required`, `changed`) that says what the change would do."""
    if not store.get_section(tenant, "status").get("first_import_done"):
        return []
    changed = changed_fields(old, new, fields)
    if changed and not confirm:
        raise Refusal(409, "confirmation_required", confirmation_message(changed), changed=changed)
    return changed


def record_change(store: Store, tenant: str, changed: list[str], old: dict[str, Any], new: dict[str, Any],
                  by: dict[str, Any]) -> None:
    """Record a saved change of guarded fields (`by`: {user, via}) and make the next import a full one."""
    if not changed:
        return
    store.record_config_change(tenant, {"changed": changed, "from": {f: old.get(f) for f in changed},
                                        "to": {f: new.get(f) for f in changed}, **by})
    store.put_section(tenant, "status", full_import_status(store.get_section(tenant, "status")))
