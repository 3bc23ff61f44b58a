"""Both payload formats reduced to what the sync needs: (event id, dirty item) pairs.

An item is "product:<uuid>", "model:<code>" or "categories"; "" for an event we do not act on (still
de-duplicated and counted). Payload data is never trusted beyond these identifiers: the job reads the
current state from the PIM.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_EVENTS = 100  # per request; the legacy API sends at most 10, the Event Platform one
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadPayload(ValueError):
    pass


def _text(value: str, what: str) -> str:
    """`value` when Redis and the PIM can take it back: UTF-8 (no lone surrogates) without control characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadPayload(f"{what} is not valid text") from None
    if _CONTROL.search(value) or len(value) > 255:
        raise BadPayload(f"{what} is not a PIM code")
    return value


def _item_for(kind: str, data: dict) -> str:
    if kind == "product":
        product = data.get("product") if isinstance(data.get("product"), dict) else data.get("resource") or {}
        uuid = product.get("uuid") if isinstance(product, dict) else None
        if isinstance(uuid, str) and uuid:
            if not _UUID.match(uuid):
                raise BadPayload("a product uuid is not a UUID")
            return f"product:{uuid.lower()}"
        identifier = product.get("identifier") if isinstance(product, dict) else None
        if isinstance(identifier, str) and identifier:
            return f"identifier:{_text(identifier, 'a product identifier')}"
        return ""
    if kind == "model":
        model = data.get("product_model") if isinstance(data.get("product_model"), dict) else data.get("resource") or {}
        code = model.get("code") if isinstance(model, dict) else None
        return f"model:{_text(code, 'a product model code')}" if isinstance(code, str) and code else ""
    if kind == "category":
        return "categories"
    return ""


def _kind(name: str) -> str:
    """'product' | 'model' | 'category' | '' from a CloudEvents type or a legacy action."""
    name = name.lower()
    for prefix, kind in (("com.akeneo.pim.v1.product-model.", "model"), ("com.akeneo.pim.v1.product.", "product"),
                         ("com.akeneo.pim.v1.category.", "category"), ("product_model.", "model"),
                         ("product.", "product"), ("category.", "category")):
        if name.startswith(prefix):
            return kind
    return ""


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadPayload("the body is not JSON") from None
    except RecursionError:  # "[[[[…": the decoder gives up before we would
        raise BadPayload("the body is nested too deeply") from None


def _event_id(event_id: str) -> str:
    event_id = event_id[:200]
    try:
        event_id.encode("utf-8")
    except UnicodeEncodeError:
        raise BadPayload("an event id is not valid text") from None
    return event_id


def event_platform_items(body: bytes) -> list[tuple[str, str]]:
    """A CloudEvent (structured mode), or a JSON array of them (batched mode)."""
    doc = _load(body)
    events = doc if isinstance(doc, list) else [doc]
    if not events or len(events) > MAX_EVENTS or not all(isinstance(e, dict) for e in events):
        raise BadPayload("expected a CloudEvent object")
    out = []
    for event in events:
        event_id, kind_name = event.get("id"), event.get("type")
        if not isinstance(event_id, str) or not event_id or not isinstance(kind_name, str):
            raise BadPayload("a CloudEvent needs an id and a type")
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        out.append((f"ep:{_event_id(event_id)}", _item_for(_kind(kind_name), data)))
    return out


def legacy_items(body: bytes) -> list[tuple[str, str]]:
    doc = _load(body)
    events = doc.get("events") if isinstance(doc, dict) else None
    if not isinstance(events, list) or len(events) > MAX_EVENTS or not all(isinstance(e, dict) for e in events):
        raise BadPayload('expected {"events": [...]}')
    out = []
    for event in events:
        event_id, action = event.get("event_id"), event.get("action")
        if not isinstance(event_id, str) or not event_id or not isinstance(action, str):
            raise BadPayload("an event needs an event_id and an action")
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        out.append((f"legacy:{_event_id(event_id)}", _item_for(_kind(action), data)))
    return out
