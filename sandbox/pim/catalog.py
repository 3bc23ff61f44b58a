"""Parse Akeneo installer fixtures (`;`-separated CSV) into the API's standard format."""

from __future__ import annotations

import csv
import hashlib
import mimetypes
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = (REPO_ROOT / ".." / "shared" / "catalogs" / "icecat_demo_dev").resolve()

# Akeneo derives product uuids itself; a fixed namespace keeps ours stable across runs.
UUID_NAMESPACE = uuid.UUID("6f0d5a1e-7f59-4c3c-9b8a-2b1f0e3c4d5a")
# The fixture snapshot date: catalog timestamps are spread over the days before it.
BASE_TIME = datetime(2021, 1, 26, 8, 0, 0, tzinfo=UTC)


@dataclass
class MediaFile:
    code: str
    path: Path
    original_filename: str
    mime_type: str
    extension: str

    @property
    def exists(self) -> bool:
        return self.path.is_file()


@dataclass
class Catalog:
    directory: Path
    channels: list[dict] = field(default_factory=list)
    locales: list[dict] = field(default_factory=list)
    currencies: list[dict] = field(default_factory=list)
    categories: list[dict] = field(default_factory=list)  # tree order (depth first)
    attributes: list[dict] = field(default_factory=list)
    options: dict[str, list[dict]] = field(default_factory=dict)  # attribute code -> options
    families: list[dict] = field(default_factory=list)
    family_variants: dict[str, list[dict]] = field(default_factory=dict)  # family code -> variants
    association_types: list[str] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    media: dict[str, MediaFile] = field(default_factory=dict)  # code -> file

    def attribute(self, code: str) -> dict | None:
        return self._attr_index.get(code.lower())

    def __post_init__(self) -> None:
        self._attr_index: dict[str, dict] = {}

    def index(self) -> None:
        self._attr_index = {a["code"].lower(): a for a in self.attributes}


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def _labels(row: dict[str, str], prefix: str = "label") -> dict[str, str]:
    return {k.split("-", 1)[1]: v for k, v in row.items() if k.startswith(prefix + "-") and v}


def _bool(text: str) -> bool:
    return text.strip() in ("1", "true", "True")


def _opt_int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def media_code(relative_path: str) -> str:
    """A media-file code shaped like Akeneo's: `a/b/c/d/<sha1>_<sanitised filename>`."""
    digest = hashlib.sha1(relative_path.encode("utf-8")).hexdigest()
    filename = re.sub(r"[^A-Za-z0-9.]", "_", relative_path.rsplit("/", 1)[-1])
    return f"{digest[0]}/{digest[1]}/{digest[2]}/{digest[3]}/{digest}_{filename}"


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class _ValueParser:
    """Turns one fixture row's attribute columns into `values.{attr}: [{locale, scope, data}]`."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def media(self, relative: str) -> str:
        code = media_code(relative)
        if code not in self.catalog.media:
            name = relative.rsplit("/", 1)[-1]
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self.catalog.media[code] = MediaFile(code, self.catalog.directory / relative, name, mime, ext)
        return code

    def data(self, attr: dict, raw: str) -> Any:
        kind = attr["type"]
        if kind == "pim_catalog_boolean":
            return _bool(raw)
        if kind == "pim_catalog_number":
            if attr["decimals_allowed"]:
                return f"{float(raw):.4f}"
            return int(float(raw))
        if kind == "pim_catalog_multiselect":
            return _split(raw)
        if kind == "pim_catalog_date":
            return f"{raw.strip()}T00:00:00+00:00"
        if kind in ("pim_catalog_image", "pim_catalog_file"):
            return self.media(raw.strip())
        return raw

    def parse(self, row: dict[str, str]) -> dict[str, list[dict]]:
        values: dict[str, list[dict]] = {}
        prices: dict[str, list[dict]] = {}
        for column, raw in row.items():
            if not raw or column is None:
                continue
            parts = column.split("-")
            attr = self.catalog.attribute(parts[0])
            if attr is None:
                continue
            code = attr["code"]
            kind = attr["type"]
            if kind == "pim_catalog_price_collection":
                amount = f"{float(raw):.2f}" if attr["decimals_allowed"] else int(float(raw))
                prices.setdefault(code, []).append({"amount": amount, "currency": parts[1]})
                continue
            if kind == "pim_catalog_metric":
                if len(parts) > 1:  # the `-unit` column, read with its amount
                    continue
                unit = row.get(f"{parts[0]}-unit") or attr["default_metric_unit"]
                amount = f"{float(raw):.4f}" if attr["decimals_allowed"] else int(float(raw))
                values.setdefault(code, []).append(
                    {"locale": None, "scope": None, "data": {"amount": amount, "unit": unit}}
                )
                continue
            rest = parts[1:]
            locale = rest.pop(0) if attr["localizable"] and rest else None
            scope = rest.pop(0) if attr["scopable"] and rest else None
            values.setdefault(code, []).append({"locale": locale, "scope": scope, "data": self.data(attr, raw)})
        for code, items in prices.items():
            items.sort(key=lambda p: p["currency"])
            values[code] = [{"locale": None, "scope": None, "data": items}]
        return values


def _attribute(row: dict[str, str], groups: dict[str, dict]) -> dict:
    kind = row["type"]
    numeric = kind in ("pim_catalog_metric", "pim_catalog_number", "pim_catalog_price_collection")
    group = groups.get(row["group"], {})
    return {
        "code": row["code"],
        "type": kind,
        "group": row["group"],
        "unique": _bool(row["unique"]),
        "useable_as_grid_filter": _bool(row["useable_as_grid_filter"]),
        "allowed_extensions": _split(row["allowed_extensions"]),
        "metric_family": row["metric_family"] or None,
        "default_metric_unit": row["default_metric_unit"] or None,
        "reference_data_name": row["reference_data_name"] or None,
        "available_locales": _split(row["available_locales"]),
        "max_characters": _opt_int(row["max_characters"]),
        "validation_rule": row["validation_rule"] or None,
        "validation_regexp": row["validation_regexp"] or None,
        "wysiwyg_enabled": _bool(row["wysiwyg_enabled"]) if kind == "pim_catalog_textarea" else None,
        "number_min": row["number_min"] or None,
        "number_max": row["number_max"] or None,
        "decimals_allowed": _bool(row["decimals_allowed"]) if numeric else None,
        "negative_allowed": _bool(row["negative_allowed"])
        if kind in ("pim_catalog_metric", "pim_catalog_number")
        else None,
        "date_min": row["date_min"] or None,
        "date_max": row["date_max"] or None,
        "max_file_size": row["max_file_size"] or None,
        "sort_order": int(row["sort_order"] or 0),
        "localizable": _bool(row["localizable"]),
        "scopable": _bool(row["scopable"]),
        "default_value": None,
        "labels": _labels(row),
        "group_labels": group.get("labels", {}),
        "is_main_identifier": kind == "pim_catalog_identifier",
        "is_mandatory": kind == "pim_catalog_identifier",
        "decimal_places_strategy": None,
        "decimal_places": None,
    }


def _sort_tree(rows: list[dict[str, str]]) -> list[dict]:
    """Depth-first order with sibling positions, as Akeneo lists categories (root, then lft)."""
    children: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        children.setdefault(row["parent"].lower(), []).append(row)
    ordered: list[dict] = []

    def walk(parent: str, depth: int) -> None:
        for position, row in enumerate(children.get(parent, []), start=1):
            ordered.append(
                {
                    "code": row["code"],
                    "parent": row["parent"] or None,
                    "labels": _labels(row),
                    "position": position,
                    "depth": depth,
                }
            )
            walk(row["code"].lower(), depth + 1)

    walk("", 0)
    return ordered


def load_catalog(directory: Path) -> Catalog:
    directory = Path(directory).resolve()
    if not (directory / "products.csv").exists():
        raise FileNotFoundError(f"not an Akeneo fixture catalog (no products.csv): {directory}")
    cat = Catalog(directory=directory)

    channel_rows = read_csv(directory / "channels.csv")
    active_locales = {loc for row in channel_rows for loc in _split(row["locales"])}
    for row in channel_rows:
        cat.channels.append(
            {
                "code": row["code"],
                "currencies": sorted(_split(row["currencies"])),
                "locales": sorted(_split(row["locales"])),
                "category_tree": row["tree"],
                "conversion_units": {},
                "labels": _labels(row),
            }
        )
    cat.locales = [
        {"code": r["code"], "enabled": r["code"] in active_locales}
        for r in sorted(read_csv(directory / "locales.csv"), key=lambda r: r["code"])
    ]
    cat.currencies = [
        {"code": r["code"], "enabled": _bool(r["activated"])}
        for r in sorted(read_csv(directory / "currencies.csv"), key=lambda r: r["code"])
    ]
    cat.categories = _sort_tree(read_csv(directory / "categories.csv"))

    groups = {r["code"]: {"labels": _labels(r)} for r in read_csv(directory / "attribute_groups.csv")}
    cat.attributes = [_attribute(r, groups) for r in read_csv(directory / "attributes.csv")]
    cat.index()
    for row in read_csv(directory / "attribute_options.csv"):
        cat.options.setdefault(row["attribute"], []).append(
            {
                "code": row["code"],
                "attribute": row["attribute"],
                "sort_order": int(row["sort_order"] or 0),
                "labels": _labels(row),
            }
        )
    for opts in cat.options.values():
        opts.sort(key=lambda o: o["sort_order"])

    channel_codes = [c["code"] for c in cat.channels]
    identifier = next(a["code"] for a in cat.attributes if a["type"] == "pim_catalog_identifier")
    for row in read_csv(directory / "families.csv"):
        cat.families.append(
            {
                "code": row["code"],
                "attributes": sorted(set(_split(row["attributes"])) | {identifier}),
                "attribute_as_label": row["attribute_as_label"],
                "attribute_as_image": row["attribute_as_image"] or None,
                "attribute_requirements": {
                    ch: sorted(set(_split(row.get(f"requirements-{ch}", ""))) | {identifier})
                    for ch in channel_codes
                },
                "labels": _labels(row),
            }
        )
    for row in read_csv(directory / "family_variants.csv"):
        sets = []
        levels = [lvl for lvl in (1, 2) if row.get(f"variant-axes_{lvl}")]
        for lvl in levels:
            axes = _split(row[f"variant-axes_{lvl}"])
            attributes = _split(row.get(f"variant-attributes_{lvl}", ""))
            # Akeneo always puts the axes, and the identifier on the last level, in the level's attributes.
            extra = axes + ([identifier] if lvl == levels[-1] else [])
            attributes += [a for a in extra if a not in attributes]
            sets.append({"level": lvl, "axes": axes, "attributes": sorted(attributes)})
        cat.family_variants.setdefault(row["family"], []).append(
            {"code": row["code"], "labels": _labels(row), "variant_attribute_sets": sets}
        )
    cat.association_types = [r["code"] for r in read_csv(directory / "association_types.csv")]
    cat.users = read_csv(directory / "users.csv")

    parser = _ValueParser(cat)
    variant_family = {v["code"].lower(): fam for fam, vs in cat.family_variants.items() for v in vs}
    model_rows = read_csv(directory / "product_models.csv")
    for i, row in enumerate(model_rows):
        moment = BASE_TIME - timedelta(days=30) + timedelta(minutes=7 * i)
        cat.models.append(
            {
                "code": row["code"],
                "family": variant_family.get(row["family_variant"].lower()),
                "family_variant": row["family_variant"],
                "parent": row["parent"] or None,
                "categories": _split(row["categories"]),
                "values": parser.parse(row),
                "created": moment,
                "updated": moment,
            }
        )
    for i, row in enumerate(read_csv(directory / "products.csv")):
        created = BASE_TIME - timedelta(days=20) + timedelta(minutes=11 * i)
        values = parser.parse(row)
        ident = row[identifier]
        associations = {
            t: {
                "groups": _split(row.get(f"{t}-groups", "")),
                "products": _split(row.get(f"{t}-products", "")),
                "product_models": _split(row.get(f"{t}-product_models", "")),
            }
            for t in cat.association_types
        }
        cat.products.append(
            {
                "uuid": str(uuid.uuid5(UUID_NAMESPACE, ident)),
                "identifier": ident,
                "enabled": _bool(row.get("enabled", "1") or "1"),
                "family": row.get("family") or None,
                "categories": _split(row.get("categories", "")),
                "groups": _split(row.get("groups", "")),
                "parent": row.get("parent") or None,
                "values": values,
                "associations": associations,
                "created": created,
                # some products were edited after their creation: spread `updated` over the following days
                "updated": created + timedelta(hours=(i * 37) % 240),
            }
        )
    return cat


_CACHE: dict[Path, Catalog] = {}


def cached_catalog(directory: Path | str | None = None) -> Catalog:
    """Parse once per directory per process; callers deep-copy the mutable parts they change."""
    path = Path(directory or DEFAULT_CATALOG).resolve()
    if path not in _CACHE:
        _CACHE[path] = load_catalog(path)
    return _CACHE[path]
