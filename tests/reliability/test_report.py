"""The reliability report: totals per section from the recorded findings, and its exit status."""

import json

from tests.reliability.report import main, report, totals


def _write(path, *findings):
    path.write_text("".join(json.dumps({"section": s, "name": n, "test": "t", "at": 0, "figures": f}) + "\n"
                            for s, n, f in findings))


def test_totals_sum_counts_and_keep_the_worst_p99(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    _write(out, ("faults", "worker killed", {"lost": 0, "duplicates": 0}),
           ("load", "webhooks", {"deliveries": 6300, "p99_ms": 21.5, "lost": 0, "duplicates": 0}),
           ("load", "fairness", {"deliveries": 12, "p99_ms": 40.0, "lost": 0}),
           ("hostile", "bodies", {"inputs": 500, "lost": 0}))
    assert main([str(out)]) == 0
    text = capsys.readouterr().out
    assert "faults survived: 1" in text and "webhooks: deliveries=6300" in text
    from tests.reliability.report import read
    t = totals(read(out))
    assert (t["findings"], t["deliveries"], t["inputs"], t["p99_ms"], t["lost"]) == (4, 6312, 500, 40.0, 0)
    assert "total    findings=4" in report(read(out))


def test_anything_lost_or_duplicated_or_nothing_recorded_fails(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    _write(out, ("load", "webhooks", {"deliveries": 10, "lost": 1, "duplicates": 0}))
    assert main([str(out)]) == 1
    _write(out, ("faults", "redis restarted", {"lost": 0, "duplicates": 2}))
    assert main([str(out)]) == 1
    assert main([str(tmp_path / "missing.jsonl")]) == 1
    capsys.readouterr()
