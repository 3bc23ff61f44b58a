"""The sandbox Event Platform's state and delivery, modelled on Akeneo's (platform-facts.md):

- subscribers (one per PIM connection, at most 20 per PIM) and their subscriptions (at most 20 each),
  statuses active / suspended / revoked / deleted;
- every PIM change (the sandbox PIM's admin routes) becomes a CloudEvent for each ACTIVE subscription
  that lists its type; suspended, revoked and deleted subscriptions drop it;
- delivery per subscription, signed with the subscription's primary and secondary secrets (hex
  HMAC-SHA256 of the raw body), at least once: a failure is retried after `retry_delays` (Akeneo: 5,
  10, 20 minutes; seconds here), then dropped; the rate adapts between 1 and 100 events/s (a 200 speeds
  it up, a 429 halves it and the event is sent again);
- seedable knobs: `duplicate_rate` (an event delivered twice), `reorder_rate` (queued events shuffled);
- suspension by the platform when fewer than 90 % of the last deliveries (at least 20) succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from sandbox.pim.signing import sign_event_platform

MAX_SUBSCRIBERS = 20
MAX_SUBSCRIPTIONS = 20
MIN_INTERVAL, MAX_INTERVAL = 0.01, 1.0  # 100 events/s .. 1 event/s
SUSPEND_WINDOW, SUSPEND_MIN, SUSPEND_RATIO = 50, 20, 0.9

# (kind, action) of a sandbox PIM change -> CloudEvents type
TYPES = {
    ("product", "created"): "com.akeneo.pim.v1.product.created",
    ("product", "updated"): "com.akeneo.pim.v1.product.updated",
    ("product", "deleted"): "com.akeneo.pim.v1.product.deleted",
    ("product_model", "created"): "com.akeneo.pim.v1.product-model.created",
    ("product_model", "updated"): "com.akeneo.pim.v1.product-model.updated",
    ("product_model", "deleted"): "com.akeneo.pim.v1.product-model.deleted",
    ("category", "created"): "com.akeneo.pim.v1.category.created",
    ("category", "updated"): "com.akeneo.pim.v1.category.updated",
    ("category", "deleted"): "com.akeneo.pim.v1.category.deleted",
}
KNOWN_TYPES = set(TYPES.values()) | {"com.akeneo.pim.v1.product.updated.delta"}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Knobs:
    seed: int | None = None
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0)
    require_https: bool = False  # Akeneo requires https; loopback tests use http
    check_head: bool = True


@dataclass
class Subscription:
    id: str
    subscriber_id: str
    subject: str
    events: list[str]
    url: str
    primary: str
    secondary: str | None
    status: str = "active"
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    outcomes: deque = field(default_factory=lambda: deque(maxlen=SUSPEND_WINDOW))
    interval: float = MIN_INTERVAL
    queue: asyncio.Queue | None = None
    task: asyncio.Task | None = None

    def public(self) -> dict:
        return {"id": self.id, "subscriber_id": self.subscriber_id, "source": "pim", "subject": self.subject,
                "events": list(self.events), "type": "https", "config": {"url": self.url},
                "status": self.status, "created_at": self.created_at, "updated_at": self.updated_at}


class EventPlatform:
    def __init__(self, knobs: Knobs | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.rng = random.Random(self.knobs.seed)
        self.subscribers: dict[str, dict] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.deliveries: list[dict] = []
        self._client: httpx.AsyncClient | None = None
        self._retries: set[asyncio.Task] = set()

    def set_knobs(self, knobs: Knobs) -> None:
        self.knobs = knobs
        self.rng = random.Random(knobs.seed)

    # -- management --------------------------------------------------------------------------------
    def add_subscriber(self, subject: str, client_id: str, name: str, contact: dict) -> dict:
        sub = {"id": str(uuid.uuid4()), "name": name, "subject": subject, "client_id": client_id,
               "status": "active", "contact": contact, "created_at": now_iso(), "updated_at": now_iso()}
        self.subscribers[sub["id"]] = sub
        return sub

    def subscriptions_of(self, subscriber_id: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.subscriber_id == subscriber_id and s.status != "deleted"]

    def delete_subscriber(self, subscriber_id: str) -> None:
        self.subscribers[subscriber_id].update(status="deleted", updated_at=now_iso())
        for s in self.subscriptions_of(subscriber_id):
            self.set_status(s, "deleted")

    def set_status(self, subscription: Subscription, status: str) -> None:
        subscription.status = status
        subscription.updated_at = now_iso()

    def revoke_client(self, client_id: str) -> int:
        """The PIM connection was removed: its subscriptions are revoked."""
        count = 0
        for sub in self.subscribers.values():
            if sub["client_id"] == client_id and sub["status"] == "active":
                for s in self.subscriptions_of(sub["id"]):
                    if s.status in ("active", "suspended"):
                        self.set_status(s, "revoked")
                        count += 1
        return count

    # -- delivery ----------------------------------------------------------------------------------
    def publish(self, source: str, changes: list[dict]) -> None:
        """Called in the PIM's event loop after a change: queue one CloudEvent per matching subscription."""
        for change in changes:
            kind = TYPES.get((change["kind"], change["action"]))
            if kind is None:
                continue
            for s in list(self.subscriptions.values()):
                if kind not in s.events:
                    continue
                if s.status != "active":
                    self.deliveries.append({"subscription": s.id, "type": kind, "status": None, "dropped": s.status})
                    continue
                self._queue(s).put_nowait((self._cloud_event(source, kind, change), 0))

    @staticmethod
    def _cloud_event(source: str, kind: str, change: dict) -> bytes:
        if change["kind"] == "product":
            data: dict[str, Any] = {"product": {"uuid": change["uuid"]}}
            subject = change["uuid"]
        elif change["kind"] == "product_model":
            data, subject = {"product_model": {"code": change["code"]}}, change["code"]
        else:
            data, subject = {"category": {"code": change["code"]}}, change["code"]
        event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": source, "type": kind,
                 "subject": subject, "time": now_iso(), "datacontenttype": "application/json", "data": data}
        return json.dumps(event, separators=(",", ":")).encode()

    def _queue(self, s: Subscription) -> asyncio.Queue:
        if s.queue is None:
            s.queue = asyncio.Queue()
        if s.task is None or s.task.done():
            s.task = asyncio.get_running_loop().create_task(self._deliver_loop(s))
        return s.queue

    async def _deliver_loop(self, s: Subscription) -> None:
        assert s.queue is not None
        while True:
            body, attempt = await s.queue.get()
            # out of order: sometimes an event waiting behind this one goes first
            if not s.queue.empty() and self.rng.random() < self.knobs.reorder_rate:
                other = s.queue.get_nowait()
                s.queue.put_nowait((body, attempt))
                body, attempt = other
            if s.status != "active":
                self.deliveries.append({"subscription": s.id, "status": None, "dropped": s.status})
                continue
            status = await self._send(s, body)
            if status == 200:
                s.interval = max(MIN_INTERVAL, s.interval * 0.8)
                s.outcomes.append(True)
                if self.rng.random() < self.knobs.duplicate_rate:
                    await self._send(s, body)  # at least once: the same event again
            elif status == 429:
                s.interval = min(MAX_INTERVAL, s.interval * 2)  # slow down, send it again
                s.queue.put_nowait((body, attempt))
            else:
                s.outcomes.append(False)
                self._retry_later(s, body, attempt)
                self._maybe_suspend(s)
            await asyncio.sleep(s.interval)

    async def _send(self, s: Subscription, body: bytes) -> int | None:
        headers = {"Content-Type": "application/cloudevents+json; charset=UTF-8",
                   "User-Agent": "AkeneoEventPlatformSandbox/1.0",
                   "X-AKENEO-SIGNATURE-ALGORITHM": "HmacSHA256",
                   "X-AKENEO-SIGNATURE-PRIMARY": sign_event_platform(s.primary, body)}
        if s.secondary:
            headers["X-AKENEO-SIGNATURE-SECONDARY"] = sign_event_platform(s.secondary, body)
        record: dict[str, Any] = {"subscription": s.id, "status": None, "error": None,
                                  "type": json.loads(body).get("type")}
        try:
            response = await self.client().post(s.url, content=body, headers=headers)
            record["status"] = response.status_code
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
        self.deliveries.append(record)
        return record["status"]

    def _retry_later(self, s: Subscription, body: bytes, attempt: int) -> None:
        delays = self.knobs.retry_delays
        if attempt >= len(delays):
            self.deliveries.append({"subscription": s.id, "status": None, "dropped": "retries exhausted"})
            return

        async def later() -> None:
            await asyncio.sleep(delays[attempt])
            if s.queue is not None:
                s.queue.put_nowait((body, attempt + 1))

        task = asyncio.get_running_loop().create_task(later())
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    def _maybe_suspend(self, s: Subscription) -> None:
        if len(s.outcomes) >= SUSPEND_MIN and sum(s.outcomes) / len(s.outcomes) < SUSPEND_RATIO:
            self.set_status(s, "suspended")
            s.outcomes.clear()

    def client(self) -> httpx.AsyncClient:
        # one pool for every delivery: building a client per event costs more than the POST
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        return self._client

    async def head_ok(self, url: str) -> bool:
        try:
            response = await self.client().head(url)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        for s in self.subscriptions.values():
            if s.task is not None:
                s.task.cancel()
        for task in list(self._retries):
            task.cancel()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()


def new_secret() -> str:
    return secrets.token_urlsafe(24)
