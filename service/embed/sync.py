"""Sync these products and models now: "Sync now" on the product tab and the grid's "Send to BigCommerce".

The web layer only enqueues, through the event path (service.events.policy.accept): the items become
dirty exactly like a change event would make them, and the tenant's debounced `sync_events` job syncs
them from their current PIM state with the import engine's loaders. Blocking (Redis): run in a thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import redis

from service.events import policy
from service.store.events import Accepted, EventStore

MAX_ITEMS = 500  # the PIM's own limit for a grid action
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_CODE = 255


class BadSelection(ValueError):
    pass


def items(uuids: Iterable[object], model_codes: Iterable[object]) -> list[str]:
    """The dirty-set items ("product:<uuid>", "model:<code>") for a selection; BadSelection when a value
    is not a uuid / a code, or when there are more than MAX_ITEMS."""
    out: list[str] = []
    for uuid in uuids:
        if not isinstance(uuid, str) or not UUID.fullmatch(uuid):
            raise BadSelection("productUuids must hold product uuids")
        out.append(f"product:{uuid.lower()}")
    for code in model_codes:
        if not isinstance(code, str) or not code or len(code) > MAX_CODE or code.strip() != code:
            raise BadSelection("productModelCodes must hold product model codes")
        out.append(f"model:{code}")
    out = list(dict.fromkeys(out))
    if len(out) > MAX_ITEMS:
        raise BadSelection(f"at most {MAX_ITEMS} products and models at once")
    return out


def enqueue(conn: redis.Redis, tenant: str, wanted: list[str]) -> Accepted:
    """Mark the items dirty and make sure the tenant's sync job runs (no event id: never a duplicate). The
    merchant asked for the PIM as it is now: the events' cached PIM schema (labels, options) is read again."""
    EventStore(conn).drop_context(tenant)
    return policy.accept(conn, tenant, [("", item) for item in wanted], requested=True)
