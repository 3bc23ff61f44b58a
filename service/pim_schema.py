"""Reads the PIM's schema and the store's settings into the transform's inputs (the only I/O the
transforms need, kept out of the pure `service.transform` package)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from service.clients.akeneo import AkeneoClient
from service.clients.bigcommerce import BigCommerceClient
from service.transform import attribute_types as t
from service.transform.context import Catalog, StoreSettings
from service.transform.mapping import FIELD_SPECS, Mapping


def option_attributes_for(mapping: Mapping, catalog: Catalog) -> set[str]:
    """The select attributes whose option labels a build needs: those the mapping names (every family's
    overrides too) and every variant axis."""
    wanted: set[str] = set()
    views = [mapping.fields, *mapping.families.values()]
    for view in views:
        for name, value in view.items():
            if name not in FIELD_SPECS or not value:
                continue
            wanted.update([value] if isinstance(value, str) else value)
    for family_variant in catalog.family_variants.values():
        for level in family_variant.get("variant_attribute_sets") or []:
            wanted.update(level.get("axes") or [])
    selects = (*t.SELECTS, *t.MULTISELECTS)
    return {code for code in wanted if catalog.attributes.get(code, {}).get("type") in selects}


async def load_catalog(
    pim: AkeneoClient, *, option_attributes: Iterable[str] = (), mapping: Mapping | None = None
) -> Catalog:
    """Attributes, families, their family variants, measurement families, and the options of the
    given select attributes (plus, with `mapping`, those the mapping and the variant axes use)."""
    attributes_list, families_list, measurement_list = await asyncio.gather(
        pim.list_attributes(), pim.list_families(), pim.list_measurement_families()
    )
    attributes = {a["code"]: _strip_links(a) for a in attributes_list}
    families = {f["code"]: _strip_links(f) for f in families_list}
    variant_lists = await asyncio.gather(*(pim.list_family_variants(code) for code in families))
    family_variants = {
        f"{family}/{fv['code']}": _strip_links(fv)
        for family, variants in zip(families, variant_lists, strict=True)
        for fv in variants
    }
    catalog = Catalog(attributes, families, family_variants, {}, {m["code"]: m for m in measurement_list})

    wanted = {code for code in option_attributes if code in attributes}
    if mapping is not None:
        wanted |= option_attributes_for(mapping, catalog)
    codes = sorted(wanted)

    async def options_of(code: str) -> dict[str, dict]:
        return {str(o["code"]).lower(): _strip_links(o) async for o in pim.iter_attribute_options(code)}

    option_maps = await asyncio.gather(*(options_of(code) for code in codes))
    return Catalog(
        attributes=attributes,
        families=families,
        family_variants=family_variants,
        options=dict(zip(codes, option_maps, strict=True)),
        measurement_families=catalog.measurement_families,
    )


async def load_store_settings(bc: BigCommerceClient) -> StoreSettings:
    """The store's currency and units (GET /v2/store)."""
    info = await bc.get_store()
    info = info if isinstance(info, dict) else {}
    return StoreSettings(
        currency=str(info.get("currency") or "USD"),
        weight_units=str(info.get("weight_units") or "LBS"),
        dimension_units=str(info.get("dimension_units") or "Inches"),
    )


def _strip_links(item: dict) -> dict:
    return {k: v for k, v in item.items() if k != "_links"}
