"""The converter: a raw third-party Binance USDⓈ-M capture -> the project's recording format."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from pytest_soak.replay_feed.convert import convert
from pytest_soak.replay_feed.recording import read_recording

NS = 1_000_000
BASE = 1_723_161_255_000          # epoch ms: capture times are real ones


def capture(path: Path, lines: list[tuple[int, dict]]) -> Path:
    """A capture in the hftbacktest collector's line format: `<recv ns> <json>` (gzip)."""
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for recv_ms, doc in lines:
            fh.write(f"{(BASE + recv_ms) * NS} {json.dumps(doc)}\n")
    return path


def diff(e: int, first: int, last: int, pu: int, bids: list) -> dict:
    e += BASE
    return {"stream": "btcusdt@depth@0ms", "data": {
        "e": "depthUpdate", "E": e, "T": e - 1, "s": "BTCUSDT", "U": first, "u": last,
        "pu": pu, "b": bids, "a": []}}


def trade(e: int, tid: int, price: str, qty: str, maker: bool, kind: str = "MARKET") -> dict:
    e += BASE
    return {"stream": "btcusdt@trade", "data": {
        "e": "trade", "E": e, "T": e, "s": "BTCUSDT", "t": tid, "p": price, "q": qty,
        "X": kind, "m": maker}}


def test_a_capture_becomes_the_streams_the_feed_serves(tmp_path: Path) -> None:
    source = capture(tmp_path / "btcusdt.gz", [
        (1000, diff(2001, 10, 12, 9, [["100.0", "1.0"]])),
        (1010, diff(2050, 13, 15, 12, [["100.0", "2.0"], ["99.9", "1.0"]])),
        (1020, trade(2060, 500, "100.1", "0.010", False)),
        (1021, trade(2060, 501, "100.1", "0.005", False)),      # the same taker, same price
        (1030, trade(2070, 502, "100.0", "0.100", True)),
        (1031, trade(2070, 503, "100.0", "1.000", True, kind="INSURANCE_FUND")),
        (1100, diff(2120, 16, 20, 15, [["99.9", "0.000"]])),     # the next 100 ms window
        (1150, {"lastUpdateId": 14, "E": BASE + 2100, "T": BASE + 2099,
                "bids": [["100.0", "2.0"]], "asks": [["100.2", "1.0"]]}),
        (1160, {"stream": "btcusdt@markPrice", "data": {"e": "markPriceUpdate", "E": 2140}}),
        (1170, {"stream": "btcusdt@bookTicker", "data": {
            "e": "bookTicker", "u": 20, "s": "BTCUSDT", "b": "100.0", "B": "2.0", "a": "100.2",
            "A": "1.0", "T": BASE + 2150, "E": BASE + 2150}}),
    ])
    records, summary = convert([source])
    # the capture host's clock ran behind the exchange's: the largest E - recv is 1040 ms
    assert summary["recv_shift_ms"] == 1040
    depth = [r for r in records if r.get("stream") == "btcusdt@depth@100ms"]
    assert [(d["data"]["U"], d["data"]["u"], d["data"]["pu"]) for d in depth] == [
        (10, 15, 9), (16, 20, 15)]
    assert depth[0]["data"]["b"] == [["100.0", "2.0"], ["99.9", "1.0"]]   # last write wins
    assert depth[0]["data"]["E"] == BASE + 2050
    aggs = [r["data"] for r in records if r.get("stream") == "btcusdt@aggTrade"]
    assert [(a["a"], a["f"], a["l"], a["q"], a["m"]) for a in aggs] == [
        (500, 500, 501, "0.015", False), (501, 502, 502, "0.100", True)]
    snapshots = [r for r in records if "snapshot" in r]
    assert snapshots == [{"recv_ms": BASE + 1150 + 1040, "snapshot": "BTCUSDT",
                          "data": {"lastUpdateId": 14, "E": BASE + 2100, "T": BASE + 2099,
                                   "bids": [["100.0", "2.0"]], "asks": [["100.2", "1.0"]]}}]
    assert summary["dropped"] == {"markPrice": 1, "trade INSURANCE_FUND": 1}
    assert [r["recv_ms"] for r in records] == sorted(r["recv_ms"] for r in records)
    assert all(r["recv_ms"] >= r["data"].get("E", 0) for r in records if "stream" in r)


def test_the_cli_writes_a_readable_recording_and_cuts_it(tmp_path: Path) -> None:
    source = capture(tmp_path / "btcusdt.gz", [
        (1000 + 100 * i, diff(1000 + 100 * i, 10 + i, 10 + i, 9 + i, [["100.0", f"{i}.0"]]))
        for i in range(50)])
    out = tmp_path / "out.jsonl.gz"
    run = subprocess.run([sys.executable, "-m", "pytest_soak.replay_feed.convert", str(source),
                          "-o", str(out), "--seconds", "2"], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["records"] == 20 == len(list(read_recording(out)))


def test_two_symbols_in_one_file_exit_2_naming_it(tmp_path: Path) -> None:
    eth = diff(1000, 1, 1, 0, [])
    eth["stream"] = "ethusdt@depth@0ms"
    source = capture(tmp_path / "mixed.gz", [(1000, diff(1000, 1, 1, 0, [])), (1001, eth)])
    run = subprocess.run([sys.executable, "-m", "pytest_soak.replay_feed.convert", str(source),
                          "-o", str(tmp_path / "x.jsonl")], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 2 and "two symbols" in run.stderr and "mixed.gz" in run.stderr
