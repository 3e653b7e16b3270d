"""`make bench ARGS=--quick` completes and writes every metric with sane types. No timing is
asserted here: benchmarks report numbers, tests check behaviour (docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def test_the_quick_benchmark_writes_every_metric(tmp_path):
    output = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(output.read_text())

    assert number(results["round_trip"]["p50_ms"])
    ack = results["ack"]
    assert ack["requests"] > 0 and number(ack["p50_ms"]) and ack["p50_ms"] <= ack["p99_ms"]
    for part in ("card", "all_steps"):
        floor = results["end_to_end"][part]
        assert floor["round_trips"] >= 1 and number(floor["floor_ms"])
        assert number(floor["ratio_p50"]) and number(floor["ratio_p99"])
        assert isinstance(floor["met"], bool)
    calls = results["devops_calls"]
    assert number(calls["per_intake_mean"]) and calls["by_call"]
    click = results["card_click"]
    assert click["available"] is False or (number(click["p50_ms"]) and number(click["p99_ms"]))
    if click["available"] is not False:
        assert number(click["everyone"]["p50_ms"]) and number(click["everyone"]["p99_ms"])
    burst = results["burst"]
    assert burst["accepted"] == burst["submissions"] and number(burst["throughput_per_s"])
    # Behaviour, not timing: under injected faults nothing is lost and nothing happens twice.
    assert burst["faults_injected"] > 0
    assert burst["lost"] == 0 and burst["duplicates"] == 0
    cold = results["import"]
    assert number(cold["import_ms"]) and number(cold["python_pass_ms"]) and number(cold["ratio"])
    sla = results["sla"]
    # Behaviour: one query and one read per changed item, never a call per open request
    # (and the two reads of the sprints Create PBI offers, at most every 30 minutes).
    assert sla["devops_calls_by_call"] == {
        "wiql changed since": 1,
        "updates": sla["changed"],
        "sprints": 2,
    }
    assert sla["refreshed"] == sla["changed"] and sla["digest_posts"] == 1
    assert number(sla["run_ms"]) and number(sla["ratio"]) and number(sla["clocks_cpu_ms"])
    assert set(results["targets_met"]) == {
        "sla",
        "ack",
        "end_to_end",
        "devops_calls",
        "card_click",
        "burst",
        "import",
    }
