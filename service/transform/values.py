"""Reading one attribute's value out of Akeneo's `values` for a locale and a channel.

Akeneo stores `values.{attr}: [{locale, scope, data}]`: a localizable attribute has one entry per
locale, a scopable one per channel, and the others carry `locale: null` / `scope: null`. A value
only exists in other locales or channels is, for this locale and channel, no value at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_empty(data: Any) -> bool:
    """Akeneo's notion of "no value": null, "", [] (an empty price collection or multiselect)."""
    return data is None or (isinstance(data, str) and data.strip() == "") or (isinstance(data, list | dict) and not data)


def read_value(
    values: Mapping[str, Any] | None,
    code: str,
    locale: str,
    channel: str,
    attribute: Mapping[str, Any] | None = None,
) -> Any:
    """The data of `code` for `locale` and `channel`, or None.

    With the attribute's JSON, its `localizable`/`scopable` flags decide which entries qualify (a
    localizable attribute is read in `locale` only, a non-localizable one from `locale: null`; the same
    for scope). Without it, or when an entry does not follow the flags (data written before the
    attribute's flags changed), the most specific entry wins: exact locale and scope, then a null
    locale, then a null scope, then both null.
    """
    entries = values.get(code) if isinstance(values, Mapping) else None
    if not entries or not isinstance(entries, list):
        return None
    # Entries that are not {locale, scope, data} objects are no value (a PIM never sends them; JSON can).
    entries = [e for e in entries if isinstance(e, Mapping)]
    if attribute is not None:
        want_locale = locale if attribute.get("localizable") else None
        want_scope = channel if attribute.get("scopable") else None
        for entry in entries:
            if _eq(entry.get("locale"), want_locale) and _eq(entry.get("scope"), want_scope):
                data = entry.get("data")
                if not is_empty(data):
                    return data
    best: tuple[int, Any] | None = None
    for entry in entries:
        entry_locale, entry_scope = entry.get("locale"), entry.get("scope")
        if entry_locale is not None and not _eq(entry_locale, locale):
            continue  # another locale's text is not this locale's
        if entry_scope is not None and not _eq(entry_scope, channel):
            continue  # nor another channel's
        data = entry.get("data")
        if is_empty(data):
            continue
        rank = (2 if entry_locale is not None else 0) + (1 if entry_scope is not None else 0)
        if best is None or rank > best[0]:
            best = (rank, data)
    return None if best is None else best[1]


def _eq(a: Any, b: Any) -> bool:
    # Locale and channel codes compare case-insensitively in Akeneo, like every other code; anything but
    # text or null is no code at all.
    if a is None or b is None:
        return a is b
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def merge_values(*layers: Mapping[str, Any] | None) -> dict[str, list]:
    """Values of a variant over its sub-model over its root model: the nearest level wins per attribute
    (what the Akeneo API answers for a variant; here so a build never depends on the caller having
    fetched merged values)."""
    merged: dict[str, list] = {}
    for layer in reversed(layers):  # farthest first, nearest last
        for code, entries in (layer if isinstance(layer, Mapping) else {}).items():
            merged[code] = entries
    return merged
