"""A strict simulator of the BigCommerce REST API (stores, catalog, login host) for tests and demos."""

from .app import create_app
from .state import DEFAULT_SCOPES, BigCommerceState, Store

__all__ = ["DEFAULT_SCOPES", "BigCommerceState", "Store", "create_app"]
