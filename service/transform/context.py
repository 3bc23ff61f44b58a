"""What a transform needs besides the product itself: read once per import or preview."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # mapping.py imports Catalog from here
    from service.transform.mapping import Mapping as FieldMapping


@dataclass(frozen=True)
class Catalog:
    """The PIM's schema, read once per import / preview."""

    attributes: Mapping[str, dict]  # attribute code -> Akeneo attribute JSON
    families: Mapping[str, dict]  # family code -> Akeneo family JSON
    family_variants: Mapping[str, dict]  # "family/variant_code" -> family variant JSON
    options: Mapping[str, Mapping[str, dict]]  # attribute code -> option code LOWERCASED -> option JSON
    measurement_families: Mapping[str, dict]  # code -> Akeneo measurement family JSON

    def family_variant(self, family: str | None, code: str | None) -> dict | None:
        """The family variant, its codes compared case-insensitively as Akeneo does."""
        if not family or not code:
            return None
        found = self.family_variants.get(f"{family}/{code}")
        if found is not None:
            return found
        wanted = f"{family}/{code}".lower()
        return next((fv for key, fv in self.family_variants.items() if key.lower() == wanted), None)

    @functools.cached_property  # a frozen dataclass still has an instance __dict__ to cache in
    def _identifier(self) -> str | None:
        identifiers = [a for a in self.attributes.values() if a.get("type") == "pim_catalog_identifier"]
        if not identifiers:
            return None
        main = [a for a in identifiers if a.get("is_main_identifier")]
        return str((main or identifiers)[0]["code"])

    def identifier_attribute(self) -> str | None:
        """The main identifier attribute's code (Akeneo: `sku` unless renamed); computed once."""
        return self._identifier


@dataclass(frozen=True)
class StoreSettings:
    """From BigCommerce GET /v2/store."""

    currency: str  # "USD"
    weight_units: str  # "LBS" | "Ounces" | "KGS" | "Grams" | "Tonnes"
    dimension_units: str  # "Inches" | "Centimeters" | "Millimeters" | "Meters" | ...


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    store: StoreSettings
    locale: str  # the tenant's locale, e.g. "en_US"
    channel: str  # the tenant's channel (Akeneo scope), e.g. "ecommerce"
    mapping: FieldMapping  # service.transform.mapping.Mapping (validated)
    category_ids: Mapping[str, int] = field(default_factory=dict)  # PIM category code LOWERCASED -> BC id
    image_url: Callable[[str], str] | None = None  # media-file code -> URL BigCommerce downloads
