"""A real RQ worker on a real Redis: the events queue is drained before imports."""

from rq import Queue
from rq.job import Job

from workers.jobs import maintenance
from workers.queues import EVENTS, IMPORTS, queue, queues
from workers.worker import run_worker


def test_worker_drains_events_before_imports(redis_conn):
    assert [q.name for q in queues(redis_conn)] == [EVENTS, IMPORTS]
    imported = queue(redis_conn, IMPORTS).enqueue(maintenance.ping, "import")
    event = queue(redis_conn, EVENTS).enqueue(maintenance.ping, "event")
    run_worker(redis_conn, burst=True)
    imported, event = Job.fetch(imported.id, connection=redis_conn), Job.fetch(event.id, connection=redis_conn)
    assert event.return_value() == "event" and imported.return_value() == "import"
    assert event.ended_at <= imported.started_at
    assert Queue(EVENTS, connection=redis_conn).count == 0
