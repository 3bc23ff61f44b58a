"""The Akeneo in-flight slots (service.store.leases.Slots) shared by every process of a connection: first
come, first served, and a freed slot goes to a waiter at once. The four slots are shared by the import's
page reads and the /media downloads BigCommerce makes during creates: neither may starve the other by
asking more often, and a slot must never sit idle while somebody waits for it."""

from __future__ import annotations

import asyncio

import redis

from service.store.leases import Slots


async def _in_line(conn: redis.Redis, line: str) -> None:
    """Until the waiting task has taken its place in line (it runs when this one yields)."""
    for _ in range(10000):
        if conn.zcard(line):
            return
        await asyncio.sleep(0)
    raise AssertionError("the waiter never took a place in line")


def test_a_freed_slot_goes_to_the_first_waiter_not_to_one_asking_later(redis_conn):
    """Was: every waiter polled, and whoever asked first after a give-back took the slot: a process asking
    more often (or luckier) could keep another waiting without end."""
    slots = Slots(redis_conn, "akeneo:fair", 1)
    assert slots.try_take("holder")
    assert not slots.try_take("page-read")  # waits: in line
    slots.give_back("holder")
    assert not slots.try_take("media-download")  # came later: behind the page's read
    assert slots.try_take("page-read")
    assert not slots.try_take("media-download")
    slots.give_back("page-read")
    assert slots.try_take("media-download")


def test_waiters_are_served_in_the_order_they_came(redis_conn):
    slots = Slots(redis_conn, "akeneo:order", 2)
    assert slots.try_take("a") and slots.try_take("b")
    line = ["w1", "w2", "w3", "w4"]
    assert not any(slots.try_take(w) for w in line)
    served = []
    for holder in ["a", "b", "w1", "w2"]:
        slots.give_back(holder)
        served += [w for w in line if w not in served and slots.try_take(w)]
    assert served == line


def test_a_give_back_from_another_process_wakes_the_waiter_at_once(redis_url):
    """Was: a waiter found a freed slot only at its next poll. Here its poll is an hour: only the wake-up
    of the give-back (another connection, as another process) can bring it the slot."""
    other = Slots(redis.Redis.from_url(redis_url), "akeneo:wake", 1)
    assert other.try_take("web-process")

    async def wait_for_slot() -> bool:
        slots = Slots(redis.Redis.from_url(redis_url), "akeneo:wake", 1, poll=3600)
        waiting = asyncio.create_task(slots.acquire())
        await _in_line(redis.Redis.from_url(redis_url), "connector:slotq:akeneo:wake")
        await asyncio.to_thread(other.give_back, "web-process")
        taken = await asyncio.wait_for(waiting, 30)  # bounds a failure; the wake-up comes in milliseconds
        slots.release()
        await slots.drain()
        return taken

    assert asyncio.run(wait_for_slot())
    assert other.in_use() == 0


def test_a_waiter_that_gives_up_leaves_the_line(redis_url):
    conn = redis.Redis.from_url(redis_url)
    slots = Slots(conn, "akeneo:cancel", 1)
    assert slots.try_take("holder")

    async def give_up() -> None:
        waiting = asyncio.create_task(slots.acquire())
        await _in_line(conn, "connector:slotq:akeneo:cancel")
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await slots.drain()

    asyncio.run(give_up())
    slots.give_back("holder")
    assert conn.zcard("connector:slotq:akeneo:cancel") == 0
    assert slots.try_take("next")  # nobody left ahead of it


def test_a_waiter_that_stopped_asking_does_not_hold_up_the_line(redis_conn):
    """A process killed while waiting keeps its place only until its waiter TTL runs out."""
    slots = Slots(redis_conn, "akeneo:dead", 1, poll=0.01, waiter_ttl_ms=1)
    assert slots.try_take("holder")
    assert not slots.try_take("killed-waiter")  # then never asks again
    slots.give_back("holder")
    redis_conn.zadd("connector:slotw:akeneo:dead", {"killed-waiter": 0})  # its expiry is long past
    assert slots.try_take("alive")
