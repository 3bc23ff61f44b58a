"""BigCommerce plans' REST API rate limits: what the sandbox store enforces and announces per plan.

Sources:
- "API rate limits", Rate limits by plan type (docs.bigcommerce.com, developer/docs/overview/api-fundamentals/
  rate-limits): Plus & Standard 20k per hour (150 / 30 s), Pro 60k per hour (450 / 30 s), Enterprise "by plan
  and resource"; the Unlimited Rate Plan (some Enterprise clients) "has no request rate limits".
- The Enterprise figure the same page gave until 2021: "Enterprise plans and Enterprise sandboxes: Unlimited
  (7mil / 30sec)" (bigcommerce/dev-docs pull request 1127). Today's page names no number; this is the only
  one BigCommerce published, so the sandbox's Enterprise plan enforces it.

Every answer carries the four `X-Rate-Limit-*` headers (the page's "Handle rate limit status codes"). A store
whose limit is lifted (the Unlimited Rate Plan, `--unlimited`) enforces nothing and announces the Enterprise
quota: a quota it really allows. Announcing Standard's 150 / 30 s there (as the sandbox did) made any client
that paces itself by the headers, as BigCommerce asks, run at Standard's speed on an "unlimited" store.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_MS = 30000  # the quota refreshes every 30 seconds on every plan


@dataclass(frozen=True)
class Plan:
    name: str
    quota: int  # requests per window
    window_ms: int = WINDOW_MS
    enforced: bool = True  # False: the Unlimited Rate Plan (no 429 for the request rate)

    def describe(self) -> str:
        limit = f"{self.quota:,} requests / {self.window_ms / 1000:g} s"
        return limit if self.enforced else f"no rate limit (announces {limit})"


PLANS: dict[str, Plan] = {
    "standard": Plan("standard", 150),
    "plus": Plan("plus", 150),
    "pro": Plan("pro", 450),
    "enterprise": Plan("enterprise", 7_000_000),
    "unlimited": Plan("unlimited", 7_000_000, enforced=False),
}
DEFAULT_PLAN = "standard"
LIFTED = PLANS["unlimited"]
# sandbox-only header on a lifted store's answers: says that the quota above is announced, not enforced
LIFTED_HEADER = "X-Sandbox-Rate-Limit"


def plan(name: str) -> Plan:
    try:
        return PLANS[name]
    except KeyError:
        raise ValueError(f"unknown plan {name!r}; one of {', '.join(PLANS)}") from None


def window(quota: int, window_ms: int, unlimited: bool) -> tuple[int, int]:
    """The quota and window a store announces: its own, or the lifted plan's when its limit is lifted."""
    if unlimited:
        return max(quota, LIFTED.quota), window_ms or LIFTED.window_ms
    return quota, window_ms
