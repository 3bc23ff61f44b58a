"""The sandbox store's plans (sandbox/bigcommerce/plans.py): each plan's documented quota, enforced and
announced; a lifted limit announces a quota it really allows, so a client pacing itself by the headers
(the connector's RateGovernor) is not held to Standard's 150 / 30 s on an "unlimited" store."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import httpx
import pytest

from sandbox.bigcommerce import create_app
from sandbox.bigcommerce.plans import PLANS
from service.store.rate_governor import RateGovernor
from tests.servers import free_port, serve


def _store(app) -> str:
    hash_ = "p" + uuid.uuid4().hex[:9]
    app.state.bc.create_store(hash_, "tok-" + hash_)
    return hash_


def _client(base: str, hash_: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/stores/{hash_}", headers={"X-Auth-Token": "tok-" + hash_}, timeout=30)


@pytest.mark.parametrize(("name", "quota"), [("standard", 150), ("plus", 150), ("pro", 450),
                                             ("enterprise", 7_000_000), ("unlimited", 7_000_000)])
def test_each_plan_announces_its_documented_quota(name, quota):
    app = create_app()
    with serve(app) as base:
        hash_ = _store(app)
        answer = httpx.put(f"{base}/sandbox/stores/{hash_}/rate-limit", json={"plan": name})
        assert answer.status_code == 200
        with _client(base, hash_) as c:
            headers = c.get("/v2/time").headers
    assert headers["X-Rate-Limit-Requests-Quota"] == str(quota)
    assert headers["X-Rate-Limit-Time-Window-Ms"] == "30000"
    assert int(headers["X-Rate-Limit-Requests-Left"]) == quota - 1
    assert ("X-Sandbox-Rate-Limit" in headers) == (name == "unlimited")


def test_the_standard_plan_refuses_the_151st_request_of_a_window():
    app = create_app()  # Standard by default
    with serve(app) as base:
        hash_ = _store(app)
        with _client(base, hash_) as c:
            statuses = [c.get("/v2/time").status_code for _ in range(151)]
    assert statuses.count(200) == 150 and statuses[-1] == 429


def test_an_unlimited_store_announces_a_quota_it_really_allows(redis_conn):
    """Was: `--unlimited` answered every request with Standard's headers (quota 150, left 0 after 150), and
    the governor, rightly believing them, held the 151st request for the next window: the demo's quick run
    went at 150 requests / 30 s (218 s for icecat)."""
    app = create_app(unlimited=True)
    governor = RateGovernor(redis_conn, "lifted")
    with serve(app) as base:
        hash_ = _store(app)
        with _client(base, hash_) as c:
            for _ in range(400):
                wait, ticket = governor.try_acquire()
                assert wait == 0, "the governor holds a request on an unlimited store"
                answer = c.get("/v2/time")
                assert answer.status_code == 200
                governor.observe(answer.headers, answer.status_code, ticket=ticket)
    assert int(answer.headers["X-Rate-Limit-Requests-Left"]) >= PLANS["unlimited"].quota - 400


def test_lifting_a_limit_later_also_lifts_what_the_store_announces():
    app = create_app()
    with serve(app) as base:
        hash_ = _store(app)
        app.state.bc.set_rate_limit(hash_, 1, 60000, unlimited=True)
        with _client(base, hash_) as c:
            answers = [c.get("/v2/time") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert int(answers[-1].headers["X-Rate-Limit-Requests-Left"]) > 1000


def test_an_unknown_plan_is_refused():
    app = create_app()
    with serve(app) as base:
        hash_ = _store(app)
        answer = httpx.put(f"{base}/sandbox/stores/{hash_}/rate-limit", json={"plan": "gold"})
    assert answer.status_code == 400 and "unknown plan" in answer.text


def test_the_command_line_takes_a_plan_and_says_which():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.bigcommerce", "--port", str(port), "--plan", "pro",
                             "--store", "cli:tok"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert "pro plan, 450 requests / 30 s" in lines[2], lines
        for _ in range(200):  # the banner comes just before uvicorn binds the port
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/stores/cli/v2/time", headers={"X-Auth-Token": "tok"})
                break
            except httpx.ConnectError:
                assert proc.poll() is None, "the sandbox exited"
                time.sleep(0.05)
        assert answer.headers["X-Rate-Limit-Requests-Quota"] == "450"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_demo_starts_its_store_on_the_plan_asked_for():
    import argparse

    from service.demo import PLANS as DEMO_PLANS
    from service.demo import add_arguments, store_limit

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert store_limit(parser.parse_args([])) == ["--plan", "standard"]
    assert store_limit(parser.parse_args(["--unlimited"])) == ["--plan", "unlimited"]
    assert store_limit(parser.parse_args(["--plan", "pro"])) == ["--plan", "pro"]
    assert store_limit(parser.parse_args(["--rate-limit", "30/3000"])) == ["--rate-limit", "30/3000"]
    assert set(DEMO_PLANS) == set(PLANS)  # the demo offers every plan the sandbox knows
