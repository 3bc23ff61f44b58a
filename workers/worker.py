"""The worker process: RQ on the queues `events` then `imports` (or only the ones named).

RQ's scheduler is off: a thread of every long-running worker moves the due scheduled jobs of its queues
each second (`service.queues.enqueue_due`), so retries, watchdogs, schedule ticks and event retries never
wait for a scheduler lock that a killed worker's scheduler still holds (RQ 3.0 asks for it again only
every 10 minutes). A worker that starts moves what fell due while none ran, at once."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import redis
from rq import SimpleWorker, Worker

from service.children import die_with_parent
from service.crypto import SecretBox
from service.settings import load_settings
from service.store import Store
from workers.jobs.schedules import rearm_schedules
from workers.queues import EVENTS, enqueue_due, queues

log = logging.getLogger("connector.worker")

DUE_INTERVAL = 1.0  # seconds between two looks for due scheduled jobs (RQ's scheduler looks every second)


class _StopsPromptly:
    """RQ's `unsubscribe`, with the wait for its pubsub thread bounded as RQ meant it (1 s): redis-py 8's
    `PubSubWorkerThread.stop()` joins the thread without a timeout, and a thread that read the unsubscribe
    reply before `stop()` waits out RQ's 60 s for a new subscription, so about one SIGTERM in ten kept a
    worker alive for a minute (`connector run` and the demo kill it after 20 and 15 s)."""

    def unsubscribe(self) -> None:
        if self.pubsub_thread:
            self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
            self.pubsub.unsubscribe()
            try:
                self.pubsub_thread.stop(timeout=1)
            except TypeError:  # redis-py before 8: stop() does not wait at all
                self.pubsub_thread.stop()
                self.pubsub_thread.join(timeout=1)
            self.pubsub.close()


class EventsWorker(_StopsPromptly, SimpleWorker):
    """RQ's SimpleWorker (jobs in the worker's own process), stopping promptly."""


class ForkingWorker(_StopsPromptly, Worker):
    """RQ's worker, whose work horses die with it (SIGKILL from the kernel, service/children.py): a horse
    outliving a killed worker would go on with its job unwatched, and outlive `connector run` and
    `connector demo` when they are killed. Its page is redone from the checkpoint, as after any crash."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._worker_pid = os.getpid()

    def main_work_horse(self, job, queue) -> None:  # the horse, just forked
        die_with_parent(signal.SIGKILL, self._worker_pid)
        super().main_work_horse(job, queue)


def _store(conn: redis.Redis) -> Store:
    settings = load_settings()
    return Store(conn, SecretBox(settings.secret_key, settings.secret_key_fallbacks))


def _warm_up() -> None:
    """What every job process would otherwise build again after RQ forks it: the modules the jobs import
    lazily and the TLS context (each page job would pay ~0.1 s of CPU for them)."""
    import service.sync_context  # noqa: F401
    import service.transform.product  # noqa: F401
    import workers.jobs.cleanup  # noqa: F401
    import workers.jobs.events  # noqa: F401
    import workers.jobs.imports  # noqa: F401
    import workers.sync.dirty  # noqa: F401
    from service.net import tls_context

    tls_context()


def run_worker(conn: redis.Redis, *, burst: bool = False, name: str | None = None,
               queue_names: list[str] | None = None) -> bool:
    chosen = [q for q in queues(conn) if not queue_names or q.name in queue_names]
    # an events-only worker runs its jobs in its own process: event jobs are many and short (tenants take
    # turns, workers.jobs.events), and a fork per job cost ~20 ms of CPU each
    worker_class = EventsWorker if [q.name for q in chosen] == [EVENTS] else ForkingWorker
    _warm_up()
    worker = worker_class(chosen, connection=conn, name=name)
    names = [q.name for q in chosen]
    enqueue_due(conn, names)  # what fell due while no worker ran
    rearm_schedules(conn)  # a tick lost with a killed worker must not end a tenant's schedule
    store = _store(conn)
    _recover(conn, store)
    if not burst:
        threading.Thread(target=_move_due, args=(conn, names), daemon=True, name="connector-due").start()
        threading.Thread(target=_watch, args=(conn, store), daemon=True, name="connector-watch").start()
    log.info("worker started", extra={"queues": names, "burst": burst})
    return worker.work(burst=burst, logging_level=logging.getLevelName(logging.getLogger().level),
                       with_scheduler=False)


def _move_due(conn: redis.Redis, names: list[str]) -> None:
    """Every DUE_INTERVAL, while the worker lives: the scheduled jobs whose time has come go to their queue."""
    failing = False
    while True:
        time.sleep(DUE_INTERVAL)
        try:
            enqueue_due(conn, names)
            failing = False
        except Exception:  # Redis away (a restart): the next look moves them; say so once per outage
            if not failing:
                log.warning("moving due scheduled jobs failed", exc_info=True)
            failing = True


def _recover(conn: redis.Redis, store: Store, *, again: bool = True) -> None:
    """Imports and event backlogs left by a dead worker go on. Those whose dead job still holds its lease
    are looked at again by a timer in this process once the lease has run out (a dead events job has no
    watchdog job that would look again)."""
    from workers.jobs.events import recover_events
    from workers.jobs.imports import lease_wait_ms, recover_imports

    recover_imports(conn)
    wait_ms = max(recover_events(conn, store), lease_wait_ms(conn))
    if wait_ms and again:
        timer = threading.Timer(wait_ms / 1000 + 0.3, _recover_quietly, args=(conn, store))
        timer.daemon = True
        timer.start()


def _watch(conn: redis.Redis, store: Store) -> None:
    """Every WATCH_INTERVAL, while the worker lives: the runs and event backlogs whose job died with
    another worker go on here, also when no watchdog job is armed for them (one that died with the
    worker, or a dead events job, which has none)."""
    from workers.jobs.events import recover_events
    from workers.jobs.imports import WATCH_INTERVAL, recover_imports

    while True:
        time.sleep(WATCH_INTERVAL)
        try:
            recover_imports(conn, schedule_busy=False)
            recover_events(conn, store, unflagged_only=True)
        except Exception:  # a failed look must not end the watch: the next one comes
            log.warning("watch look failed", exc_info=True)


def _recover_quietly(conn: redis.Redis, store: Store) -> None:
    try:
        _recover(conn, store, again=False)
    except Exception:  # the scheduled watchdogs remain; a failed look must not kill the worker's thread
        log.warning("recovery after the leases failed", exc_info=True)
