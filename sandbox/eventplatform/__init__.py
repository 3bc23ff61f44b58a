"""A sandbox of Akeneo's Event Platform (management API + signed CloudEvents delivery), mounted by the
sandbox PIM at `/event-platform` so the PIM's own changes feed it: `EVENT_PLATFORM_URL` =
`{sandbox PIM}/event-platform/api/v1`."""

from .platform import EventPlatform, Knobs
from .routes import ROUTES

__all__ = ["ROUTES", "EventPlatform", "Knobs"]
