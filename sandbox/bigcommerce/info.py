"""`/v2/time`, `/v2/store` and `/v3/channels`."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .gateway import ok
from .query import int_list, paginate
from .state import Store


async def get_time(request: Request, store: Store) -> Response:
    return JSONResponse({"time": int(time.time())})


async def get_store(request: Request, store: Store) -> Response:
    domain = f"{store.hash}.sandbox.example"
    return JSONResponse({
        "id": store.hash, "account_uuid": store.account_uuid, "domain": domain,
        "secure_url": f"https://{domain}", "control_panel_base_url": f"https://store-{store.hash}.sandbox.example",
        "status": "live", "name": store.name, "first_name": "Sandbox", "last_name": "Owner",
        "address": "1 Test Street", "country": "France", "country_code": "FR", "infrastructure_region": "eu",
        "phone": "", "admin_email": f"owner@{domain}", "order_email": f"orders@{domain}", "favicon_url": "",
        "timezone": {"name": "Europe/Paris", "raw_offset": 3600, "dst_offset": 7200, "dst_correction": True,
                     "date_format": {"display": "jS M Y", "export": "M jS Y", "extended_display": "M jS Y @ g:i A"}},
        "language": "en", "currency": store.currency, "currency_symbol": "€", "decimal_separator": ".",
        "thousands_separator": ",", "decimal_places": 2, "currency_symbol_location": "left",
        "weight_units": store.weight_units, "dimension_units": store.dimension_units,
        "dimension_decimal_places": 2, "dimension_decimal_token": ".", "dimension_thousands_token": ",",
        "plan_name": "Standard", "plan_level": "Standard", "plan_is_trial": False, "industry": "",
        "logo": [], "is_price_entered_with_tax": False, "store_id": store.id, "default_channel_id": 1,
        "default_site_id": 1000, "active_comparison_modules": [],
        "features": {"stencil_enabled": True, "sitewidehttps_enabled": True, "facebook_catalog_id": "",
                     "checkout_type": "optimized", "wishlists_enabled": False,
                     "graphql_storefront_api_enabled": True, "shopper_consent_tracking_enabled": False,
                     "multi_storefront_enabled": False,
                     "storefront_limits": {"active": 1, "total_including_inactive": 1}},
    })


async def list_channels(request: Request, store: Store) -> Response:
    items = sorted(store.channels.values(), key=lambda c: c["id"])
    ids = int_list(request, "id:in")
    if ids is not None:
        items = [c for c in items if c["id"] in ids]
    page, meta = paginate(request, items)
    return ok(page, meta)
