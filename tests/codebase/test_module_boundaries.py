"""service/ never imports workers/ (the CLI aside) nor sandbox/ (issue 8): it enqueues jobs by dotted name,
and a worker runs them."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (imports inside functions count too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            else:
                found.add(node.module or "")
    return found


def test_service_imports_neither_workers_nor_sandbox():
    files = sorted((REPO / "service").rglob("*.py"))
    assert len(files) > 20  # the walk really sees the package
    offending = []
    for path in files:
        rel = path.relative_to(REPO).as_posix()
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top == "sandbox" or (top == "workers" and rel != "service/cli.py"):
                offending.append(f"{rel} imports {module}")
    assert offending == []


def test_service_enqueues_by_dotted_name_and_a_worker_runs_it(redis_conn):
    from rq.job import Job

    import workers.queues
    from service.queues import IMPORTS, enqueue
    from workers.worker import run_worker

    assert workers.queues.enqueue is enqueue  # one implementation, re-exported for the workers
    job = enqueue(redis_conn, IMPORTS, "workers.jobs.maintenance.ping", "pong", tenant="t1", job_timeout=30)
    run_worker(redis_conn, burst=True)
    job = Job.fetch(job.id, connection=redis_conn)
    assert job.return_value() == "pong" and job.meta["tenant"] == "t1" and job.timeout == 30
