"""Print the reliability suite's figures (test-output/reliability.jsonl, written by tests/reliability/figures.record).

`python -m tests.reliability.report [path]` prints one line per finding and the totals per section and
overall: faults survived (findings of section "faults"), deliveries held and their worst p99, inputs
tried, items lost and duplicates, and the load generators' shortfall (requests they could not send on time
on a busy machine: theirs, not the server's, so they never fail the report). Exit status 1 when anything
was lost or duplicated, or nothing was recorded (the suite did not run)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.reliability.figures import OUT

SECTIONS = ("faults", "load", "hostile")
SUMMED = ("lost", "duplicates", "inputs", "deliveries", "shortfall")


def read(path: Path = OUT) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def totals(findings: Iterable[dict]) -> dict:
    out = {"findings": 0, **dict.fromkeys(SUMMED, 0), "p99_ms": None}
    for f in findings:
        figures = f.get("figures", {})
        out["findings"] += 1
        for name in SUMMED:
            value = figures.get(name)
            if isinstance(value, int | float):
                out[name] += value
        p99 = figures.get("p99_ms")
        if isinstance(p99, int | float):
            out["p99_ms"] = p99 if out["p99_ms"] is None else max(out["p99_ms"], p99)
    return out


def _figures(figures: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(figures.items()))


def _total_line(label: str, t: dict) -> str:
    p99 = "-" if t["p99_ms"] is None else f"{t['p99_ms']:.1f} ms"
    return (f"{label:<8} findings={t['findings']:<4} deliveries={t['deliveries']:<7} worst p99={p99:<10} "
            f"inputs={t['inputs']:<7} lost={t['lost']} duplicates={t['duplicates']} "
            f"generator shortfall={t['shortfall']}")


def report(findings: list[dict]) -> str:
    lines = []
    for section in SECTIONS + tuple(sorted({f["section"] for f in findings} - set(SECTIONS))):
        mine = [f for f in findings if f["section"] == section]
        if not mine:
            continue
        lines.append(f"== {section}")
        lines += [f"  {f['name']}: {_figures(f.get('figures', {}))}" for f in mine]
    lines.append("")
    for section in SECTIONS:
        lines.append(_total_line(section, totals(f for f in findings if f["section"] == section)))
    lines.append(_total_line("total", totals(findings)))
    faults = sum(1 for f in findings if f["section"] == "faults")
    lines.append(f"faults survived: {faults}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else OUT
    findings = read(path)
    if not findings:
        print(f"no reliability figures in {path}", file=sys.stderr)
        return 1
    print(report(findings))
    t = totals(findings)
    return 1 if t["lost"] or t["duplicates"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
