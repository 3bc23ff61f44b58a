"""Processes of the load tests: `connector web` under real uvicorn and `connector worker` processes, each
in its own session so a test can stop it whole; the load generator (`send_paced`); and the percentiles the
tests report.

The generator must never fall further behind when its own client is slow (a busy machine): at most
`concurrency` requests in flight (as many as its connection pool holds, so none waits inside the client), a
request not sent within `max_late` of its planned time is not sent at all, nothing is sent after the plan's
end + `max_late`, and what was left in flight is given the client's timeout, then cancelled. What could not
be sent on time is the generator's shortfall (`Paced.unsent`), never counted as the server's loss; latencies
are measured from the moment a request was sent, so time spent waiting in the generator is not in them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from rq import Worker

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("RELIABILITY_FULL") == "1"  # scripts/reliability: the full durations


def process_env(redis_url: str, data_dir: Path, secret: str, **extra: str) -> dict:
    return {**os.environ, "REDIS_URL": redis_url, "SECRET_KEY": secret, "DATA_DIR": str(data_dir),
            "LOG_LEVEL": "WARNING", "ALLOW_PRIVATE_URLS": "true", **extra}


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@contextlib.contextmanager
def web(env: dict) -> Iterator[str]:
    """`connector web` (uvicorn, one process) on a free port; yields its base URL once /healthz answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "web", "--port", str(port)], cwd=ROOT,
                            env={**env, "APP_URL": f"http://127.0.0.1:{port}"}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "connector web did not start"
            time.sleep(0.1)
        yield base
    finally:
        _stop(proc)


@contextlib.contextmanager
def workers(env: dict, count: int = 1, queues: Sequence[str] = ()) -> Iterator[list[subprocess.Popen]]:
    """`count` long-running `connector worker` processes (on `queues` only, when given)."""
    args = [sys.executable, "-m", "service.cli", "worker"] + (["--queues", *queues] if queues else [])
    procs = [subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            _stop(proc)


def wait_for_workers(conn: redis.Redis, count: int, timeout: float = 30) -> None:
    """Until `count` RQ workers have registered (they are ready to take jobs)."""
    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=conn)) < count:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Request:
    """One planned request: when (seconds from the start), what, and a tag the test reads back."""
    offset: float
    method: str
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    tag: Any = None


@dataclass(frozen=True)
class Answer:
    request: Request
    status: int  # 0: no answer within the client's timeout, or the connection failed
    ms: float  # from the moment it was sent to its answer
    late_ms: float  # how much later than planned the generator sent it


@dataclass
class Paced:
    answers: list[Answer]
    unsent: list[Request]  # the generator's shortfall: not sent on time (its client was behind), never sent
    seconds: float  # the generator's whole run, sending and waiting for answers

    @property
    def shortfall(self) -> float:
        total = len(self.answers) + len(self.unsent)
        return len(self.unsent) / total if total else 0.0


async def send_paced(base: str, plan: Sequence[Request], *, concurrency: int = 64, max_late: float = 0.5,
                     timeout: float = 10.0) -> Paced:
    """Send each planned request at its time, within the bounds the module's docstring states."""
    started_run = time.perf_counter()
    plan = sorted(plan, key=lambda r: r.offset)
    answers: list[Answer] = []
    unsent: list[Request] = []
    slots = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as client:
        async def one(request: Request, planned: float) -> None:
            sent = time.perf_counter()
            try:
                response = await client.request(request.method, request.path, **request.kwargs)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            finally:
                slots.release()
            answers.append(Answer(request, status, (time.perf_counter() - sent) * 1000, (sent - planned) * 1000))

        tasks: dict[asyncio.Task, Request] = {}
        t0 = time.perf_counter() + 0.2
        for request in plan:
            planned = t0 + request.offset
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            left = planned + max_late - time.perf_counter()
            if left <= 0:  # the generator itself is behind: skip, do not pile up
                unsent.append(request)
                continue
            if slots.locked():
                try:
                    await asyncio.wait_for(slots.acquire(), left)
                except TimeoutError:  # every slot busy until too late: the generator's shortfall
                    unsent.append(request)
                    continue
            else:
                await slots.acquire()
            tasks[asyncio.create_task(one(request, planned))] = request
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=timeout + 2)  # each request is bounded by `timeout`
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
            answers += [Answer(tasks[task], 0, (timeout + 2) * 1000, 0.0) for task in stuck]
    return Paced(answers, unsent, time.perf_counter() - started_run)
