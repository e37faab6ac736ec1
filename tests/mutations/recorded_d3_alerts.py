"""D3 alert windows, recorded: the good run's alerts (tests/soak_checks/factory.py) edited the
way a broken report stage would have written them, in the manifest and in both daily reports
(so only the window logic can catch them, not the manifest-vs-report comparison).

The good run's windows (market s) and what each allows by the formula of
pytest_soak/checks/alert_windows.py (late = 10 + 0.2 x 30 + 60 = 76 s):
choppy 90-150 low_consistency fires 60..240 / resolves by 300; pause 210-330 no_data fires
240..420 / by 480; quiet 360-420 strong_ratio_collapse 360..540 / 600; store 450-570
export_failing 540..660 / 720; burst 600 data_drop 540..720 / 780.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.soak_checks.factory import E0, alert, ev, rewrite

from .catalogue import Mutation

HOLE = "D3 alert windows"
ALERT_FILES = ("run_manifest.json", "reports/jsonl/summary_20270115_080100.json",
               "reports/sqlite/summary_20270115_080100.json")


def _alerts(change: Callable[[list[dict]], None]) -> Callable[[Path], None]:
    """Apply `change` to the alerts list of the manifest and of every daily report."""
    def apply(run: Path) -> None:
        for rel in ALERT_FILES:
            rewrite(run, rel, lambda doc: change(doc["alerts"]))
    return apply


def _record(rule: str, fired_s: float, resolved_s: float | None) -> dict:
    return alert(rule, fired_s, resolved_s)


def _add(rule: str, fired_s: float, resolved_s: float | None) -> Callable[[Path], None]:
    return _alerts(lambda alerts: alerts.append(_record(rule, fired_s, resolved_s)))


def _retime(rule: str, fired_s: float, resolved_s: float | None) -> Callable[[Path], None]:
    def change(alerts: list[dict]) -> None:
        for i, a in enumerate(alerts):
            if a["rule"] == rule:
                alerts[i] = _record(rule, fired_s, resolved_s)
    return _alerts(change)


def _drop(rule: str) -> Callable[[Path], None]:
    return _alerts(lambda alerts: alerts.__setitem__(
        slice(None), [a for a in alerts if a["rule"] != rule]))


def _stamp(rule: str, fired_ms: int) -> Callable[[Path], None]:
    def change(alerts: list[dict]) -> None:
        for a in alerts:
            if a["rule"] == rule:
                a["fired_at_ms"] = fired_ms
    return _alerts(change)


def _silent_minute_in_the_sinks(run: Path) -> None:
    """no_data still held in minute 300-360 s: no signal in either sink (parity intact), while
    the alert claims the declared resolution at 360 s."""
    lo, hi = ev(300), ev(360)
    path = run / "sinks/signals.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)

    path.write_text("".join(line for line in lines
                            if not lo <= json.loads(line)["ts_ms"] < hi), encoding="utf-8")
    conn = sqlite3.connect(run / "sinks/signals.sqlite")
    conn.execute("DELETE FROM signals WHERE ts_ms >= ? AND ts_ms < ?", (lo, hi))
    conn.commit()
    conn.close()


def _ratio_above_one(alerts: list[dict]) -> None:
    alerts[0]["details"]["drop_ratio"] = 1.4      # a key the schema leaves open


def _lose_from_reports(run: Path) -> None:
    for rel in ALERT_FILES[1:]:
        rewrite(run, rel, lambda doc: doc["alerts"].pop())


def _no_config(run: Path) -> None:
    (run / "harness/pipeline_config.yaml").unlink()


def _m(name: str, apply: Callable[[Path], None], *fails: tuple[str, str],
       disguise: str = "wrong", unknown_ok: bool = False) -> Mutation:
    return Mutation(name, "recorded", fails, disguise=disguise, hole=HOLE, apply=apply,
                    unknown_ok=unknown_ok)


assert E0 % 60_000 == 0      # the factory's minutes start on minute boundaries

MUTATIONS = [
    _m("no_data fires in the store outage (a fault expecting only export_failing)",
       _add("no_data", 540, 600), ("D3", "no stray alerts")),
    _m("low_consistency fires twice in the choppy window (flap)",
       _add("low_consistency", 180, 240), ("D3", "no flapping"), ("D3", "low_consistency")),
    _m("no_data resolves three minutes after the pause (formula: by 480 s)",
       _retime("no_data", 300, 540), ("D3", "no_data"), ("D3", "no stray alerts")),
    _m("export_failing claimed for the store window itself, on minute ends, before its 3 "
       "hold minutes could pass", _retime("export_failing", 480, 540),
       ("D3", "export_failing"), ("D3", "no stray alerts"), disguise="declared"),
    _m("no_data claimed resolved on time while the sinks show the minute still silent",
       _silent_minute_in_the_sinks, ("D3", "no_data"), disguise="declared"),
    _m("strong_ratio_collapse never fires in the quiet regime", _drop("strong_ratio_collapse"),
       ("D3", "strong_ratio_collapse")),
    _m("data_drop stamped 10 s after a minute end", _stamp("data_drop", ev(610)),
       ("D3", "data_drop")),
    _m("a ratio above one in an alert's details", _alerts(_ratio_above_one),
       ("D3", "ratios in [0,1]")),
    _m("the daily reports lose the last alert", _lose_from_reports, ("D3", "in daily reports")),
    _m("the declared rule config is missing", _no_config, ("D3", "no stray alerts"),
       ("D3", "no flapping"), ("D3", "no_data"), disguise="absent", unknown_ok=True),
]
