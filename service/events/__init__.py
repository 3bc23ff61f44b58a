"""Change events from the PIM: signatures, payload formats, the acknowledgement policy and the one-click
Event Platform subscription. The webhook route is `service/web/webhooks.py`; the sync job is
`workers/jobs/events.py` (enqueued by name)."""
