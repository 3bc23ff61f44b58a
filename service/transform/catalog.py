"""The PIM's schema as a transform reads it (`Catalog`): read once per import or preview.

Its own module, below both `context.py` and `mapping.py`: the mapping checks values against the catalog, and
a Context holds a mapping, so neither of those two has to import the other's module back.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass


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
