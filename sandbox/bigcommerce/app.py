"""The sandbox app: API host (`/stores/{hash}/...`), login host (`/oauth2/token`) and `/sandbox/...`."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from . import admin, brands, info, oauth, products, subresources, trees
from .gateway import api_route
from .state import BigCommerceState

PRODUCT = "/v3/catalog/products/{product_id:int}"

api_routes = [
    api_route("/v2/time", info.get_time, ["GET"], scope=None),
    api_route("/v2/store", info.get_store, ["GET"], scope="information"),
    api_route("/v3/channels", info.list_channels, ["GET"], scope="channels"),
    api_route("/v3/catalog/products/channel-assignments", products.get_assignments, ["GET"]),
    api_route("/v3/catalog/products/channel-assignments", products.put_assignments, ["PUT"]),
    api_route("/v3/catalog/products/channel-assignments", products.delete_assignments, ["DELETE"]),
    api_route("/v3/catalog/products", products.list_products, ["GET"]),
    api_route("/v3/catalog/products", products.create, ["POST"]),
    api_route("/v3/catalog/products", products.update_batch, ["PUT"]),
    api_route("/v3/catalog/products", products.delete_many, ["DELETE"]),
    api_route(PRODUCT, products.get_one, ["GET"]),
    api_route(PRODUCT, products.update_one, ["PUT"]),
    api_route(PRODUCT, products.delete_one, ["DELETE"]),
    api_route(PRODUCT + "/variants", subresources.list_variants, ["GET"]),
    api_route(PRODUCT + "/variants", subresources.create_variant, ["POST"]),
    api_route(PRODUCT + "/variants/{variant_id:int}", subresources.get_variant, ["GET"]),
    api_route(PRODUCT + "/variants/{variant_id:int}", subresources.put_variant, ["PUT"]),
    api_route(PRODUCT + "/variants/{variant_id:int}", subresources.delete_variant, ["DELETE"]),
    api_route("/v3/catalog/variants", subresources.all_variants, ["GET"]),
    api_route("/v3/catalog/variants", subresources.batch_variants, ["PUT"]),
    api_route(PRODUCT + "/options", subresources.list_options, ["GET"]),
    api_route(PRODUCT + "/options", subresources.create_option, ["POST"]),
    api_route(PRODUCT + "/options/{option_id:int}", subresources.get_option, ["GET"]),
    api_route(PRODUCT + "/options/{option_id:int}", subresources.delete_option, ["DELETE"]),
    api_route(PRODUCT + "/options/{option_id:int}/values", subresources.list_values, ["GET"]),
    api_route(PRODUCT + "/options/{option_id:int}/values", subresources.create_value, ["POST"]),
    api_route(PRODUCT + "/options/{option_id:int}/values/{value_id:int}", subresources.delete_value, ["DELETE"]),
    api_route(PRODUCT + "/images", subresources.list_images, ["GET"]),
    api_route(PRODUCT + "/images", subresources.create_image, ["POST"]),
    api_route(PRODUCT + "/images/{image_id:int}", subresources.get_image, ["GET"]),
    api_route(PRODUCT + "/images/{image_id:int}", subresources.put_image, ["PUT"]),
    api_route(PRODUCT + "/images/{image_id:int}", subresources.delete_image, ["DELETE"]),
    api_route(PRODUCT + "/custom-fields", subresources.list_fields, ["GET"]),
    api_route(PRODUCT + "/custom-fields", subresources.create_field, ["POST"]),
    api_route(PRODUCT + "/custom-fields/{field_id:int}", subresources.get_field, ["GET"]),
    api_route(PRODUCT + "/custom-fields/{field_id:int}", subresources.put_field, ["PUT"]),
    api_route(PRODUCT + "/custom-fields/{field_id:int}", subresources.delete_field, ["DELETE"]),
    api_route("/v3/catalog/brands", brands.list_brands, ["GET"]),
    api_route("/v3/catalog/brands", brands.create_brand, ["POST"]),
    api_route("/v3/catalog/brands", brands.delete_brands, ["DELETE"]),
    api_route("/v3/catalog/brands/{brand_id:int}", brands.get_brand, ["GET"]),
    api_route("/v3/catalog/brands/{brand_id:int}", brands.put_brand, ["PUT"]),
    api_route("/v3/catalog/brands/{brand_id:int}", brands.delete_brand, ["DELETE"]),
    api_route("/v3/catalog/trees/categories", trees.list_categories, ["GET"]),
    api_route("/v3/catalog/trees/categories", trees.create_categories, ["POST"]),
    api_route("/v3/catalog/trees/categories", trees.update_categories, ["PUT"]),
    api_route("/v3/catalog/trees/categories", trees.delete_categories, ["DELETE"]),
    api_route("/v3/catalog/trees", trees.list_trees, ["GET"]),
    api_route("/v3/catalog/trees", trees.upsert_trees, ["PUT"]),
    api_route("/v3/catalog/trees", trees.delete_trees, ["DELETE"]),
    api_route("/v3/catalog/trees/{tree_id:int}/categories", trees.tree_categories, ["GET"]),
]

routes = [
    Mount("/stores/{store_hash}", routes=api_routes),
    Route("/oauth2/token", oauth.token, methods=["POST"]),
    Route("/sandbox/stores", admin.create_store, methods=["POST"]),
    Route("/sandbox/stores/{store_hash}/tokens", admin.add_token, methods=["POST"]),
    Route("/sandbox/stores/{store_hash}/faults", admin.set_faults, methods=["PUT"]),
    Route("/sandbox/stores/{store_hash}/rate-limit", admin.set_rate_limit, methods=["PUT"]),
    Route("/sandbox/stores/{store_hash}/state", admin.get_state, methods=["GET"]),
    Route("/sandbox/stores/{store_hash}/requests", admin.requests_log, methods=["GET", "DELETE"]),
    Route("/sandbox/stores/{store_hash}/storefront", admin.storefront, methods=["GET"]),
    Route("/sandbox/auth-codes", admin.issue_code, methods=["POST"]),
    Route("/sandbox/images/{image_id:int}", admin.image, methods=["GET"]),
]


def create_app(*, stores: Iterable[tuple[str, str]] = (), rate_limit: tuple[int, int] = (150, 30000),
               unlimited: bool = False, apps: Iterable[tuple[str, str]] = ()) -> Starlette:
    state = BigCommerceState(rate_limit=tuple(rate_limit), unlimited=unlimited)
    for hash_, token in stores:
        state.create_store(hash_, token)
    for client_id, secret in apps:
        state.add_app(client_id, secret)
    app = Starlette(routes=routes)
    app.state.bc = state
    return app
