"""Figures of the reliability suite (issue 13 [hardening]).

Tests marked `reliability` record what they survived with `record(section, name, **figures)`;
`scripts/reliability` runs them and prints the table (tests/reliability/report.py), which the
README's "Reliability" section quotes. Sections: "faults", "load", "hostile". Figure names that the
report sums: `lost`, `duplicates`, `inputs` (hostile inputs tried), `deliveries`, `shortfall` (requests a
load generator could not send on time); others (p99_ms, seconds, ...) are printed as they are.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

OUT = Path(os.environ.get("RELIABILITY_OUT", "test-output/reliability.jsonl"))


def record(section: str, name: str, **figures: float | int | str) -> None:
    """Append one finding (a fault survived, a load held, inputs tried) to the suite's figures."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    line = {"section": section, "name": name, "test": test, "at": time.time(), "figures": figures}
    with OUT.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")
