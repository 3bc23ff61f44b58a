"""Bounds on PIM cookie checks, shared through Redis by every web process.

Each unknown PIM session cookie costs one request to the PIM (`GET {pim}/rest/user/`). So that random
cookies cannot turn the connector into a request amplifier against the PIM:

- a cookie the PIM refused is remembered for `REFUSAL_SECONDS` (under the SHA-256 fingerprint that
  already keys the positive cache: the cookie itself is never stored), so repeating it costs no call;
- each client address may make `CHECKS_PER_WINDOW` checks that reach the PIM per `WINDOW_SECONDS`
  (a fixed window from its first check, counted on Redis); past that, TooManyChecks.

Keys: `connector:pim-refused:{fingerprint}` and `connector:pim-checks:{client address}`, both with TTLs.
The methods are blocking: async callers run them with `asyncio.to_thread`.
"""

from __future__ import annotations

import math

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
