"""`connector run` on no environment at all: embedded Redis, web and worker; state survives a restart."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import redis
from rq import Queue

from service.crypto import SecretBox
from service.redis_conn import EmbeddedRedis, connect
from service.settings import load_settings
from service.store import Store
from tests.faults_env import alive_with_env, descendants, kill_parent_alone
from tests.import_env import wait_for
from tests.servers import free_port


def start(tmp_path, port):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}  # nothing of ours: embedded defaults
    return subprocess.Popen([sys.executable, "-m", "service.cli", "run", "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_ready(base, proc, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return time.monotonic()
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"connector run not ready within {limit} s")


def stop(proc):
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    return output


def test_run_answers_and_keeps_state_across_restarts(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(tmp_path, port)
    started = time.monotonic()
    try:
        ready_at = wait_ready(base, proc)
        assert httpx.get(f"{base}/healthz").status_code == 200
        print(f"connector run ready after {ready_at - started:.2f} s")

        settings = load_settings({"DATA_DIR": str(tmp_path / "var")})
        embedded = EmbeddedRedis(settings.data_dir)
        store = Store(connect(embedded.url), SecretBox(settings.secret_key))
        tenant = store.create_tenant(pim_url="https://pim.example.com")
        store.put_credentials(tenant, "pim", {"secret": "kept-secret"})
        store.put_section(tenant, "main", {"locale": "en_US"})
    finally:
        output = stop(proc)
    assert "connector stopped" in output
    assert not EmbeddedRedis(tmp_path / "var").running(), "embedded Redis must stop with connector run"

    proc = start(tmp_path, port)
    try:
        wait_ready(base, proc)
        store = Store(connect(embedded.url), SecretBox(load_settings({"DATA_DIR": str(tmp_path / "var")}).secret_key))
        assert store.tenant_exists(tenant)
        assert store.get_credentials(tenant, "pim") == {"secret": "kept-secret"}
        assert store.get_section(tenant, "main") == {"locale": "en_US"}
    finally:
        stop(proc)


def test_a_killed_run_leaves_no_process_behind_and_frees_its_port(tmp_path):
    """Was (issue 18): `connector run` killed with SIGKILL (no handler runs) left Redis, the web app and
    both workers running. Every process it started, and the work horse of a running job, dies with it."""
    port = free_port()
    proc = start(tmp_path, port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, limit=30)
        conn = redis.Redis(unix_socket_path=str(tmp_path / "var" / "redis" / "redis.sock"))
        job = Queue("imports", connection=conn).enqueue("time.sleep", 120, job_timeout=300)  # a busy work horse
        wait_for(lambda: job.get_status(refresh=True) == "started", timeout=30, every=0.1)
        tree = descendants(proc.pid)
        assert len(tree) >= 5 and max(tree.values()) >= 2, tree  # Redis, web, 2 workers; the horse
    finally:
        took, left, answering = kill_parent_alone(proc, f"HOME={tmp_path}", [port])
    assert not left and not answering, f"{took:.1f} s after `connector run` was killed: {left}, port {answering}"
    print(f"{len(tree)} processes gone {took:.2f} s after `connector run` was killed")


def test_a_closed_terminal_stops_run_like_ctrl_c(tmp_path):
    """SIGHUP (its terminal closed) stops `connector run` as Ctrl-C does, children first, then Redis, in
    seconds: a worker's warm shutdown no longer waits a minute for its pubsub thread one time in ten."""
    port = free_port()
    proc = start(tmp_path, port)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, limit=30)
        tree = descendants(proc.pid)
    finally:
        hung_up = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        took = time.monotonic() - hung_up
        left = alive_with_env(f"HOME={tmp_path}")  # Redis aside (it rewrites its environment): checked below
        for pid in left:  # a failing test leaves nothing running
            os.kill(pid, signal.SIGKILL)
        redis_left = EmbeddedRedis(tmp_path / "var").running()
        if redis_left:
            redis.Redis(unix_socket_path=str(tmp_path / "var" / "redis" / "redis.sock")).shutdown(nosave=True)
        output = proc.stdout.read()  # the end of the output comes once every process holding it is gone
    assert proc.returncode == 0 and "connector stopped" in output, output[-2000:]
    assert took < 10, f"stopping took {took:.1f} s"
    assert not left and not redis_left and len(tree) >= 4, (left, tree)
