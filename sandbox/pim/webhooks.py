"""Change events for webhook subscribers: Event Platform (CloudEvents) and the legacy Events API."""

from __future__ import annotations

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


def events_api_body(state: PimState, source: str, change: dict) -> dict:
    kind, action = change["kind"], change["action"]
    if action == "deleted":
        resource = ({"identifier": change["identifier"], "uuid": change["uuid"]} if kind == "product"
                    else {"code": change["code"]})
    else:
        resource = change["resource"]
    return {"events": [{
        "action": NAMES[(kind, action)][1],
        "event_id": str(uuid.uuid4()),
        "event_datetime": state.now_dt().isoformat(timespec="seconds"),
        "author": change.get("author", "admin"),
        "author_type": "ui",
        "pim_source": source,
        "data": {"resource": resource},
    }]}


def signed_request(state: PimState, hook: Webhook, source: str, change: dict) -> tuple[bytes, dict[str, str]]:
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


async def deliver(state: PimState, source: str, changes: list[dict]) -> None:
    """Best effort, one POST per change and subscriber; results land in `state.deliveries`."""
    hooks = list(state.webhooks)
    if not hooks:
        return
    async with httpx.AsyncClient(timeout=5.0) as client:
        for change in changes:
            for hook in hooks:
                body, headers = signed_request(state, hook, source, change)
                record = {"url": hook.url, "format": hook.format, "kind": change["kind"],
                          "action": change["action"], "status": None, "error": None}
                try:
                    response = await client.post(hook.url, content=body, headers=headers)
                    record["status"] = response.status_code
                except httpx.HTTPError as exc:
                    record["error"] = f"{type(exc).__name__}: {exc}"
                state.deliveries.append(record)
