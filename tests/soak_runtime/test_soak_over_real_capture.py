"""End to end: the reference pipeline soaked over a real Binance USDⓈ-M capture (issue 13),
as a user runs it: `pytest suites/soak --soak-recording fixtures/market/binance_usdm_...gz
--soak-config fixtures/soak/reference_over_recording.yaml --soak-schedule restarts` (16
market minutes: 21 loops of the 45 s capture, about 35 wall s at 30x). Run this test under
`flock /tmp/soak-helper.lock` (it runs a soak).

What must hold: every book in sync throughout (no resync, no gap, nothing dropped), signals
produced, and every item the spec claims passes. The spec claims all but D3 and D12 (its
comments say why: on a recording an alert the market provokes is neither expected nor stray,
and on this market the broker may get no eligible signal); D3 itself is `unknown` when the
market-driven low_consistency alert fires outside every fault window, never a `fail`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_soak_evidence.carried import CHECKOUT_ROOT

REAL = CHECKOUT_ROOT / "fixtures" / "market" / "binance_usdm_20240808_45s.jsonl.gz"
SPEC = CHECKOUT_ROOT / "fixtures" / "soak" / "reference_over_recording.yaml"
CLAIMED = ("D1", "D2", "D4", "D5", "D6", "D7", "D8", "D9", "D10", "D11")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("soak_real")
    command = [sys.executable, "-m", "pytest", "suites/soak", "--soak-recording", str(REAL),
               "--soak-config", str(SPEC), "--soak-minutes", "16", "--soak-schedule",
               "restarts", "-p", "no:cacheprovider",
               "--soak-run-dir", str(parent), "--soak-keep", "-q"]
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT_ROOT)}
    done = subprocess.run(command, cwd=CHECKOUT_ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert "soak market: recording" in done.stdout, done.stdout[-3000:]
    runs = sorted(p for p in parent.iterdir() if (p / "dod.json").exists())
    assert len(runs) == 1, done.stdout[-3000:] + done.stderr[-2000:]
    return runs[0]


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_every_book_stays_in_sync_and_signals_are_produced(run: Path) -> None:
    harvest = _json(run / "run_manifest.json")["harvester_metrics"]
    for counter in ("resync_count", "queue_dropped", "malformed_count", "snapshot_errors",
                    "out_of_order_count", "substream_timeout_detected"):
        assert harvest[counter]["count"] == 0, counter
    assert harvest["books_in_sync"] == {"BTCUSDT": True, "ETHUSDT": True}
    ids = harvest["aggtrade_ids"]["BTCUSDT"]          # contiguous across 16 loops
    assert ids["count"] == ids["last"] - ids["first"] + 1 > 10_000
    signals = (run / "sinks" / "signals.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(signals) > 10_000
    source = _json(run / "harness_observations.json")["feed"]["source"]
    assert source["kind"] == "recording" and source["snapshots"] is True
    assert source["loops"] >= 21


@pytest.mark.slow
def test_every_claimed_item_passes_and_market_driven_alerts_are_never_called_strays(
        run: Path) -> None:
    dod = _json(run / "dod.json")
    items = dod["items"]
    assert {i: items[i]["status"] for i in CLAIMED} == dict.fromkeys(CLAIMED, "pass"), {
        i: items[i]["reason"] for i in CLAIMED if items[i]["status"] != "pass"}
    assert (dod["verdict"], dod["contract"]["claims"]) == ("pass", list(CLAIMED))
    assert items["D3"]["status"] == items["D12"]["status"] == "not_claimed"
    d9 = {p["name"] for p in items["D9"]["parts"]}
    assert {"backoff delays", "backoff reset", "new pid alive", "restart count"} <= d9
