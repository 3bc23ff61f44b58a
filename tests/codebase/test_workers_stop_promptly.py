"""Every RQ worker the tests and benchmarks run is the connector's (workers/worker.py): RQ's own `Worker` and
`SimpleWorker` wait up to 60 s for their pubsub thread about one stop in ten (redis-py 8), which made two
tests take a minute now and then. Read from the source with `ast`; `Worker.all(...)` (a lookup) is fine."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RQ_WORKERS = {"Worker", "SimpleWorker"}


def rq_workers_made(root: Path = ROOT) -> list[str]:
    """`path:line` of every call that builds one of RQ's own workers imported from `rq` / `rq.worker`."""
    found = []
    for folder in ("tests", "bench", "scripts", "service", "workers"):
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            names = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                     and node.module in ("rq", "rq.worker") for alias in node.names if alias.name in RQ_WORKERS}
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_only_the_connectors_workers_run_jobs():
    # bench/worker_exit.py measures RQ's own worker against ours on purpose
    assert [place for place in rq_workers_made() if not place.startswith("bench/worker_exit.py")] == []


def test_the_check_sees_a_worker_made(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "from rq import Queue, SimpleWorker as W\nfrom rq import Worker\n"
        "W([Queue('q')]).work(burst=True)\nWorker.all(connection=None)\n")
    assert rq_workers_made(tmp_path) == ["tests/test_x.py:3"]
