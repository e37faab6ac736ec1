"""The broker on a real outbox: events valid, one order per signal, retry and restart safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.broker.core import Broker, client_order_id
from orchestrator.broker.executor import PaperExecutor
from orchestrator.broker.retry import RetryPolicy
from pytest_soak_evidence.outbox import scan_ready
from tests.broker.broker_signals import BASE_TS_MS, make_signal, settings
from tests.outbox.contract_events import make_outbox


def _broker(root: Path, **overrides) -> Broker:
    return Broker(settings(**overrides), make_outbox(root), sleep=lambda _s: None)


def _by_event(root: Path) -> dict[str, list[dict]]:
    scan = scan_ready(root)
    assert scan.ok, scan.summary()
    out: dict[str, list[dict]] = {}
    for event in scan.events:
        out.setdefault(event["event"], []).append(event)
    return out


def test_a_confirmed_signal_becomes_one_submit_and_one_fill(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    signal = make_signal(1, mid_px=90000.05, spread_bps=0.0111)  # bid 90000.0 / ask 90000.1
    events = broker.handle(signal)
    broker.outbox.flush()
    assert [e["event"] for e in events] == ["submit", "fill"]
    fill = _by_event(tmp_path)["fill"][0]
    assert fill["client_order_id"] == client_order_id(signal)
    assert fill["signal_row_id"] == "BTCUSDT-1" and fill["event_ts_ms"] == signal["ts_ms"]
    assert (fill["px_intent"], fill["px_sent"], fill["px_fill"]) == (90000.05, 90000.1, 90000.1)
    assert fill["qty"] == fill["fill_qty"] == 0.011
    assert fill["rounding_diff"] == pytest.approx(0.011 - 1000 / 90000.05)
    assert fill["slippage_bps"] == pytest.approx(0.05 / 90000.05 * 1e4, abs=1e-4)
    assert fill["liquidity"] == "taker" and fill["fee"] == pytest.approx(0.011 * 90000.1 * 4e-4)
    assert 20 <= fill["latency_ms"] <= 50
    assert fill["ack_ts_ms"] == signal["ts_ms"] + round(fill["latency_ms"])
    assert broker.metrics.totals["submit_total"] == 1


def test_unconfirmed_signals_make_no_event_and_refusals_one_reject(tmp_path: Path) -> None:
    broker = _broker(tmp_path, throttle_orders_per_s=1)
    assert broker.handle(make_signal(1, confirm=False)) == []
    same_second = [make_signal(i, ts_ms=BASE_TS_MS + i) for i in range(2, 5)]
    results = [broker.handle(s) for s in same_second]
    assert [len(r) for r in results] == [2, 1, 1]
    assert [r[0]["reason"] for r in results[1:]] == ["throttled", "throttled"]
    warm = broker.handle(make_signal(9, gating="warmup", regime="warmup"))
    assert warm[0]["reason"] == "warmup" and warm[0]["warmup"] is True
    broker.outbox.flush()
    assert len(_by_event(tmp_path)["reject"]) == 3
    assert broker.metrics.totals["throttle_total"] == 2
    assert 'executor_throttle_total{symbol="BTCUSDT"} 2.0' in broker.metrics.exposition()


def test_a_transient_failure_is_retried_and_submits_once(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    venue: PaperExecutor = broker.executor
    venue.fail_next, venue.fail_after_accept = 2, 1  # two timeouts, then a lost answer
    events = broker.handle(make_signal(1))
    assert [e["event"] for e in events] == ["submit", "fill"]
    assert len(venue.orders) == 1 and broker.metrics.totals["retries"] == 3


def test_an_executor_that_keeps_failing_ends_in_one_reject(tmp_path: Path) -> None:
    broker = _broker(tmp_path, retry={"attempts": 3, "initial_delay_s": 0.01, "factor": 2,
                                      "max_delay_s": 0.1})
    broker.executor.fail_next = 10
    events = broker.handle(make_signal(1))
    assert [(e["event"], e["reason"]) for e in events] == [("submit", None),
                                                          ("reject", "executor_error")]
    assert RetryPolicy(4, 0.1, 2.0, 0.3).delays() == [0.1, 0.2, 0.3]


def test_a_restarted_broker_never_submits_a_signal_twice(tmp_path: Path) -> None:
    signals = [make_signal(i, side="buy" if i % 2 else "sell") for i in range(50)]
    first = _broker(tmp_path)
    for signal in signals[:30]:
        first.handle(signal)
    first.outbox.sync()  # "SIGKILL": never flushed; the part file stays in spool/
    del first
    second = _broker(tmp_path)  # recovers the spool, then reads what ready/ holds
    assert second.known_at_start == 30
    for signal in signals:  # the signals topic re-delivers everything after the commit
        second.handle(signal)
    second.outbox.close()
    events = _by_event(tmp_path)
    assert len(events["submit"]) == len(events["fill"]) == 50
    assert second.metrics.totals["duplicates_skipped"] == 30
    assert (second.written["submit"], second.written["fill"]) == (50, 50)  # cumulative


def test_an_order_with_only_its_submit_is_completed_without_a_second_submit(
        tmp_path: Path) -> None:
    signal = make_signal(7)
    first = _broker(tmp_path)
    submit = first.handle(signal)[0]
    first.outbox.close()
    ready = next((tmp_path / "ready").glob("*.jsonl"))
    ready.write_text(ready.read_text().splitlines()[0] + "\n")  # the fill was lost
    assert submit["event"] == "submit"
    second = _broker(tmp_path)
    assert [e["event"] for e in second.handle(signal)] == ["fill"]
    second.outbox.close()
    events = _by_event(tmp_path)
    assert (len(events["submit"]), len(events["fill"])) == (1, 1)
    assert second.metrics.totals["resumed_orders"] == 1


def test_a_malformed_signal_is_counted_and_survived(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    broker = _broker(tmp_path)
    assert broker.handle({"confirm": True, "side": "buy"}) == []
    assert broker.handle({"confirm": True, "symbol": "BTCUSDT", "row_id": "x", "ts_ms": "soon"}) \
        == []
    assert broker.handle(["not", "an", "object"]) == []
    assert len(broker.handle(make_signal(1))) == 2
    assert broker.malformed_signals == 3
    assert sum("malformed signal" in r.message for r in caplog.records) == 1


def test_an_event_that_breaks_the_contract_is_counted_not_written(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broker = _broker(tmp_path, validate_every_n=1)
    assert broker.handle(make_signal(1, scenario=5)) == []  # scenario must be a string
    broker.outbox.flush()
    assert broker.invalid_events == 2 and list((tmp_path / "ready").iterdir()) == []
    assert "executor_contract/v1" in caplog.text and "$.scenario" in caplog.text
