"""Backoff shared by the platform clients: exponential with full jitter, honouring Retry-After."""

from __future__ import annotations

import email.utils
import random
import time

# Statuses worth another attempt: timeouts, rate limits and transient server errors.
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


def backoff_delay(
    attempt: int, *, base: float = 0.5, cap: float = 30.0, retry_after: float | None = None
) -> float:
    """Seconds to wait before retry number `attempt` (1 = the first retry).

    Full jitter (uniform in [0, min(cap, base * 2**(attempt-1))]) spreads clients apart; a server's
    Retry-After is a floor we honour as given (capped only by `cap`, so a bogus value cannot stall us).
    """
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    delay = random.uniform(0, ceiling)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, cap))
    return delay


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)
