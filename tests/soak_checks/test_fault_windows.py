"""The checks' windows come only from the recorded expects/tolerates of each fault: a
reconnect inside a feed pause is excused because pause_feed tolerates reconnect_count, and
the same reconnects inside a fault that does not tolerate it fail D7 (the LIVE 1x case:
harvest reopens a silent connection every 30 s of a 3.5-minute pause)."""

from __future__ import annotations

from pathlib import Path

from pytest_soak.checks import Thresholds, run_check
from pytest_soak.evidence_loader import RunEvidence

from .factory import counter, feed_connection, rewrite, wall

OBS, MAN = "harness_observations.json", "run_manifest.json"
REPORTS = [f"reports/{sink}/summary_20270115_080100.json" for sink in ("jsonl", "sqlite")]
# in the pause (210-330 s), after the kill's toleration (180 + 90 s): 4 > max_reconnects 3
PAUSE_RECONNECTS = [wall(280 + 15 * i) for i in range(4)]


def _d7(good_run_dir: Path):
    return run_check("D7", RunEvidence.load(good_run_dir, fresh=True), Thresholds())


def _tolerated_by_pause(counters: list[str]):
    def change(doc):
        pause = next(f for f in doc["faults"] if f["id"] == "pause")
        pause["tolerates"]["counters"] = counters
    return change


def _reconnects_in_pause(good_run_dir: Path) -> None:
    """harvest reopens a silent connection 4 times in the pause, and the feed sees each."""
    rewrite(good_run_dir, MAN, lambda doc: doc["harvester_metrics"].update(
        reconnect_count=counter(wall(61), wall(62), *PAUSE_RECONNECTS)))
    rewrite(good_run_dir, OBS, lambda doc: doc["feed"]["stats"]["connections"].extend(
        feed_connection(10 + i, "market", 270, 280 + 15 * i, "client", {}, 0)
        for i in range(4)))


def test_reconnects_in_a_pause_are_excused_because_pause_tolerates_them(good_run_dir: Path) -> None:
    _reconnects_in_pause(good_run_dir)
    result = _d7(good_run_dir)
    assert result.status == "pass", result.line()


def test_the_same_reconnects_fail_when_the_pause_does_not_tolerate_them(good_run_dir: Path) -> None:
    _reconnects_in_pause(good_run_dir)
    rewrite(good_run_dir, OBS, _tolerated_by_pause(["substream_timeout_detected"]))
    result = _d7(good_run_dir)
    assert result.status == "fail", result.line()
    assert "reconnect_count: 4 outside" in result.line()


def test_a_toleration_ends_for_s_after_its_window(good_run_dir: Path) -> None:
    late = wall(330 + 20)                                # 20 market s after the pause ended
    rewrite(good_run_dir, MAN, lambda doc: doc["harvester_metrics"].update(
        queue_dropped=counter(wall(600), late)))
    assert _d7(good_run_dir).status == "fail"                 # the pause tolerates no queue drop
    rewrite(good_run_dir, OBS, _tolerated_by_pause(["queue_dropped"]))
    assert _d7(good_run_dir).status == "pass"                 # for_s null: the 90 s settle
    rewrite(good_run_dir, OBS, lambda doc: next(f for f in doc["faults"] if f["id"] == "pause")[
        "tolerates"].update(for_s=10))
    assert _d7(good_run_dir).status == "fail"                 # 20 s > its 10 s


def test_an_expected_counter_that_never_moved_fails(good_run_dir: Path) -> None:
    """The drop expects reconnects: harvest never re-opens its connections (the feed's
    account: none opened after the drop), and reports none."""
    rewrite(good_run_dir, MAN, lambda doc: doc["harvester_metrics"].update(
        reconnect_count=counter()))
    rewrite(good_run_dir, OBS, lambda doc: doc["feed"]["stats"].update(
        connections=doc["feed"]["stats"]["connections"][:2]))
    result = _d7(good_run_dir)
    assert result.status == "fail" and "reconnect_count by drop" in result.line()


def test_reconnects_a_later_kill_of_harvest_wiped_are_the_feeds(good_run_dir: Path) -> None:
    """harvest's counters restart at zero in a new process: after a kill of harvest its
    reconnect_count no longer shows the drop's reconnects, but the feed saw them re-opened."""
    rewrite(good_run_dir, MAN, lambda doc: doc["harvester_metrics"].update(
        reconnect_count=counter()))
    rewrite(good_run_dir, OBS, lambda doc: doc["pids"]["harvest"].insert(0, {
        "pid": 999, "first_seen_ms": wall(-30), "last_seen_ms": wall(100),
        "exit_ms": wall(100)}))                       # harvest replaced after the drop
    result = _d7(good_run_dir)
    moved = [p for p in result.parts if p.item == "expected counter moved"
             and p.subject == "reconnect_count by drop"]
    assert [p.status for p in moved] == ["pass"], result.line()


def test_health_is_excused_only_for_the_stages_a_fault_tolerates(good_run_dir: Path) -> None:
    from .factory import health_polls, write_jsonl
    polls = health_polls()
    for poll in polls:                                  # harvest stale through the pause
        if 210 <= poll["market_s"] <= 330:
            poll["stages"]["harvest"] = False
    write_jsonl(good_run_dir / "observer/health.jsonl", polls)
    t = Thresholds()
    assert run_check("D2", RunEvidence.load(good_run_dir, fresh=True), t).status == "pass"
    rewrite(good_run_dir, OBS, lambda doc: next(f for f in doc["faults"] if f["id"] == "pause")[
        "tolerates"].update(health=["signal"]))
    assert run_check("D2", RunEvidence.load(good_run_dir, fresh=True), t).status == "fail"


def test_an_alert_is_no_stray_only_in_a_window_tolerating_its_rule(good_run_dir: Path) -> None:
    from .factory import alert
    extra = alert("data_drop", 300, 360)     # in the pause, on minute ends
    for rel in (MAN, *REPORTS):
        rewrite(good_run_dir, rel, lambda doc: doc["alerts"].insert(0, extra))
    t = Thresholds()
    result = run_check("D3", RunEvidence.load(good_run_dir, fresh=True), t)
    assert result.status == "fail" and "no stray alerts: 1 alert" in result.line()
    rewrite(good_run_dir, OBS, lambda doc: next(f for f in doc["faults"] if f["id"] == "pause")[
        "tolerates"].update(alerts=["data_drop"]))
    result = run_check("D3", RunEvidence.load(good_run_dir, fresh=True), t)
    assert _part(result, "no stray alerts").status == "pass", result.line()
    # the windows excuse it; the shipped rules over the rebuilt inputs do not fire it
    assert _part(result, "promtool cross-check").status == "fail", result.line()


def _part(result, name: str):
    return next(p for p in result.parts if p.item == name)


def _queue_depth_buckets(*buckets: list[int]):
    return lambda doc: doc["harvester_metrics"]["queue_depth"].update(buckets=list(buckets))


def test_a_full_queue_inside_the_burst_window_is_excused(good_run_dir: Path) -> None:
    part = _part(_d7(good_run_dir), "queue depth peak")
    assert part.status == "pass" and part.value == 40, part.line()


def test_a_queue_near_its_bound_outside_any_burst_fails_d7(good_run_dir: Path) -> None:
    # 300 of 1000 at wall 100 s: no fault tolerating queue pressure covers it (> 25 %)
    rewrite(good_run_dir, MAN, _queue_depth_buckets([wall(100), 300, wall(100)],
                                                [wall(600), 1000, wall(600)]))
    result = _d7(good_run_dir)
    part = _part(result, "queue depth peak")
    assert result.status == "fail" and part.status == "fail", result.line()
    assert part.value == 300 and part.threshold == 250


def test_no_queue_depth_record_is_unknown_never_a_pass(good_run_dir: Path) -> None:
    rewrite(good_run_dir, MAN, lambda doc: doc["harvester_metrics"].pop("queue_depth"))
    result = _d7(good_run_dir)
    assert result.status == "unknown" and _part(result, "queue depth peak").status == "unknown"
