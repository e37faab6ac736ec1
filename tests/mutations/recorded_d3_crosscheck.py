"""D3's promtool cross-check, recorded: the report engine with its low_consistency threshold
at 70 % instead of 80 %.

The engine's output is derived, not hand-written: the real AlertEngine
(orchestrator/report/alerts.py), configured as config/defaults.yaml but for that threshold, is
fed the good run's sink rows through the report stage's own MinuteAggregator (closed minutes,
silent ones as zero, the cut-short last one left out, as the stage does), and its
low_consistency alerts replace the run's in the manifest and both daily reports -- what a
report stage so broken would have written (the other rules' state machines do not read the
threshold). The good run's minute 8 (480-540 s) has a share of 15/20 = 0.75: above 70 %, not
above 80 %, and far from the choppy minute, so the broken engine fires there alone (540 s,
resolved 660 s). The burst (600 s) tolerates low_consistency and its window's fire range
starts at 540 s, so D3's window sub-checks excuse that alert: only the shipped rules run over
the harness's rebuilt inputs catch it.

The same edit applies to a copy of any run folder (its JSONL sink, manifest and daily
reports): `python -m tests.mutations.recorded_d3_crosscheck <copy>`, then `python -m
pytest_soak judge <copy>` (a reference gate run with an isolated 0.76 minute fails the
cross-check there, naming it).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from orchestrator.report.aggregates import MinuteAggregator
from orchestrator.report.alerts import LOW_CONSISTENCY, AlertEngine
from tests.soak_checks.factory import rewrite

from .catalogue import Mutation

ROOT = Path(__file__).resolve().parents[2]


def engine_alerts(run: Path, threshold_share: float) -> list[dict]:
    """The low_consistency alerts the real engine writes for the run's sinks."""
    report = yaml.safe_load((ROOT / "config/defaults.yaml").read_text(encoding="utf-8"))["report"]
    rules = {name: dict(cfg) for name, cfg in report["alerts"].items()}
    rules[LOW_CONSISTENCY]["threshold_share"] = threshold_share
    engine = AlertEngine(rules, tz="Asia/Tokyo")
    lines = (run / "sinks/signals.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    aggregator = MinuteAggregator({r["symbol"] for r in rows},
                                  int(float(report["lateness_s"]) * 1000))
    for row in rows:
        aggregator.add(row)
    for minute in aggregator.close_all():
        if not minute.partial:
            engine.on_minute(minute.combined)
    return [a for a in engine.alerts() if a["rule"] == LOW_CONSISTENCY]


def _threshold_at(share: float):
    def apply(run: Path) -> None:
        mine = engine_alerts(run, share)
        reports = [str(p.relative_to(run)) for p in sorted(run.glob("reports/*/summary_*.json"))]
        for rel in ("run_manifest.json", *reports):
            rewrite(run, rel, lambda doc: doc.__setitem__("alerts", [
                a for a in doc["alerts"] if a["rule"] != LOW_CONSISTENCY] + mine))
    return apply


MUTATIONS = [
    Mutation("the engine's low_consistency threshold at 70 % instead of 80 % (a minute at "
             "75 % fires)", "recorded", (("D3", "promtool cross-check"),),
             apply=_threshold_at(0.7)),
]


if __name__ == "__main__":
    import sys
    _threshold_at(0.7)(Path(sys.argv[1]))
