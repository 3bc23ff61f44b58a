"""The sandbox PIM's in-memory state: catalog data, credentials, tokens, sessions, knobs."""

from __future__ import annotations

import copy
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .catalog import BASE_TIME, UUID_NAMESPACE, Catalog, cached_catalog, format_time

REFRESH_TTL = 14 * 24 * 3600  # Akeneo's refresh tokens live 14 days
SESSION_IDLE = 3600


@dataclass
class Token:
    client_id: str
    username: str
    expires_at: float


@dataclass
class User:
    id: int
    username: str
    password: str
    permissions: str = "all"
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    user_default_locale: str = "en_US"
    catalog_default_locale: str = "en_US"
    catalog_default_scope: str = "ecommerce"
    uuid: str = ""
    groups: list[str] = field(default_factory=lambda: ["All"])
    # the role permission "UI extensions > Manage your extensions using the API"
    manage_extensions: bool = True


@dataclass
class UiExtension:
    """A UI extension as the PIM stores it: owned by the user of the connection that created it."""
    uuid: str
    owner: str  # lower-cased username
    name: str
    type: str
    position: str
    configuration: dict
    version: str | None = None
    description: str | None = None
    status: str = "active"
    credentials: list[dict] = field(default_factory=list)
    created_at: float = 0.0


@dataclass
class Faults:
    error_rate: float = 0.0
    latency: float = 0.0
    statuses: tuple[int, ...] = (500, 502, 503)


@dataclass
class Webhook:
    url: str
    secret: str
    format: str = "event_platform"
    secondary_secret: str | None = None


@dataclass
class PimState:
    catalog: Catalog
    token_ttl: int = 3600
    connections: dict[str, str] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    access_tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, Token] = field(default_factory=dict)
    sessions: dict[str, tuple[str, float]] = field(default_factory=dict)  # BAPID -> (username, last seen)
    faults: Faults = field(default_factory=Faults)
    webhooks: list[Webhook] = field(default_factory=list)
    deliveries: list[dict] = field(default_factory=list)
    listeners: list = field(default_factory=list)  # callables (source, changes): the Event Platform sandbox
    request_counts: dict[str, int] = field(default_factory=dict)
    clock_offset: float = 0.0
    store: ProductStore | None = None
    categories_owned: bool = False  # the category list was copied from the shared fixture (admin edits)
    schema_owned: bool = False  # the attributes and options were copied likewise (label edits, edits.py)
    tenant: str = "sandbox"  # the `tenant` query parameter UI extensions receive
    ui_extensions: dict[str, UiExtension] = field(default_factory=dict)  # uuid -> extension
    action_calls: list[dict] = field(default_factory=list)  # every action extension POST (newest last)
    actions_running: set[str] = field(default_factory=set)  # an action runs once at a time
    ui_extensions_enabled: bool = True  # False: a PIM without the feature (the routes answer 404)
    navigation_jwt: bool = True  # False: the navigation tab's iframe gets no JWT either (see the docs)
    action_groups_format: str = "names"  # Akeneo's docs show both ["All"] and [{"id", "name"}]

    # ---- time: tests move the clock instead of sleeping

    def now(self) -> float:
        return time.time() + self.clock_offset

    def now_dt(self) -> datetime:
        # Akeneo stores dates at second precision
        return datetime.fromtimestamp(self.now(), tz=UTC).replace(microsecond=0)

    def advance_clock(self, seconds: float) -> None:
        self.clock_offset += seconds

    def catalog_time(self) -> datetime:
        """When the fixture's structure (categories, attributes, families) was last saved."""
        return BASE_TIME - timedelta(days=31)

    # ---- credentials

    def add_connection(self, client_id: str, secret: str) -> None:
        self.connections[client_id] = secret

    def add_user(self, username: str, password: str, permissions: str = "all") -> User:
        if permissions not in ("all", "none"):
            raise ValueError('permissions must be "all" or "none"')
        existing = self.users.get(username.lower())
        if existing:
            existing.password = password
            existing.permissions = permissions
            return existing
        user = User(id=len(self.users) + 1, username=username, password=password, permissions=permissions,
                    email=f"{username}@example.com", first_name=username.capitalize(), last_name="Sandbox",
                    uuid=str(uuid.uuid5(UUID_NAMESPACE, f"user:{username.lower()}")))
        self.users[username.lower()] = user
        return user

    def user(self, username: str) -> User | None:
        return self.users.get(username.lower())

    def issue_tokens(self, client_id: str, username: str) -> dict:
        access, refresh = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
        self.access_tokens[access] = Token(client_id, username, self.now() + self.token_ttl)
        self.refresh_tokens[refresh] = Token(client_id, username, self.now() + REFRESH_TTL)
        return {
            "access_token": access,
            "expires_in": self.token_ttl,
            "token_type": "bearer",
            "scope": None,
            "refresh_token": refresh,
        }

    def revoke_tokens(self) -> None:
        """Forget every access token (as if the PIM had restarted its OAuth storage)."""
        self.access_tokens.clear()

    # ---- UI sessions (the BAPID cookie)

    def open_session(self, username: str) -> str:
        if self.user(username) is None:
            raise KeyError(username)
        cookie = secrets.token_hex(16)
        self.sessions[cookie] = (username, self.now())
        return cookie

    def close_session(self, cookie: str) -> bool:
        return self.sessions.pop(cookie, None) is not None

    def session_user(self, cookie: str | None) -> User | None:
        entry = self.sessions.get(cookie or "")
        if entry is None:
            return None
        username, seen = entry
        if self.now() - seen > SESSION_IDLE:
            del self.sessions[cookie]
            return None
        self.sessions[cookie] = (username, self.now())  # idle expiry slides with use
        return self.user(username)

    # ---- knobs

    def set_faults(self, error_rate: float = 0.0, latency: float = 0.0,
                   statuses: tuple[int, ...] | list[int] = (500, 502, 503)) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError("error_rate must be within 0..1")
        self.faults = Faults(float(error_rate), float(latency), tuple(int(s) for s in statuses))

    def count_request(self, key: str) -> None:
        self.request_counts[key] = self.request_counts.get(key, 0) + 1


def build_state(catalog_dir: Path | str | None, *, token_ttl: int = 3600) -> PimState:
    catalog = cached_catalog(catalog_dir)
    state = PimState(catalog=catalog, token_ttl=token_ttl, store=ProductStore(catalog))
    for row in catalog.users:
        user = state.add_user(row["username"], row["password"])
        user.email = row.get("email") or user.email
        user.first_name = row.get("first_name") or user.first_name
        user.last_name = row.get("last_name") or user.last_name
        user.user_default_locale = row.get("user_default_locale") or "en_US"
        user.catalog_default_locale = row.get("catalog_default_locale") or "en_US"
        user.catalog_default_scope = row.get("catalog_default_scope") or "ecommerce"
        user.groups = [g for g in (row.get("groups") or "").split(",") if g] + ["All"]
    return state


class Tracked(dict):
    """A dict that counts changes to its set of keys, so sorted views of it are rebuilt only when an entity is
    added or removed (edits of an entity's values leave the order as it is)."""

    version = 0

    def _bump(self) -> None:
        self.version += 1

    def __setitem__(self, key, value) -> None:
        if key not in self:
            self._bump()
        super().__setitem__(key, value)

    def __delitem__(self, key) -> None:
        super().__delitem__(key)
        self._bump()

    def pop(self, *args):
        self._bump()
        return super().pop(*args)

    def popitem(self):
        self._bump()
        return super().popitem()

    def clear(self) -> None:
        self._bump()
        super().clear()

    def setdefault(self, key, default=None):
        if key not in self:
            self._bump()
        return super().setdefault(key, default)

    def update(self, *args, **kwargs) -> None:
        self._bump()
        super().update(*args, **kwargs)


class SortedView:
    """The entities of a `Tracked` dict sorted by a key, with the keys alone for bisect: a search_after page
    starts at its cursor instead of filtering and sorting the whole catalog (Elasticsearch's own way)."""

    def __init__(self, source: Tracked, key) -> None:
        self.source, self.key = source, key
        self.version = -1
        self.items: list[dict] = []
        self.keys: list[str] = []

    def current(self) -> SortedView:
        if self.version != self.source.version:
            self.items = sorted(self.source.values(), key=self.key)
            self.keys = [self.key(it) for it in self.items]
            self.version = self.source.version
        return self


class ProductStore:
    """Products and product models as Akeneo stores them: each level keeps only its own values."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.products: dict[str, dict] = Tracked()  # lower identifier -> product
        self.by_uuid: dict[str, dict] = Tracked()
        self.models: dict[str, dict] = Tracked()  # lower code -> model
        self._views = {"products": SortedView(self.products, lambda p: p["identifier"].lower()),
                       "products-uuid": SortedView(self.by_uuid, lambda p: p["uuid"]),
                       "models": SortedView(self.models, lambda m: m["code"].lower())}
        self.categories = {c["code"].lower(): c for c in catalog.categories}
        self.families = {f["code"].lower(): f for f in catalog.families}
        self.variants = {v["code"].lower(): v for vs in catalog.family_variants.values() for v in vs}
        self.channels = {c["code"].lower(): c for c in catalog.channels}
        for model in catalog.models:
            self.models[model["code"].lower()] = copy.deepcopy(model)
        for model in self.models.values():
            model["values"] = self._level_values(model, model["values"])
        for product in catalog.products:
            item = copy.deepcopy(product)
            parent = self.model(item["parent"]) if item["parent"] else None
            if parent is not None:
                item["family"] = parent["family"]
                item["values"] = self._level_values(item, item["values"])
            self.products[item["identifier"].lower()] = item
            self.by_uuid[item["uuid"]] = item

    # ---- lookups (codes compare case-insensitively, as in Akeneo)

    def model(self, code: str | None) -> dict | None:
        return self.models.get((code or "").lower())

    def product(self, identifier: str) -> dict | None:
        return self.products.get(identifier.lower())

    def ancestors(self, entity: dict) -> list[dict]:
        """Parent models, nearest first."""
        chain, seen = [], set()
        parent = self.model(entity.get("parent"))
        while parent is not None and parent["code"].lower() not in seen:
            seen.add(parent["code"].lower())
            chain.append(parent)
            parent = self.model(parent.get("parent"))
        return chain

    def sorted_view(self, name: str) -> SortedView:
        """`products` (by lower identifier), `products-uuid` (by uuid) or `models` (by lower code)."""
        return self._views[name].current()

    def category_descendants(self, code: str) -> set[str]:
        """Lower-case codes of `code` and every category below it."""
        root = code.lower()
        found = {root}
        changed = True
        while changed:
            changed = False
            for cat in self.catalog.categories:
                parent = (cat["parent"] or "").lower()
                if parent in found and cat["code"].lower() not in found:
                    found.add(cat["code"].lower())
                    changed = True
        return found

    # ---- variant levels

    def _level_attributes(self, entity: dict) -> set[str] | None:
        """The attributes a model or variant product owns, or None for a simple product."""
        if "family_variant" in entity:
            variant = self.variants.get(entity["family_variant"].lower())
            level = 1 if entity.get("parent") else 0
        else:
            ancestors = self.ancestors(entity)
            if not ancestors:
                return None
            variant = self.variants.get(ancestors[-1]["family_variant"].lower())
            level = -1  # the last level
        if variant is None:
            return None
        sets = variant["variant_attribute_sets"]
        if level == 0:
            family = self.families.get(self._variant_family(variant).lower(), {})
            owned = {a for s in sets for a in s["attributes"]}
            return set(family.get("attributes", [])) - owned
        chosen = sets[level] if level == -1 else sets[level - 1]
        return set(chosen["attributes"])

    def _variant_family(self, variant: dict) -> str:
        for fam, variants in self.catalog.family_variants.items():
            if any(v["code"] == variant["code"] for v in variants):
                return fam
        return ""

    def _level_values(self, entity: dict, values: dict) -> dict:
        """Akeneo's import drops values of attributes that belong to another level."""
        owned = self._level_attributes(entity)
        if owned is None:
            return values
        return {code: items for code, items in values.items() if code in owned}

    # ---- API views

    def merged_values(self, entity: dict) -> dict:
        merged: dict[str, list[dict]] = {}
        for source in [*reversed(self.ancestors(entity)), entity]:
            for code, items in source["values"].items():
                merged[code] = items
        return merged

    def merged_categories(self, entity: dict) -> list[str]:
        result: list[str] = []
        seen: set[str] = set()
        for source in [*reversed(self.ancestors(entity)), entity]:
            for code in source["categories"]:
                if code.lower() not in seen:
                    seen.add(code.lower())
                    result.append(code)
        return result

    def effective_updated(self, entity: dict) -> datetime:
        """Akeneo reports (and filters on) the latest update of the entity and its parents."""
        return max([entity["updated"], *(m["updated"] for m in self.ancestors(entity))])

    def completeness(self, product: dict) -> dict[tuple[str, str], int]:
        """Percent complete per (channel, locale): the family's requirements for the channel filled in
        the product's values with its models' (floor of filled / required). As Akeneo's completeness
        checkers do: a price collection is complete with an amount in every currency of the channel, a
        metric with an amount, and a locale-specific attribute is required only in its locales
        (pim-community-dev, Completeness/Checker/PriceCompleteChecker.php and siblings). A product
        without a family has no completeness (no completeness filter matches it)."""
        family = self.families.get((product.get("family") or "").lower())
        result: dict[tuple[str, str], int] = {}
        if family is None:
            return result
        values = self.merged_values(product)
        for channel in self.catalog.channels:
            for locale in channel["locales"]:
                required = [code for code in family["attribute_requirements"].get(channel["code"], [])
                            if self._required_in(code, locale)]
                filled = sum(1 for code in required if self._complete(values, code, channel, locale))
                result[(channel["code"], locale)] = (100 * filled // len(required)) if required else 100
        return result

    def _required_in(self, code: str, locale: str) -> bool:
        attr = self.catalog.attribute(code) or {}
        only = [str(x).lower() for x in attr.get("available_locales") or []]
        return not only or locale.lower() in only

    def _complete(self, values: dict, code: str, channel: dict, locale: str) -> bool:
        attr = self.catalog.attribute(code) or {}
        for item in values.get(code, []):
            if attr.get("localizable") and item["locale"] != locale:
                continue
            if attr.get("scopable") and item["scope"] != channel["code"]:
                continue
            data = item["data"]
            if data in (None, "", [], {}):
                continue
            if attr.get("type") == "pim_catalog_price_collection":
                priced = {str(p.get("currency")) for p in data if isinstance(p, dict) and p.get("amount") is not None}
                return all(c in priced for c in channel.get("currencies", []))
            if attr.get("type") == "pim_catalog_metric":
                return isinstance(data, dict) and data.get("amount") is not None
            return True
        return False

    def new_uuid(self, identifier: str) -> str:
        candidate = str(uuid.uuid5(UUID_NAMESPACE, identifier))
        return candidate if candidate not in self.by_uuid else str(uuid.uuid4())


def stamp(moment: datetime) -> str:
    return format_time(moment)
