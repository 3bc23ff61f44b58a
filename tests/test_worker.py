"""A real RQ worker on a real Redis: the events queue is drained before imports, imports before the
pages of long imports; an events-only worker serves nothing else."""

from rq import Queue
from rq.job import Job

from workers.jobs import maintenance
from workers.queues import EVENTS, IMPORTS, LONG_IMPORTS, queue, queues
from workers.worker import run_worker


def test_worker_drains_events_before_imports(redis_conn):
    assert [q.name for q in queues(redis_conn)] == [EVENTS, IMPORTS, LONG_IMPORTS]
    long = queue(redis_conn, LONG_IMPORTS).enqueue(maintenance.ping, "long")
    imported = queue(redis_conn, IMPORTS).enqueue(maintenance.ping, "import")
    event = queue(redis_conn, EVENTS).enqueue(maintenance.ping, "event")
    run_worker(redis_conn, burst=True)
    long, imported, event = (Job.fetch(j.id, connection=redis_conn) for j in (long, imported, event))
    assert event.return_value() == "event" and imported.return_value() == "import" and long.return_value() == "long"
    assert event.ended_at <= imported.started_at and imported.ended_at <= long.started_at
    assert Queue(EVENTS, connection=redis_conn).count == 0


def test_an_events_worker_serves_events_only(redis_conn):
    imported = queue(redis_conn, IMPORTS).enqueue(maintenance.ping, "import")
    event = queue(redis_conn, EVENTS).enqueue(maintenance.ping, "event")
    run_worker(redis_conn, burst=True, queue_names=[EVENTS])
    assert Job.fetch(event.id, connection=redis_conn).return_value() == "event"
    assert Job.fetch(imported.id, connection=redis_conn).get_status() == "queued"
