"""End to end: the reference pipeline soaked over a real Binance USDⓈ-M capture (issue 13).

`pytest suites/soak --soak-recording fixtures/market/binance_usdm_20240808_45s.jsonl.gz` as a
user runs it (the reference pipeline from pyproject's ini, the kill_only schedule, 12 market
minutes: 16 loops of the 45 s capture, about 45 wall s at 30x). Run this test under
`flock /tmp/soak-helper.lock` (it runs a soak).

What must hold: every book in sync throughout (no resync, no gap, nothing dropped), signals
produced, and every DoD item passes except the ones that cannot on this data:
- D3 `no stray alerts`: the real market gates the reference signal `low_consistency` (its
  passive/trade flow agreement averages about 0.14, the threshold is 0.35: the threshold is
  calibrated on the generator, whose book flow follows its trades), so the pipeline rightly
  raises the market-driven low_consistency alert outside any fault window; the per-rule parts
  are unknown (kill_only induces no alert);
- D9 `backoff reset`: kill_only kills once, so the backoff's reset is not exercised;
- D12: passes only if a signal happens to be confirmed (nearly all are gated
  low_consistency: 2 of 26 644 in one run, none in another, when the outbox stays empty).
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
MUST_PASS = ("D1", "D2", "D4", "D5", "D6", "D7", "D8", "D10", "D11")
MARKET_RULES = ("low_consistency", "strong_ratio_collapse")   # the market can provoke these


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("soak_real")
    command = [sys.executable, "-m", "pytest", "suites/soak", "--soak-recording", str(REAL),
               "--soak-minutes", "12", "--soak-schedule", "kill_only", "-p", "no:cacheprovider",
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
    assert source["loops"] >= 16


@pytest.mark.slow
def test_the_dod_items_pass_but_those_this_market_cannot(run: Path) -> None:
    items = _json(run / "dod.json")["items"]
    assert {i: items[i]["status"] for i in MUST_PASS} == dict.fromkeys(MUST_PASS, "pass")
    not_passing = {p["name"] for p in items["D3"]["parts"] if p["status"] == "fail"}
    assert not_passing <= {"no stray alerts"}
    stray = next((p for p in items["D3"]["parts"] if p["name"] == "no stray alerts"), None)
    if stray and stray["status"] == "fail":
        strays = [w.split("@")[0] for w in stray["reason"].split() if "@" in w]
        assert strays and set(strays) <= set(MARKET_RULES), stray["reason"]
    assert {p["name"] for p in items["D9"]["parts"] if p["status"] != "pass"} <= {"backoff reset"}
    assert items["D9"]["status"] in ("pass", "unknown")
    assert items["D12"]["status"] in ("pass", "unknown")
