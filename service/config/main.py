"""The main configuration (locale, channel, main category), checked against the PIM itself, then saved
(after the first import, a change needs the form's confirmation and makes the next import a full one)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from service.clients.akeneo import AkeneoClient
from service.clients.akeneo_errors import AkeneoNotFound
from service.config.forms import FieldsInvalid
from service.config.guard import record_change, require_confirmation
from service.connections import open_config_pim
from service.settings import Settings
from service.store import Store

MAX_DEPTH = 64  # a category chain longer than this is a loop in the data, not a tree
GUARDED = ("locale", "channel", "category")


class MainInvalid(FieldsInvalid):
    """The codes do not fit together in this PIM (422): `fields` maps each bad field to why."""


def label(item: dict[str, Any], locale: str | None) -> str:
    labels = item.get("labels") or {}
    for key in (locale, "en_US", *labels):
        if key and labels.get(key):
            return str(labels[key])
    return str(item.get("code", ""))


async def validate_main(pim: AkeneoClient, locale: str, channel: str, category: str) -> dict[str, Any]:
    """The main configuration as the PIM spells its codes, or MainInvalid: the locale must be enabled and
    belong to the channel, the category must lie in the channel's category tree."""
    errors: dict[str, str] = {}
    try:
        found_channel = await pim.get_channel(channel)
    except AkeneoNotFound:
        raise MainInvalid({"channel": f"\u201c{channel}\u201d is not a channel of this PIM"}) from None
    tree = str(found_channel.get("category_tree") or "")
    channel_code = str(found_channel.get("code") or channel)

    enabled = {str(loc["code"]).lower(): str(loc["code"]) for loc in await pim.list_locales(enabled_only=True)}
    channel_locales = {str(c).lower(): str(c) for c in found_channel.get("locales") or []}
    locale_code = enabled.get(locale.lower())
    if locale_code is None:
        errors["locale"] = f"\u201c{locale}\u201d is not an enabled locale of this PIM"
    elif locale.lower() not in channel_locales:
        errors["locale"] = (f"\u201c{locale_code}\u201d is not a locale of the channel \u201c{channel_code}\u201d "
                            f"(its locales: {', '.join(sorted(channel_locales.values())) or 'none'})")

    category_code, root = category, None
    try:
        node = await pim.get_category(category)
        category_code = str(node.get("code") or category)
        seen = {category_code.lower()}
        for _ in range(MAX_DEPTH):
            parent = node.get("parent")
            if not parent:
                root = str(node.get("code"))
                break
            if str(parent).lower() in seen:
                break
            seen.add(str(parent).lower())
            node = await pim.get_category(str(parent))
    except AkeneoNotFound:
        errors["category"] = f"\u201c{category}\u201d is not a category of this PIM"
    if "category" not in errors and (root is None or root.lower() != tree.lower()):
        errors["category"] = (f"\u201c{category_code}\u201d lies in the category tree \u201c{root}\u201d, but the "
                              f"channel \u201c{channel_code}\u201d uses the tree \u201c{tree}\u201d: only that "
                              "tree's products reach the channel")
    if errors:
        raise MainInvalid(errors)
    return {"locale": locale_code, "channel": channel_code, "category": category_code, "category_tree": tree}


def save_main(store: Store, tenant: str, main: dict[str, Any], confirm: bool,
              by: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Save a checked main configuration: `(section saved, guarded fields changed)`; `by`: who saves
    ({user, via}). Synchronous Redis calls: run it in a thread from async code."""
    old = store.get_section(tenant, "main")
    changed = require_confirmation(store, tenant, old, main, GUARDED, confirm)
    section = {**main, "saved_at": time.time()}
    store.put_section(tenant, "main", section)
    record_change(store, tenant, changed, old, main, by)
    return section, changed


async def check_and_save(settings: Settings, store: Store, tenant: str, values: dict[str, Any],
                         by: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The main form (`forms.read_main`'s values) checked against the tenant's PIM (`validate_main`), then
    saved (`save_main`). Refused as the PIM reads are (service.connections.open_config_pim)."""
    async with open_config_pim(settings, store, tenant) as pim:
        main = await validate_main(pim, values["locale"], values["channel"], values["category"])
    return await asyncio.to_thread(save_main, store, tenant, main, values["confirm"], by)
