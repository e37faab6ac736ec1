"""`python -m pytest_soak.replay_feed.convert`: a third-party Binance USDⓈ-M capture -> a recording.

    python -m pytest_soak.replay_feed.convert btcusdt_20240808.gz ethusdt_20240808.gz \\
        -o fixtures/market/binance_usdm_20240808_90s.jsonl.gz --seconds 90

Input: raw capture lines, one exchange message per line, optionally prefixed by the receive
time (`<epoch ns|ms> <json>`, the hftbacktest collector's format; gzip or plain). A message is
a combined-stream frame `{"stream", "data"}` or a REST depth snapshot body (`lastUpdateId`,
`bids`, `asks`; its symbol is the one the file's streams carry). What the replay feed does not
serve is converted to what it does (docs/data-sources.md, "Converting a capture"):

- `<s>@depth@0ms` / `@depth` / `@depth@250ms` diffs are merged into 100 ms windows of event
  time, as the exchange's `@depth@100ms` batches them: U of the first, u/pu-chain kept (pu of
  the first, u of the last), E/T of the last, levels last-write-wins;
- `<s>@trade` (market trades only, X = MARKET) becomes `<s>@aggTrade`: consecutive fills of one
  taker at one price (same T, p, m) are one aggregate trade; `a` counts from the first trade
  id, contiguous (the capture has no aggregate ids), f/l are the trade ids;
- `bookTicker` is kept; other streams are dropped and counted;
- recv_ms is the line's receive time shifted by the smallest constant that receives no event
  before its own event time (a capture host's clock can run behind the exchange's).

Prints one JSON line: what was written, dropped and converted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from pytest_soak.replay_feed.recording import Record, write_recording

DEPTH_KINDS = ("depth", "depth@0ms", "depth@100ms", "depth@250ms", "depth@500ms")
WINDOW_MS = 100


def _lines(path: Path) -> Iterator[tuple[int | None, dict]]:
    with open(path, "rb") as fh:
        opener = gzip.open if fh.read(2) == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            stamp, _, rest = line.partition(" ")
            if stamp.isdigit() and rest.startswith("{"):
                value = int(stamp)
                yield (value // 1_000_000 if value > 10**15 else value), json.loads(rest)
            else:
                yield None, json.loads(line)


class _Converter:
    """One input file (one symbol): its records in our format, in arrival order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.out: list[Record] = []
        self.dropped: Counter[str] = Counter()
        self.symbol: str | None = None
        self._depth: dict | None = None      # the 100 ms window being merged
        self._trade: dict | None = None      # the aggregate trade being built
        self._agg_id: int | None = None
        self._snapshots: list[tuple[int | None, dict]] = []

    def run(self) -> list[Record]:
        for recv_ms, doc in _lines(self.path):
            if "lastUpdateId" in doc and "stream" not in doc:
                self._snapshots.append((recv_ms, doc))
            elif isinstance(doc.get("stream"), str) and isinstance(doc.get("data"), dict):
                self._frame(recv_ms, doc["stream"], doc["data"])
            else:
                self.dropped["not a frame"] += 1
        self._flush_depth()
        self._flush_trade()
        if self._snapshots and self.symbol is None:
            raise ValueError(f"{self.path}: a snapshot but no stream names its symbol")
        for recv_ms, doc in self._snapshots:
            self.out.append({"recv_ms": recv_ms if recv_ms is not None else doc.get("E", 0),
                             "snapshot": self.symbol, "data": doc})
        self.out.sort(key=lambda r: r["recv_ms"])
        return self.out

    def _frame(self, recv_ms: int | None, stream: str, data: dict) -> None:
        symbol, _, kind = stream.partition("@")
        if self.symbol is None:
            self.symbol = symbol.upper()
        elif symbol.upper() != self.symbol:
            raise ValueError(f"{self.path}: two symbols ({self.symbol}, {symbol.upper()}); "
                             "give one file per symbol")
        recv = recv_ms if recv_ms is not None else data.get("E", 0)
        if kind in DEPTH_KINDS:
            self._on_depth(recv, data)
        elif kind == "trade":
            self._on_trade(recv, data)
        elif kind == "aggTrade" or kind == "bookTicker":
            self.out.append({"recv_ms": recv, "stream": stream, "data": data})
        else:
            self.dropped[kind] += 1

    def _on_depth(self, recv: int, data: dict) -> None:
        window = self._depth
        if window is not None and data["E"] // WINDOW_MS == window["data"]["E"] // WINDOW_MS:
            merged = window["data"]
            merged.update(E=data["E"], T=data.get("T", data["E"]), u=data["u"])
            for side in ("b", "a"):
                for price, qty in data.get(side) or []:
                    merged[side][price] = qty
            window["recv_ms"] = recv
            return
        self._flush_depth()
        merged = {**data, "b": dict(data.get("b") or []), "a": dict(data.get("a") or [])}
        self._depth = {"recv_ms": recv, "data": merged}

    def _flush_depth(self) -> None:
        if self._depth is None:
            return
        data = self._depth["data"]
        for side in ("b", "a"):
            data[side] = [[price, qty] for price, qty in data[side].items()]
        self.out.append({"recv_ms": self._depth["recv_ms"],
                         "stream": f"{self.symbol.lower()}@depth@100ms", "data": data})
        self._depth = None

    def _on_trade(self, recv: int, data: dict) -> None:
        if data.get("X", "MARKET") != "MARKET":
            self.dropped["trade " + str(data.get("X"))] += 1
            return
        current = self._trade
        if current is not None and all(current["data"][k] == data[k] for k in ("T", "p", "m")):
            agg = current["data"]
            agg["q"] = _add(agg["q"], data["q"])
            agg["l"] = data["t"]
            current["recv_ms"] = recv
            return
        self._flush_trade()
        if self._agg_id is None:
            self._agg_id = data["t"]
        self._trade = {"recv_ms": recv, "data": {
            "e": "aggTrade", "E": data["E"], "a": None, "s": data["s"], "p": data["p"],
            "q": data["q"], "f": data["t"], "l": data["t"], "T": data["T"], "m": data["m"]}}

    def _flush_trade(self) -> None:
        if self._trade is None:
            return
        self._trade["data"]["a"] = self._agg_id
        self._agg_id += 1
        self.out.append({"recv_ms": self._trade["recv_ms"],
                         "stream": f"{self.symbol.lower()}@aggTrade", "data": self._trade["data"]})
        self._trade = None


def _add(a: str, b: str) -> str:
    """Decimal-string sum keeping the inputs' precision (quantities are exact decimals)."""
    return str(Decimal(a) + Decimal(b))


def convert(inputs: list[Path], seconds: float | None = None,
            start_s: float = 0.0) -> tuple[list[Record], dict[str, Any]]:
    """The recording of the inputs (merged by receive time, cut to [start_s, start_s+seconds)
    after the first record) and a summary."""
    converters = [_Converter(path) for path in inputs]
    records = sorted((r for c in converters for r in c.run()), key=lambda r: r["recv_ms"])
    skew = max((r["data"]["E"] - r["recv_ms"] for r in records
                if "stream" in r and isinstance(r["data"].get("E"), int)), default=0)
    skew = max(0, skew)
    for record in records:
        record["recv_ms"] += skew
    if records:
        first = records[0]["recv_ms"] + start_s * 1000
        end = first + seconds * 1000 if seconds is not None else float("inf")
        records = [r for r in records if first <= r["recv_ms"] < end]
    kinds = Counter(r.get("stream", "snapshot").partition("@")[2] or "snapshot" for r in records)
    dropped = sum((c.dropped for c in converters), Counter())
    return records, {"records": len(records), "by_kind": dict(kinds),
                     "dropped": dict(dropped), "recv_shift_ms": skew,
                     "seconds": (records[-1]["recv_ms"] - records[0]["recv_ms"]) / 1000
                     if records else 0.0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pytest_soak.replay_feed.convert",
                                description=__doc__.split("\n")[0])
    p.add_argument("inputs", nargs="+", type=Path, help="capture files, one symbol each")
    p.add_argument("-o", "--output", type=Path, required=True, help="recording (.jsonl[.gz])")
    p.add_argument("--seconds", type=float, help="keep this many seconds (default: all)")
    p.add_argument("--start-s", type=float, default=0.0, help="skip this many seconds first")
    args = p.parse_args(argv)
    try:
        records, summary = convert(args.inputs, args.seconds, args.start_s)
    except (OSError, ValueError, KeyError) as exc:
        print(f"convert: {exc}", file=sys.stderr)
        return 2
    if not records:
        print("convert: nothing to write (no supported stream in the inputs)", file=sys.stderr)
        return 2
    write_recording(args.output, records)
    print(json.dumps({"written": str(args.output), **summary}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
