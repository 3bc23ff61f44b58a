"""Change events for webhook subscribers: Event Platform (CloudEvents) and the legacy Events API."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx

from .signing import sign_event_platform, sign_events_api
from .state import PimState, Webhook

# (kind, action) -> (CloudEvents type suffix, legacy Events API action)
NAMES = {
    ("product", "created"): ("product.created", "product.created"),
    ("product", "updated"): ("product.updated", "product.updated"),
    ("product", "deleted"): ("product.deleted", "product.removed"),
    ("product_model", "created"): ("product-model.created", "product_model.created"),
    ("product_model", "updated"): ("product-model.updated", "product_model.updated"),
    ("product_model", "deleted"): ("product-model.deleted", "product_model.removed"),
}


def event_platform_body(state: PimState, source: str, change: dict) -> dict:
    kind, action = change["kind"], change["action"]
    if kind == "product":
        data, subject = {"product": {"uuid": change["uuid"]}}, change["uuid"]
    else:
        data, subject = {"product_model": {"code": change["code"]}}, change["code"]
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": f"com.akeneo.pim.v1.{NAMES[(kind, action)][0]}",
        "subject": subject,
        "time": state.now_dt().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }


def _events_api_event(state: PimState, source: str, change: dict) -> dict:
    kind, action = change["kind"], change["action"]
    if action == "deleted":
        resource = ({"identifier": change["identifier"], "uuid": change["uuid"]} if kind == "product"
                    else {"code": change["code"]})
    else:
        resource = change["resource"]
    return {
        "action": NAMES[(kind, action)][1],
        "event_id": str(uuid.uuid4()),
        "event_datetime": state.now_dt().isoformat(timespec="seconds"),
        "author": change.get("author", "admin"),
        "author_type": "ui",
        "pim_source": source,
        "data": {"resource": resource},
    }


def events_api_body(state: PimState, source: str, change: dict | list[dict]) -> dict:
    """One Events API message: up to LEGACY_BATCH events."""
    changes = change if isinstance(change, list) else [change]
    return {"events": [_events_api_event(state, source, c) for c in changes]}


def signed_request(state: PimState, hook: Webhook, source: str,
                   change: dict | list[dict]) -> tuple[bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json", "User-Agent": "AkeneoSandbox/1.0"}
    if hook.format == "events_api":
        body = json.dumps(events_api_body(state, source, change), separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers["X-Akeneo-Request-Timestamp"] = str(timestamp)
        headers["X-Akeneo-Request-Signature"] = sign_events_api(hook.secret, timestamp, body)
    else:
        body = json.dumps(event_platform_body(state, source, change), separators=(",", ":")).encode()
        headers["X-AKENEO-SIGNATURE-PRIMARY"] = sign_event_platform(hook.secret, body)
        if hook.secondary_secret:
            headers["X-AKENEO-SIGNATURE-SECONDARY"] = sign_event_platform(hook.secondary_secret, body)
    return body, headers


LEGACY_BATCH = 10  # the Events API sends at most 10 events a request
_clients: dict[tuple[int, int], httpx.AsyncClient] = {}


def _client(state: PimState) -> httpx.AsyncClient:
    """One pool per PIM and event loop: building a client per change costs more than the POST."""
    key = (id(state), id(asyncio.get_running_loop()))
    if key not in _clients:
        _clients[key] = httpx.AsyncClient(timeout=5.0)
    return _clients[key]


async def deliver(state: PimState, source: str, changes: list[dict]) -> None:
    """Hand the changes to the listeners (the Event Platform sandbox), then best effort to the configured
    webhooks: one POST per change (Event Platform format) or per batch of 10 (Events API); results land
    in `state.deliveries`. Category changes exist only in the Event Platform."""
    for listener in list(state.listeners):
        listener(source, changes)
    hooks = list(state.webhooks)
    if not hooks:
        return
    client = _client(state)
    for hook in hooks:
        known = [c for c in changes if (c["kind"], c["action"]) in NAMES]
        groups: list = ([known[i:i + LEGACY_BATCH] for i in range(0, len(known), LEGACY_BATCH)]
                        if hook.format == "events_api" else known)
        for group in groups:
            body, headers = signed_request(state, hook, source, group)
            first = group[0] if isinstance(group, list) else group
            record = {"url": hook.url, "format": hook.format, "kind": first["kind"],
                      "action": first["action"], "events": len(group) if isinstance(group, list) else 1,
                      "status": None, "error": None}
            try:
                response = await client.post(hook.url, content=body, headers=headers)
                record["status"] = response.status_code
            except httpx.HTTPError as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
            state.deliveries.append(record)
