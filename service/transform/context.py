"""What a transform needs besides the product itself: read once per import or preview."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from service.transform.catalog import Catalog
from service.transform.mapping import Mapping as FieldMapping

__all__ = ["Catalog", "Context", "StoreSettings"]  # Catalog lives in catalog.py; imported from here too


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
