"""`connector run | web | worker`: the processes of the Procfile, and all of them at once."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

from service.children import dies_with_us
from service.logs import setup_logging
from service.queues import QUEUE_NAMES
from service.redis_conn import WORKER_RECONNECTS, EmbeddedRedis, connect, reachable
from service.settings import Settings, SettingsError, load_settings

log = logging.getLogger("connector.cli")


def _fail(message: str) -> int:
    print(f"connector: {message}", file=sys.stderr)
    return 2


def _redis_url(settings: Settings) -> tuple[str, EmbeddedRedis | None]:
    """The configured Redis (which must answer), or the embedded one under DATA_DIR."""
    if settings.redis_url:
        problem = reachable(settings.redis_url)
        if problem:
            raise SettingsError("REDIS_URL", problem)
        return settings.redis_url, None
    embedded = EmbeddedRedis(settings.data_dir)
    if embedded.running():
        return embedded.url, None
    return embedded.start(), embedded


@contextlib.contextmanager
def _redis(settings: Settings) -> Iterator[str]:
    """The Redis URL for a single process; an embedded Redis this process started stops with it."""
    url, embedded = _redis_url(settings)
    try:
        yield url
    finally:
        if embedded:
            embedded.stop()


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    with _redis(settings) as url:
        # X-Forwarded-* is trusted only from FORWARDED_ALLOW_IPS (uvicorn's own setting; default 127.0.0.1).
        uvicorn.run(create_app(settings, connect(url)), host=args.host, port=args.port or settings.port,
                    log_config=None, proxy_headers=True, access_log=False)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from workers.worker import run_worker

    with _redis(settings) as url:
        run_worker(connect(url, reconnects=WORKER_RECONNECTS), burst=args.burst, queue_names=args.queues)
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Redis (embedded unless REDIS_URL is set), the web app, a worker and an events-only worker; Ctrl-C,
    SIGTERM and SIGHUP (a closed terminal) stop them all, in order; killed otherwise (SIGKILL, a crash),
    this process takes them with it (service/children.py)."""
    url, embedded = _redis_url(settings)
    env = {**os.environ, "REDIS_URL": url, "DATA_DIR": str(settings.data_dir)}
    port = str(args.port or settings.port)
    base = [sys.executable, "-m", "service.cli"]
    children: list[subprocess.Popen] = []
    stopping = False

    def stop(signum: int, frame) -> None:  # noqa: ARG001
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)

    def spawn(*argv: str) -> subprocess.Popen:
        # Own sessions: Ctrl-C reaches only us, and we stop the children once, gracefully. Should we die
        # without doing so, the kernel kills them (nothing of theirs is lost: a page is redone).
        return subprocess.Popen([*base, *argv], env=env, start_new_session=True, preexec_fn=dies_with_us())
    try:
        children.append(spawn("web", "--host", args.host, "--port", port))
        children.append(spawn("worker"))
        # events never wait behind an import page: one worker serves nothing else
        children.append(spawn("worker", "--queues", "events"))
        log.info("connector running", extra={"url": f"http://{args.host}:{port}/", "redis": url.split("@")[-1]})
        while not stopping:
            if any(child.poll() is not None for child in children):
                log.error("a child process exited; stopping the others")
                break
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded:
            embedded.stop()
        log.info("connector stopped")
    return 0 if stopping else 1


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from service.demo import run_demo

    return run_demo(settings, args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="connector", description="Akeneo PIM → BigCommerce connector")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_text in (("run", "Redis (embedded by default), web, a worker and an events worker together"),
                            ("web", "the web app under uvicorn"), ("worker", "one RQ worker")):
        cmd = sub.add_parser(name, help=help_text)
        if name in ("run", "web"):
            cmd.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
            cmd.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
        if name == "worker":
            cmd.add_argument("--burst", action="store_true", help="exit when the queues are empty")
            cmd.add_argument("--queues", nargs="+", choices=QUEUE_NAMES, default=None,
                             help="the queues to serve, in priority order (default: all: "
                                  f"{' '.join(QUEUE_NAMES)}); "
                                  "`--queues events` runs a worker that an import page never holds up")
    from service.demo import add_arguments

    add_arguments(sub.add_parser("demo", help="the whole job on sandboxes: import the icecat catalog into a "
                                              "sandbox store"))
    return p


COMMANDS = {"run": cmd_run, "web": cmd_web, "worker": cmd_worker, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging("INFO")  # before settings, so their own warnings come out structured too
    try:
        settings = load_settings()
        logging.getLogger().setLevel(settings.log_level)
        return COMMANDS[args.command](settings, args)
    except SettingsError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
