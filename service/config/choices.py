"""What the main configuration's pickers offer, read from the PIM on the credentials in force: its enabled
locales (named), its channels, one page of categories (never the whole tree).

Refusals: a 404 or 400/422 of the PIM about a code the request named is the request's fault (422 on that
field), not a PIM that may be down; any other failure is refused as the configuration's PIM reads are
(service.connections.open_config_pim: 409 until the PIM is connected, 502 when it fails). A categories
cursor is opaque and only ever stands for a page of the PIM's categories list."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from service.clients.akeneo import API as AKENEO_API
from service.clients.akeneo_errors import AkeneoNotFound, AkeneoValidationError
from service.config.forms import FieldsInvalid
from service.config.main import label
from service.connections import open_config_pim
from service.settings import Settings
from service.store import Store

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
_NAMED = {"channel": "channel", "parent": "category"}  # the request's codes the PIM can say it does not know


@contextlib.contextmanager
def refused_as_invalid(field: str | None, value: str | None) -> Iterator[None]:
    """The PIM refusing (404, 400/422) what the request named in `field` is a 422 on that field; without a
    field, or for any other failure, the PIM's error goes on."""
    try:
        yield
    except (AkeneoNotFound, AkeneoValidationError):
        if not field:
            raise
        raise FieldsInvalid({field: f"\u201c{value}\u201d is not a {_NAMED[field]} of this PIM"}
                            if field in _NAMED else {field: "was refused by the PIM"}) from None


async def locales(settings: Settings, store: Store, tenant: str, channel: str | None) -> list[dict[str, Any]]:
    """The PIM's enabled locales `[{code, label}]`, only the channel's when one is named."""
    async with open_config_pim(settings, store, tenant) as pim:
        found = await pim.list_locales(enabled_only=True)
        wanted = None
        if channel:
            with refused_as_invalid("channel", channel):
                wanted = {str(c).lower() for c in (await pim.get_channel(channel)).get("locales") or []}
    return [{"code": loc["code"], "label": LOCALE_NAMES.get(loc["code"], loc["code"])} for loc in found
            if wanted is None or str(loc["code"]).lower() in wanted]


async def channels(settings: Settings, store: Store, tenant: str, locale: str | None) -> list[dict[str, Any]]:
    """The PIM's channels `[{code, label, locales, category_tree, currencies}]`, labelled in `locale`."""
    async with open_config_pim(settings, store, tenant) as pim:
        found = await pim.list_channels()
    return [{"code": c["code"], "label": label(c, locale), "locales": c.get("locales", []),
             "category_tree": c.get("category_tree"), "currencies": c.get("currencies", [])} for c in found]


def encode_cursor(url: str) -> str:
    """The opaque cursor for a PIM page URL."""
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | None:
    """The PIM page URL a cursor stands for; only the categories list may be paged this way."""
    try:
        url = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    path = urlsplit(url).path
    return url if path.endswith(f"{AKENEO_API}/categories") else None


async def categories(settings: Settings, store: Store, tenant: str, *, search: str | None, parent: str | None,
                     locale: str | None, limit: int, cursor: str | None,
                     page: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of categories `[{code, label, parent}]` (a parent's children, else the roots; `search`
    matches codes and labels) and the cursor of the next page, if any; `page` is the PIM page URL `cursor`
    stands for (`decode_cursor`). Labels are in `locale`, else in the saved main configuration's."""
    locale = locale or (await asyncio.to_thread(store.get_section, tenant, "main")).get("locale")
    # what the PIM would be refusing: the parent, else the cursor, else the search
    field, value = next(((f, v) for f, v in (("parent", parent), ("cursor", cursor), ("search", search)) if v),
                        (None, None))
    async with open_config_pim(settings, store, tenant) as pim:
        with refused_as_invalid(field, value):
            found, next_url = await pim.list_categories(parent=parent, search=search, limit=limit, page_url=page)
    items = [{"code": c["code"], "label": label(c, locale), "parent": c.get("parent")} for c in found]
    return items, encode_cursor(next_url) if next_url else None
