"""Bounds shared through Redis by every web process: PIM cookie checks, and capped once-only claims.

Each unknown PIM session cookie costs one request to the PIM (`GET {pim}/rest/user/`). So that random
cookies cannot turn the connector into a request amplifier against the PIM:

- a cookie the PIM refused is remembered for `REFUSAL_SECONDS` (under the SHA-256 fingerprint that
  already keys the positive cache: the cookie itself is never stored), so repeating it costs no call;
- each client address may make `CHECKS_PER_WINDOW` checks that reach the PIM per `WINDOW_SECONDS`
  (a fixed window from its first check, counted on Redis); past that, TooManyChecks.

Keys: `connector:pim-refused:{fingerprint}` and `connector:pim-checks:{client address}`, both with TTLs.

`claim_capped`: a replay guard (each signed token used once until it expires) in ONE sorted set per
owner (member: a digest, score: when it expires), holding at most `cap` claims: past it CapReached (429),
never an early forgetting (which would let a replay through). The callers own the keys.
The methods are blocking: async callers run them with `asyncio.to_thread`.
"""

from __future__ import annotations

import math
import time

import redis

PREFIX = "connector"
REFUSAL_SECONDS = 15  # short: a session cookie the PIM refused may be logged in a moment later
CHECKS_PER_WINDOW = 30  # a person needs about one per minute (positive answers are cached 60 s)
WINDOW_SECONDS = 60

# One round trip: a cookie refused moments ago is answered from memory and not charged; otherwise the
# client's budget is charged (and the window started on its first check).
_BEFORE_CHECK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {1, 0} end
local used = redis.call('INCR', KEYS[2])
if used == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
if used > tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]); ttl = tonumber(ARGV[2]) end
  return {0, ttl}
end
return {0, 0}
"""


# KEYS: the guard (zset); ARGV: member, now, expires at, cap. Returns {1 claimed | 0 already | -1 full, wait ms}.
_CLAIM = """
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {0, 0} end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {-1, math.ceil((tonumber(first[2]) - now) * 1000)}
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.ceil((tonumber(last[2]) - now) * 1000) + 1000)
return {1, 0}
"""


class CapReached(Exception):
    """A per-tenant bound is full for now; `retry_after` in whole seconds (sent as Retry-After with 429)."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"too many {what} for now; retry in {retry_after} s")
        self.retry_after = retry_after


def claim_capped(conn: redis.Redis, key: str, member: bytes | str, ttl: float, cap: int, *, what: str,
                 now: float | None = None) -> bool:
    """True the first time `member` is claimed in `key` (for `ttl` seconds), False when it already was;
    raises CapReached when `cap` claims are live."""
    now = time.time() if now is None else now
    claimed, wait_ms = conn.register_script(_CLAIM)(keys=[key], args=[member, f"{now:.3f}", f"{now + max(1.0, ttl):.3f}", cap])
    if int(claimed) < 0:
        raise CapReached(what, max(1, math.ceil(int(wait_ms) / 1000)))
    return bool(int(claimed))


class TooManyChecks(Exception):
    """This client address has used its PIM cookie checks for now; `retry_after` in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many PIM session checks from this address; retry in {retry_after} s")
        self.retry_after = retry_after


class PimCheckLimits:
    def __init__(self, conn: redis.Redis, *, checks: int = CHECKS_PER_WINDOW, window: int = WINDOW_SECONDS,
                 refusal_ttl: int = REFUSAL_SECONDS) -> None:
        self.redis = conn
        self.checks, self.window, self.refusal_ttl = checks, window, refusal_ttl
        self._before = conn.register_script(_BEFORE_CHECK)

    @staticmethod
    def _refused_key(fingerprint: str) -> str:
        return f"{PREFIX}:pim-refused:{fingerprint}"

    @staticmethod
    def _budget_key(client: str) -> str:
        return f"{PREFIX}:pim-checks:{client}"

    def before_check(self, fingerprint: str, client: str) -> bool:
        """True when the PIM refused this cookie moments ago (answer "nobody" without asking). Otherwise
        charges one check to `client` and returns False; raises TooManyChecks past the budget."""
        refused, wait_ms = self._before(keys=[self._refused_key(fingerprint), self._budget_key(client)],
                                        args=[self.checks, self.window * 1000])
        if refused:
            return True
        if wait_ms:
            raise TooManyChecks(max(1, math.ceil(int(wait_ms) / 1000)))
        return False

    def remember_refusal(self, fingerprint: str) -> None:
        self.redis.set(self._refused_key(fingerprint), "1", ex=self.refusal_ttl)
