"""How long a `--burst` worker takes to exit on empty queues: RQ's own Worker against the connector's.

    .venv/bin/python bench/worker_exit.py --runs 30

RQ's teardown stops its pubsub thread; redis-py 8 joins that thread without a bound, and a thread that
already read the unsubscribe reply waits RQ's 60 s for a new subscription. workers/worker.py bounds the wait
(`_StopsPromptly`). Each run is its own process (a fresh worker), on `REDIS_URL` or an embedded Redis.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.redis_conn import EmbeddedRedis  # noqa: E402

ONE_RUN = """
import sys, time, redis
from rq import Queue, Worker
from workers.worker import ForkingWorker
conn = redis.Redis.from_url(sys.argv[2])
cls = Worker if sys.argv[1] == "rq" else ForkingWorker
began = time.monotonic()
cls([Queue("bench-worker-exit", connection=conn)], connection=conn).work(burst=True, logging_level="WARNING",
                                                                        with_scheduler=False)
print(f"{time.monotonic() - began:.2f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    embedded = None
    url = os.environ.get("REDIS_URL")
    if not url:
        embedded = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="bench-worker-exit-")))
        url = embedded.start()
    try:
        for kind in ("rq", "connector"):
            times = []
            for _ in range(args.runs):
                done = subprocess.run([sys.executable, "-c", ONE_RUN, kind, url], cwd=ROOT, capture_output=True,
                                      text=True, timeout=180, check=True)
                times.append(float(done.stdout.split()[-1]))
            slow = [t for t in times if t > 10]
            print(f"{kind:<10} {args.runs} burst exits: median {sorted(times)[len(times) // 2]:.2f} s, "
                  f"max {max(times):.2f} s, over 10 s: {len(slow)}", flush=True)
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
