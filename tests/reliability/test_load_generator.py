"""The load tests' generator (tests/reliability/load_env.send_paced) stops by itself when it cannot keep up (issue 18).

On a busy machine `test_200_deliveries_per_second_across_20_tenants` kept sending after 13 minutes: every
planned request became a task at once, hundreds queued in the client's pool, and their waiting counted as
the server's latency and their missing answers as the server's losses. Here a server much slower than the
plan (4 requests at a time, 0.5 s each: 8 a second, against 200 a second planned) must not make the
generator fall further behind: bounded concurrency, nothing sent after the plan's end, and what could not
be sent reported as the generator's shortfall, apart from what the server answered."""

from __future__ import annotations

import asyncio
import time

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.reliability.load_env import Request, send_paced
from tests.servers import serve

SECONDS, RATE, CONCURRENCY, MAX_LATE, TIMEOUT = 2.0, 200, 16, 0.5, 10.0


def slow_server() -> Starlette:
    busy = asyncio.Semaphore(4)
    seen = {"requests": 0}

    async def work(request):
        seen["requests"] += 1
        async with busy:  # a fault: the server does 4 requests at a time, 0.5 s each
            await asyncio.sleep(0.5)
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/work/{n}", work, methods=["POST"])])
    app.state.seen = seen
    return app


def test_a_generator_behind_its_plan_stops_on_time_and_reports_its_shortfall():
    plan = [Request(n / RATE, "POST", f"/work/{n}", tag=n) for n in range(int(SECONDS * RATE))]
    app = slow_server()
    with serve(app) as base:
        started = time.monotonic()
        paced = asyncio.run(send_paced(base, plan, concurrency=CONCURRENCY, max_late=MAX_LATE, timeout=TIMEOUT))
        took = time.monotonic() - started
        received = app.state.seen["requests"]
    # stopped with the plan (+ its lateness allowance), then the answers of what was in flight (at most
    # CONCURRENCY requests, which this server answers within 16 / 8 = 2 s): far from the 50 s the plan
    # would take this server, or the client's timeouts piling up
    assert took < SECONDS + MAX_LATE + 4, took
    assert len(paced.answers) + len(paced.unsent) == len(plan)
    assert received == len(paced.answers) <= CONCURRENCY + 8 * (SECONDS + MAX_LATE) + 4  # never more in flight
    # what was sent was answered (200): the rest is the generator's shortfall, not the server's loss
    assert {a.status for a in paced.answers} == {200}
    assert len(paced.unsent) >= len(plan) - 60 and paced.shortfall > 0.8
    # latency counts from the send: at most the server's queue (16 in flight / 8 a second) + its 0.5 s
    assert max(a.ms for a in paced.answers) < 3000


def test_a_generator_that_keeps_up_sends_everything_on_time():
    plan = [Request(n / 100, "POST", f"/fast/{n}", tag=n) for n in range(100)]

    async def fast(request):
        return PlainTextResponse("ok")

    with serve(Starlette(routes=[Route("/fast/{n}", fast, methods=["POST"])])) as base:
        paced = asyncio.run(send_paced(base, plan, concurrency=CONCURRENCY))
    assert not paced.unsent and len(paced.answers) == 100 and {a.status for a in paced.answers} == {200}
    assert sorted(a.request.tag for a in paced.answers) == list(range(100))
    assert 1.0 <= paced.seconds < 3.0
