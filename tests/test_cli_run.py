"""`connector run` on no environment at all: embedded Redis, web and worker; state survives a restart."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from service.crypto import SecretBox
from service.redis_conn import EmbeddedRedis, connect
from service.settings import load_settings
from service.store import Store
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
