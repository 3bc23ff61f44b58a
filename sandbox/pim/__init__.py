"""A strict simulator of the Akeneo PIM REST API serving the icecat demo catalog."""

from .app import create_app
from .catalog import DEFAULT_CATALOG, Catalog, load_catalog
from .signing import sign_event_platform, sign_events_api
from .state import PimState

__all__ = ["DEFAULT_CATALOG", "Catalog", "PimState", "create_app", "load_catalog", "sign_event_platform",
           "sign_events_api"]
