"""Every rule fires and resolves on crafted minute series, including the edges."""

from __future__ import annotations

import pytest

from orchestrator.config import section
from orchestrator.report.aggregates import MINUTE_MS, MinuteAggregate, MinuteAggregator
from orchestrator.report.alerts import AlertEngine
from pytest_soak_evidence.schemas import violations

T0 = 1_700_000_040_000 - 1_700_000_040_000 % MINUTE_MS


def minute(i: int, total: int = 100, strong: int = 30, low: int = 0) -> MinuteAggregate:
    gating = {"none": total - low} if total - low else {}
    if low:
        gating["low_consistency"] = low
    return MinuteAggregate("ALL", T0 + i * MINUTE_MS, total=total, confirm=total // 2,
                           strong=strong, low_consistency=low, gating=gating)


def make_engine(rules: dict | None = None) -> AlertEngine:
    """The configured rules (config/defaults.yaml), `rules` merged over them."""
    report = section({"report": {"alerts": rules or {}}}, "report")
    return AlertEngine(report["alerts"], tz=report["tz"])


def feed(engine: AlertEngine, minutes: list[MinuteAggregate], **kw) -> list[dict]:
    events = []
    for m in minutes:
        events += engine.on_minute(m, **kw)
    return events


def fired(engine: AlertEngine, rule: str) -> list[dict]:
    return [a for a in engine.alerts() if a["rule"] == rule]


def test_no_data_fires_after_two_zero_minutes_and_resolves():
    engine = make_engine()
    feed(engine, [minute(0), minute(1, total=0, strong=0)])
    assert fired(engine, "no_data") == []                   # one zero minute: pending only
    assert engine.states["no_data"].state == "pending"
    feed(engine, [minute(2, total=0, strong=0)])
    [alert] = fired(engine, "no_data")
    assert alert["level"] == "critical" and alert["state"] == "firing"
    assert alert["fired_at_ms"] == T0 + 3 * MINUTE_MS and alert["resolved_at"] is None
    feed(engine, [minute(3, total=0, strong=0), minute(4)])
    [alert] = fired(engine, "no_data")
    assert alert["state"] == "resolved" and alert["resolved_at_ms"] == T0 + 5 * MINUTE_MS
    assert alert["fired_at"].endswith("+09:00")             # Asia/Tokyo by default
    assert violations(engine.alerts(), "manifest/alerts") == []


def test_single_zero_minute_blip_does_not_fire_the_two_minute_rule():
    engine = make_engine()
    feed(engine, [minute(0), minute(1, total=0, strong=0), minute(2),
                  minute(3, total=0, strong=0), minute(4)])
    assert fired(engine, "no_data") == []
    assert engine.states["no_data"].state == "inactive"


def test_gap_in_minutes_closes_as_zero_minutes_and_fires_no_data():
    agg = MinuteAggregator(["BTCUSDT"], lateness_ms=0)
    engine = make_engine()
    agg.add({"ts_ms": T0 + 1_000, "symbol": "BTCUSDT", "row_id": "a"})
    agg.add({"ts_ms": T0 + 4 * MINUTE_MS + 5, "symbol": "BTCUSDT", "row_id": "b"})
    closed = agg.close_ready()
    assert [c.minute_ms for c in closed] == [T0 + i * MINUTE_MS for i in range(4)]
    assert [c.combined.total for c in closed] == [1, 0, 0, 0]
    for c in closed:
        engine.on_minute(c.combined)
    [alert] = fired(engine, "no_data")
    assert alert["fired_at_ms"] == T0 + 3 * MINUTE_MS       # second zero minute's end


def test_missing_minute_in_engine_input_resets_hold():
    engine = make_engine()
    feed(engine, [minute(0, total=0, strong=0), minute(2, total=0, strong=0)])
    assert fired(engine, "no_data") == []                   # not consecutive: no hold


def test_low_consistency_share_exactly_at_threshold_does_not_fire():
    engine = make_engine()
    feed(engine, [minute(0, low=80)])                       # 0.8 is not > 0.8
    assert fired(engine, "low_consistency") == []
    feed(engine, [minute(1, low=81)])
    [alert] = fired(engine, "low_consistency")
    assert alert["details"]["low_consistency_share"] == pytest.approx(0.81)
    feed(engine, [minute(2, low=79)])                       # one calm minute: still firing
    assert fired(engine, "low_consistency")[0]["state"] == "firing"
    feed(engine, [minute(3, low=10)])                       # two: resolved (no flapping)
    assert fired(engine, "low_consistency")[0]["state"] == "resolved"


def test_low_consistency_needs_min_signals():
    engine = make_engine({"low_consistency": {"min_signals": 10}})
    feed(engine, [minute(0, total=5, strong=0, low=5)])
    assert fired(engine, "low_consistency") == []


def test_strong_ratio_collapse_fires_and_resolves_with_frozen_baseline():
    engine = make_engine()
    feed(engine, [minute(i, strong=30) for i in range(5)])  # baseline median 0.30
    feed(engine, [minute(5, strong=15)])                    # exactly 0.5 x median: no
    assert fired(engine, "strong_ratio_collapse") == []
    feed(engine, [minute(6, strong=14)])                    # one collapsed minute: a blip
    assert fired(engine, "strong_ratio_collapse") == []
    feed(engine, [minute(7, strong=14)])                    # the second in a row fires
    [alert] = fired(engine, "strong_ratio_collapse")
    assert alert["details"]["baseline_median"] == pytest.approx(0.3)
    # a lasting collapse keeps firing: collapsed minutes never enter the baseline
    feed(engine, [minute(8 + i, strong=5) for i in range(6)])
    assert fired(engine, "strong_ratio_collapse")[0]["state"] == "firing"
    feed(engine, [minute(14, strong=28)])
    assert fired(engine, "strong_ratio_collapse")[0]["state"] == "resolved"
    assert len(fired(engine, "strong_ratio_collapse")) == 1


def test_strong_ratio_collapse_ignores_thin_minutes_and_short_baseline():
    engine = make_engine()
    feed(engine, [minute(0, strong=30), minute(1, strong=30)])
    feed(engine, [minute(2, strong=0)])                     # only 2 baseline minutes
    feed(engine, [minute(3, strong=30), minute(4, total=10, strong=0)])   # < min_signals
    assert fired(engine, "strong_ratio_collapse") == []


def test_export_failing_fires_after_three_minutes_and_resolves():
    engine = make_engine()
    feed(engine, [minute(0), minute(1)], export_failing=True)
    assert fired(engine, "export_failing") == []
    feed(engine, [minute(2)], export_failing=True)
    [alert] = fired(engine, "export_failing")
    assert alert["fired_at_ms"] == T0 + 3 * MINUTE_MS
    feed(engine, [minute(3)], export_failing=False)
    assert fired(engine, "export_failing")[0]["state"] == "resolved"


def test_export_failing_two_minutes_then_ok_does_not_fire():
    engine = make_engine()
    feed(engine, [minute(0), minute(1)], export_failing=True)
    feed(engine, [minute(2)], export_failing=False)
    feed(engine, [minute(3), minute(4)], export_failing=True)
    assert fired(engine, "export_failing") == []


def test_data_drop_fires_on_increase_and_resolves_when_it_stops():
    engine = make_engine()
    feed(engine, [minute(0), minute(1)], queue_dropped=0)
    assert fired(engine, "data_drop") == []
    feed(engine, [minute(2)], queue_dropped=7)
    [alert] = fired(engine, "data_drop")
    assert alert["details"]["increase"] == 7
    feed(engine, [minute(3)], queue_dropped=7)
    assert fired(engine, "data_drop")[0]["state"] == "resolved"
    feed(engine, [minute(4)], queue_dropped=None)           # harvest status missing: no alert
    assert len(fired(engine, "data_drop")) == 1


def test_rule_fires_again_after_resolving_and_state_survives_a_restart():
    engine = make_engine()
    feed(engine, [minute(0, total=0, strong=0), minute(1, total=0, strong=0), minute(2)])
    feed(engine, [minute(3, total=0, strong=0)])
    restored = make_engine()
    restored.load_state(engine.state_dict())
    feed(restored, [minute(4, total=0, strong=0)])
    alerts = fired(restored, "no_data")
    assert [a["state"] for a in alerts] == ["resolved", "firing"]
    assert violations(restored.alerts(), "manifest/alerts") == []


def test_schema_rejects_a_ratio_above_one():
    engine = make_engine()
    feed(engine, [minute(0, low=90)])
    doc = engine.alerts()
    doc[0]["details"]["low_consistency_share"] = 1.3
    assert any("low_consistency_share" in v for v in violations(doc, "manifest/alerts"))
