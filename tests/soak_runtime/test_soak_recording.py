"""--soak-recording: the option, the feed sidecar replaying it, what the harness says about it,
the market's handoff budget, and a regime fault on a recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_soak.fault_kinds import KINDS
from pytest_soak.fault_kinds.base import FaultContext
from pytest_soak.fault_kinds.regime import ON_RECORDING
from pytest_soak.market_source import market_line, scan_recording, stream_limit
from pytest_soak.replay_feed.recording import read_recording, write_recording
from pytest_soak.settings import SoakSettings, SoakUsageError
from pytest_soak.sidecars import FeedSidecar
from pytest_soak_evidence.carried import CHECKOUT_ROOT

REAL = CHECKOUT_ROOT / "fixtures" / "market" / "binance_usdm_20240808_45s.jsonl.gz"


def settings(**values: str) -> SoakSettings:
    return SoakSettings.from_values(values, root=CHECKOUT_ROOT)


def test_the_option_takes_a_file_and_names_itself_when_wrong(tmp_path: Path) -> None:
    assert settings(soak_recording=str(REAL)).recording == REAL
    assert settings().recording is None
    with pytest.raises(SoakUsageError, match=r"--soak-recording / soak_recording = .*no such"):
        settings(soak_recording=str(tmp_path / "missing.jsonl.gz"))
    with pytest.raises(SoakUsageError, match=r"--soak-recording .*needs --soak-feed replay"):
        settings(soak_recording=str(REAL), soak_feed="exchange")


@pytest.mark.parametrize("snapshots", [True, False], ids=["with-snapshots", "without"])
def test_the_sidecar_replays_it_looped_and_says_what_the_market_was(
        tmp_path: Path, snapshots: bool) -> None:
    path = REAL
    if not snapshots:
        path = tmp_path / "no_snapshots.jsonl.gz"
        write_recording(path, (r for r in read_recording(REAL) if "snapshot" not in r))
    feed = FeedSidecar(tmp_path, speed=30, seed=1, symbols=["BTCUSDT", "ETHUSDT"], live=False,
                       start_on="now", recording=path)
    assert feed.command()[3:6] == ["--recording", str(path), "--loop"]
    feed.start()
    try:
        assert feed.state()["source"]["kind"] == "recording"
    finally:
        feed.stop()
    source = feed.summary()["source"]
    assert source["kind"] == "recording" and source["file"] == str(path)
    assert source["snapshots"] is snapshots and source["loops"] >= 1
    if not snapshots:
        assert "no REST depth snapshots" in source["note"]
        assert "synthesises its book" in market_line(source, 10)
    assert "about 14 loops" in market_line(source, 10)


def test_the_stream_limit_follows_the_market() -> None:
    facts = scan_recording(REAL)
    assert 300 < facts.mean_per_s < 500            # two real symbols: far above the generator
    assert 150 < facts.stream_mean_per_s < 200     # its busiest stream: a bookTicker
    assert stream_limit(None) == 30
    assert stream_limit(REAL) >= max(2.6 * facts.stream_mean_per_s, facts.stream_busiest_s)
    # the real exchange's own flow is the real profile's: its bookTicker is not shed
    assert stream_limit(None, exchange=True) == 215 > facts.stream_mean_per_s


class _Feed:
    recording = REAL

    def control(self, *args: object) -> dict:
        raise AssertionError("a regime must not reach the feed of a recording")


def test_a_regime_on_a_recording_is_not_applied_and_says_why() -> None:
    ctx = FaultContext(feed=_Feed(), store=None, observer=None, read_status=None,
                       market_s=lambda: 0.0, event_ms=lambda: None)
    with pytest.raises(RuntimeError, match=ON_RECORDING):
        KINDS["regime"].plan_entry(None, ctx, 0.0)


def test_a_recording_lacking_a_pipeline_symbol_is_a_usage_error(tmp_path: Path) -> None:
    from pytest_soak.session import SoakSession
    btc_only = tmp_path / "btc.jsonl.gz"
    write_recording(btc_only, (r for r in read_recording(REAL)
                               if r.get("snapshot", r.get("stream", "")).lower()
                               .startswith("btc")))
    s = settings(soak_recording=str(btc_only), soak_schedule="none",
                 soak_config=str(CHECKOUT_ROOT / "fixtures/soak/reference_pipeline.yaml"),
                 soak_run_dir=str(tmp_path / "runs"))
    with pytest.raises(SoakUsageError, match=r"no stream of ETHUSDT, which the pipeline"):
        SoakSession(s, "jsonl")
    assert not (tmp_path / "runs").exists()
