"""`python -m pytest_soak.replay_feed`: serve a recording (or the seeded generator) as an exchange.

Prints one JSON line with the URLs it serves, then runs until SIGTERM/SIGINT or until the
file given with --stop-file appears. `--write FILE` writes a generated recording and exits.
"""

from __future__ import annotations

import argparse
import inspect
import json
import signal
import sys
import time
from pathlib import Path

from pytest_soak.replay_feed.feed import ReplayFeed, parse_speed
from pytest_soak.replay_feed.generator import generate_recording
from pytest_soak.replay_feed.market import PROFILES

# the CLI's defaults are ReplayFeed's own (one owner)
DEFAULTS = {name: p.default for name, p in inspect.signature(ReplayFeed).parameters.items()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m pytest_soak.replay_feed",
                                description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--recording", type=Path, help="a recording (.jsonl or .jsonl.gz)")
    src.add_argument("--generate", type=int, metavar="SEED", help="synthesize from the generator")
    p.add_argument("--loop", action="store_true",
                   help="replay the recording endlessly, each loop continuing the previous one "
                        "(ids and times shifted forward: docs/data-sources.md)")
    p.add_argument("--symbols", type=int, default=DEFAULTS["symbols"],
                   help="generated symbols count")
    p.add_argument("--minutes", type=float, help="generated market minutes (default: endless)")
    p.add_argument("--regime", default=DEFAULTS["regime"], help="normal | choppy | quiet")
    p.add_argument("--profile", default=DEFAULTS["profile"], choices=sorted(PROFILES),
                   help="how busy the generated market is (docs/data-sources.md)")
    p.add_argument("--schedule", help="regime cycle, e.g. normal:300,choppy:120,quiet:180")
    p.add_argument("--speed", default=DEFAULTS["speed"],
                   help="1 (quasi-real-time), N (N x), or max")
    p.add_argument("--host", default=DEFAULTS["host"])
    p.add_argument("--port", type=int, default=DEFAULTS["port"],
                   help="WebSocket port (0 = a free one)")
    p.add_argument("--http-port", type=int, default=DEFAULTS["http_port"],
                   help="REST + control port (0 = free)")
    p.add_argument("--ping-interval-s", type=float, default=DEFAULTS["ping_interval_s"])
    p.add_argument("--start-on", default=DEFAULTS["start_on"],
                   choices=["subscribe", "now", "control"])
    p.add_argument("--live", action="store_true",
                   help="LIVE: no event is stamped ahead of the wall clock (a burst raises the "
                        "event rate, not the clock)")
    p.add_argument("--start-grace-s", type=float, default=DEFAULTS["start_grace_s"])
    p.add_argument("--stop-file", type=Path, help="stop when this file exists (portable)")
    p.add_argument("--sent-log", type=Path, metavar="FILE",
                   help="note when each aggTrade was sent; written to FILE at the stop "
                        "(the harness's signal latency: replay_feed/sent_log.py)")
    p.add_argument("--write", type=Path, metavar="FILE",
                   help="write a generated recording of --minutes (default 10) and exit")
    args = p.parse_args(argv)
    try:
        parse_speed(args.speed)
    except ValueError as exc:
        p.error(str(exc))
    if args.loop and args.recording is None:
        p.error("--loop needs --recording FILE")
    if args.write and args.generate is None:
        p.error("--write needs --generate SEED")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.write:
        count = generate_recording(args.write, args.generate, args.minutes or 10.0,
                                   args.symbols, args.schedule, args.profile)
        print(json.dumps({"written": str(args.write), "records": count}), flush=True)
        return 0
    feed = ReplayFeed(recording=args.recording, generate_seed=args.generate,
                      symbols=args.symbols, minutes=args.minutes, regime=args.regime,
                      schedule=args.schedule, speed=args.speed, host=args.host, port=args.port,
                      http_port=args.http_port, ping_interval_s=args.ping_interval_s,
                      start_on=args.start_on, start_grace_s=args.start_grace_s,
                      loop=args.loop, live=args.live, sent_log=args.sent_log,
                      profile=args.profile).start()
    print(json.dumps(feed.urls), flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: stop.append("SIGINT"))
    try:
        while not stop and not (args.stop_file and args.stop_file.exists()):
            time.sleep(0.1)
    finally:
        feed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
