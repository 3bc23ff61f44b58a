"""The shared rate governor against a real Redis."""

from __future__ import annotations

import asyncio
import time

from service.store.rate_governor import RateGovernor


def headers(quota: int, left: int, reset_ms: int, window_ms: int) -> dict[str, str]:
    return {
        "X-Rate-Limit-Requests-Quota": str(quota),
        "X-Rate-Limit-Requests-Left": str(left),
        "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
        "X-Rate-Limit-Time-Window-Ms": str(window_ms),
    }


def grants(governor: RateGovernor, tries: int) -> int:
    return sum(1 for _ in range(tries) if governor.try_acquire()[0] == 0)


def test_grants_default_quota_then_asks_to_wait(redis_conn):
    governor = RateGovernor(redis_conn, "abc", default_quota=5, default_window_ms=60000)
    assert grants(governor, 8) == 5
    wait, _ = governor.try_acquire()
    assert 59000 < wait <= 60000 + 2000  # until the oldest grant leaves the window (plus margin)


def test_processes_share_one_count(redis_conn, redis_url):
    import redis

    first = RateGovernor(redis_conn, "abc", default_quota=6, default_window_ms=60000)
    second = RateGovernor(redis.Redis.from_url(redis_url), "abc", default_quota=6, default_window_ms=60000)
    assert grants(first, 4) == 4
    assert grants(second, 4) == 2
    other_store = RateGovernor(redis_conn, "xyz", default_quota=6, default_window_ms=60000)
    assert grants(other_store, 6) == 6


def test_quota_and_window_come_from_headers(redis_conn):
    governor = RateGovernor(redis_conn, "abc")  # defaults 150 / 30 s
    governor.observe(headers(quota=4, left=4, reset_ms=0, window_ms=60000), 200)
    assert grants(governor, 10) == 4
    state = governor.snapshot()
    assert (state["quota"], state["window"]) == (4, 60000)
    # another process starting later agrees at once
    assert grants(RateGovernor(redis_conn, "abc"), 3) == 0


def test_server_budget_limits_when_others_use_the_store(redis_conn):
    governor = RateGovernor(redis_conn, "abc")
    ticket = asyncio.run(governor.acquire())
    # another app spent most of the window: the server has 3 left for 20 s
    governor.observe(headers(quota=150, left=3, reset_ms=20000, window_ms=30000), 200, ticket=ticket)
    assert grants(governor, 10) == 3
    wait, _ = governor.try_acquire()
    assert 15000 < wait <= 20000


def test_unanswered_grants_count_against_the_server_budget(redis_conn):
    governor = RateGovernor(redis_conn, "abc")
    ticket = asyncio.run(governor.acquire())
    assert grants(governor, 4) == 4  # four more requests in flight when the first answer arrives
    governor.observe(headers(quota=150, left=6, reset_ms=20000, window_ms=30000), 200, ticket=ticket)
    assert grants(governor, 10) == 2


def test_late_answer_never_raises_the_budget(redis_conn):
    governor = RateGovernor(redis_conn, "abc")
    first = asyncio.run(governor.acquire())
    second = asyncio.run(governor.acquire())
    governor.observe(headers(quota=150, left=2, reset_ms=20000, window_ms=30000), 200, ticket=second)
    governor.observe(headers(quota=150, left=9, reset_ms=20000, window_ms=30000), 200, ticket=first)
    assert grants(governor, 10) == 2


def test_estimates_do_not_add_up_their_in_flight_errors(redis_conn):
    # Eight requests in flight; the server counted all of them before answering each. Every answer's
    # estimate (left minus later grants) is too low by the requests it already counted; a newer answer
    # replaces the estimate instead of lowering it further.
    governor = RateGovernor(redis_conn, "abc")
    tickets = [asyncio.run(governor.acquire()) for _ in range(8)]
    for ticket in tickets:
        governor.observe(headers(quota=150, left=142, reset_ms=20000, window_ms=30000), 200, ticket=ticket)
    assert grants(governor, 200) == 142


def test_429_pauses_every_process_until_reset(redis_conn):
    governor = RateGovernor(redis_conn, "abc")
    governor.observe(headers(quota=150, left=0, reset_ms=5000, window_ms=30000), 429)
    wait, _ = RateGovernor(redis_conn, "abc").try_acquire()
    assert 4000 < wait <= 5000
    assert governor.snapshot()["rejected"] == 1


def test_429_without_headers_still_backs_off(redis_conn):
    governor = RateGovernor(redis_conn, "abc")
    governor.observe({}, 429)
    wait, _ = governor.try_acquire()
    assert wait > 0


def test_keys_are_namespaced_and_expire(redis_conn):
    governor = RateGovernor(redis_conn, "abc")
    ticket = asyncio.run(governor.acquire())
    governor.observe(headers(quota=150, left=0, reset_ms=5000, window_ms=30000), 429, ticket=ticket)
    keys = [k.decode() for k in redis_conn.keys("*")]
    assert keys and all(k.startswith("bc:rate:abc:") for k in keys)
    assert all(redis_conn.pttl(k) > 0 for k in keys)


def test_acquire_waits_then_proceeds(redis_conn):
    governor = RateGovernor(redis_conn, "abc", default_quota=2, default_window_ms=200)

    async def burst() -> list[float]:
        times = []
        for _ in range(5):
            await governor.acquire()
            times.append(time.monotonic())
        return times

    times = asyncio.run(burst())
    # never more than 2 grants within any window (200 ms + the 100 ms margin; 10 ms for clock reads)
    for i in range(2, len(times)):
        assert times[i] - times[i - 2] >= 0.29


def test_headroom_counts_our_grants_the_server_budget_and_a_pause_without_taking_any(redis_conn):
    governor = RateGovernor(redis_conn, "abc", default_quota=10, default_window_ms=60000)
    assert governor.headroom() == (10, 10)
    assert grants(governor, 4) == 4
    assert governor.headroom() == (6, 10)
    assert governor.headroom() == (6, 10)  # reading it takes nothing
    ticket = asyncio.run(governor.acquire())
    governor.observe(headers(quota=10, left=2, reset_ms=20000, window_ms=60000), 200, ticket=ticket)
    assert governor.headroom() == (2, 10)  # another app spent most of the server's window
    governor.observe(headers(quota=10, left=0, reset_ms=5000, window_ms=60000), 429)
    assert governor.headroom() == (0, 10)
