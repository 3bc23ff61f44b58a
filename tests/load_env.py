"""Processes of the load tests: `connector web` under real uvicorn and `connector worker` processes, each
in its own session so a test can stop it whole; and the percentiles the tests report."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import redis
from rq import Worker

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
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
