"""In-memory state of the simulated platform: stores, tokens, apps, auth codes, limits, faults, logs."""

from __future__ import annotations

import itertools
import random
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from . import plans

DEFAULT_SCOPES = (
    "store_v2_products",
    "store_v2_information_read_only",
    "store_channel_settings_read_only",
)
AUTH_CODE_TTL = 600.0


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


@dataclass
class Faults:
    error_rate: float = 0.0
    statuses: tuple[int, ...] = (500, 502, 504)
    latency: float = 0.0
    timeout_after_apply_rate: float = 0.0
    timeout_delay: float = 60.0  # long enough for any client timeout; cut short when the client leaves


@dataclass
class RateWindow:
    quota: int
    window_ms: int
    started: float = 0.0
    used: int = 0

    def reset_ms(self, now: float) -> int:
        return max(0, int(self.started * 1000 + self.window_ms - now * 1000))

    def roll(self, now: float) -> None:
        if now * 1000 >= self.started * 1000 + self.window_ms:
            self.started, self.used = now, 0


class ByProduct(dict):
    """Sub-resources by id (variants, options, images, custom fields), also grouped by `product_id` (fixed at
    creation) in `of`, so a product's own sub-resources cost O(its own) and not O(the whole store)."""

    def __init__(self) -> None:
        super().__init__()
        self.of: dict[int, dict[int, dict]] = {}

    def __setitem__(self, key: int, value: dict) -> None:
        if key in self:
            self._drop(key)
        super().__setitem__(key, value)
        self.of.setdefault(value["product_id"], {})[key] = value

    def _drop(self, key: int) -> None:
        group = self.of.get(dict.__getitem__(self, key)["product_id"])
        if group is not None:
            group.pop(key, None)
            if not group:
                del self.of[dict.__getitem__(self, key)["product_id"]]

    def __delitem__(self, key: int) -> None:
        self._drop(key)
        super().__delitem__(key)

    _missing = object()

    def pop(self, key: int, default=_missing):
        if key not in self:
            if default is ByProduct._missing:
                raise KeyError(key)
            return default
        self._drop(key)
        return super().pop(key)

    def clear(self) -> None:
        super().clear()
        self.of.clear()

    def popitem(self):
        raise TypeError("ByProduct does not support popitem")

    def update(self, *args, **kwargs) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def for_product(self, pid: int) -> list[dict]:
        """The product's own, in creation order (as a scan of the whole dict would give them)."""
        return list(self.of.get(pid, {}).values())


@dataclass
class Store:
    hash: str
    name: str
    tokens: dict[str, frozenset[str]] = field(default_factory=dict)
    id: int = 0
    account_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    weight_units: str = "KGS"
    dimension_units: str = "Centimeters"
    currency: str = "EUR"
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    products: dict[int, dict] = field(default_factory=dict)
    variants: ByProduct = field(default_factory=ByProduct)  # option variants only, not base variants
    base_variants: dict[int, dict] = field(default_factory=dict)  # product id -> its base variant
    options: ByProduct = field(default_factory=ByProduct)
    images: ByProduct = field(default_factory=ByProduct)
    image_blobs: dict[int, tuple[str, bytes]] = field(default_factory=dict)  # id -> (content type, bytes)
    custom_fields: ByProduct = field(default_factory=ByProduct)
    brands: dict[int, dict] = field(default_factory=dict)
    categories: dict[int, dict] = field(default_factory=dict)
    trees: dict[int, dict] = field(default_factory=dict)
    channels: dict[int, dict] = field(default_factory=dict)
    assignments: set[tuple[int, int]] = field(default_factory=set)  # (product_id, channel_id)
    # unique keys, lower-cased where BigCommerce compares case-insensitively
    sku_index: dict[str, tuple[str, int]] = field(default_factory=dict)  # sku -> ("product"|"variant", id)
    name_index: dict[str, int] = field(default_factory=dict)
    url_index: dict[str, int] = field(default_factory=dict)
    rate: RateWindow = field(default_factory=lambda: RateWindow(150, 30000))
    unlimited: bool = False
    faults: Faults = field(default_factory=Faults)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    log: list[dict] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)  # route -> handler seconds, summed (injected latency excluded)
    longest: Counter = field(default_factory=Counter)  # route -> the longest handler time
    throttled: int = 0
    first_request_at: float | None = None  # since the last reset (the log itself is bounded)

    def next_id(self) -> int:
        return next(self.ids)


@dataclass
class AuthCode:
    client_id: str
    store_hash: str
    scope: str
    redirect_uri: str | None
    user: dict
    issued: float
    used: bool = False


class BigCommerceState:
    """Everything the sandbox knows. Tests may drive it directly (same process as the app)."""

    def __init__(self, rate_limit: tuple[int, int] = (150, 30000), unlimited: bool = False):
        self.stores: dict[str, Store] = {}
        self.apps: dict[str, str] = {}
        self.codes: dict[str, AuthCode] = {}
        self.rate_limit = rate_limit
        self.unlimited = unlimited
        self._store_ids = itertools.count(1000001)

    # --- stores and credentials ---

    def create_store(self, hash: str, token: str | None = None, scopes=DEFAULT_SCOPES,
                     name: str | None = None, weight_units: str = "KGS") -> Store:
        if hash in self.stores:
            raise ValueError(f"store {hash!r} exists")
        store = Store(hash=hash, name=name or f"Sandbox store {hash}", id=next(self._store_ids),
                      weight_units=weight_units)
        store.rate = RateWindow(*plans.window(*self.rate_limit, self.unlimited))
        store.unlimited = self.unlimited
        store.channels[1] = {
            "id": 1, "name": "storefront", "type": "storefront", "platform": "bigcommerce",
            "status": "active", "is_listable_from_ui": True, "is_visible": True,
            "date_created": now_iso(), "date_modified": now_iso(), "icon_url": "", "config_meta": {},
        }
        store.trees[1] = {"id": 1, "name": "Default", "channels": [1]}
        self.stores[hash] = store
        if token:
            self.add_token(hash, token, scopes)
        return store

    def store(self, hash: str) -> Store:
        return self.stores[hash]

    def add_token(self, hash: str, token: str, scopes=DEFAULT_SCOPES) -> None:
        if isinstance(scopes, str):
            scopes = scopes.split()
        self.stores[hash].tokens[token] = frozenset(scopes)

    def add_app(self, client_id: str, client_secret: str) -> None:
        self.apps[client_id] = client_secret

    def set_faults(self, hash: str, error_rate: float = 0.0, statuses=(500, 502, 504), latency: float = 0.0,
                   timeout_after_apply_rate: float = 0.0, timeout_delay: float = 60.0,
                   seed: int | None = None) -> None:
        store = self.stores[hash]
        store.faults = Faults(error_rate, tuple(statuses), latency, timeout_after_apply_rate, timeout_delay)
        if seed is not None:
            store.rng = random.Random(seed)

    def set_rate_limit(self, hash: str, quota: int, window_ms: int, unlimited: bool = False) -> None:
        store = self.stores[hash]
        store.rate = RateWindow(*plans.window(quota, window_ms, unlimited))
        store.unlimited = unlimited

    def issue_auth_code(self, client_id: str, store_hash: str, scope: str, user: dict | None = None,
                        redirect_uri: str | None = None) -> str:
        if client_id not in self.apps:
            raise ValueError(f"unknown app {client_id!r}")
        if store_hash not in self.stores:
            raise ValueError(f"unknown store {store_hash!r}")
        code = secrets.token_hex(16)
        user = user or {"id": 1, "username": "owner", "email": f"owner@{store_hash}.example"}
        self.codes[code] = AuthCode(client_id, store_hash, scope, redirect_uri, dict(user), time.time())
        return code

    # --- request log ---

    def reset_log(self, hash: str) -> None:
        store = self.stores[hash]
        store.log.clear()
        store.counts.clear()
        store.seconds.clear()
        store.longest.clear()
        store.throttled = 0
        store.first_request_at = None

    def log_request(self, store: Store, method: str, template: str, path: str, status: int,
                    seconds: float = 0.0, *, ids: list[int] = (), answer_ids: list[int] = ()) -> None:
        """`seconds`: the store's own time on it; `ids`: the object ids the request named; `answer_ids`:
        those its answer handed out."""
        if store.first_request_at is None:
            store.first_request_at = time.time()
        store.log.append({"method": method, "route": template, "path": path, "status": status,
                          "time": time.time(), "seconds": round(seconds, 4), "ids": list(ids),
                          "answer_ids": list(answer_ids)})
        if len(store.log) > 10000:  # bounded: a long demo must not grow without limit
            del store.log[:1000]
        store.counts[f"{method} {template}"] += 1
        store.seconds[f"{method} {template}"] += seconds  # handler time: what a benchmark attributes waits to
        store.longest[f"{method} {template}"] = max(store.longest[f"{method} {template}"], seconds)
        if status == 429:
            store.throttled += 1
