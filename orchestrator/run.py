"""`python -m orchestrator.run`: validate the configuration, then supervise the pipeline.

    python -m orchestrator.run --config ./config/defaults.yaml \
        --enable harvest,signal,broker,report --sink jsonl|sqlite|dual --minutes 60 \
        [--run-dir DIR] [--health-port PORT] [--run-id ID]

Exit codes: 0 graceful stop; 2 bad usage or configuration (one line on stderr naming the key
or value); anything else is a crash."""

from __future__ import annotations

import argparse
import logging
import math
import os
import secrets
import sys
import time
from pathlib import Path

from orchestrator.config import ConfigError, load_config
from orchestrator.supervisor import STAGE_ORDER, RunOptions, Supervisor

EXIT_USAGE = 2
SINKS = ("jsonl", "sqlite", "dual")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:     # one line, not usage + error
        raise UsageError(message)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="orchestrator.run", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("config/defaults.yaml"))
    parser.add_argument("--enable", default=",".join(STAGE_ORDER),
                        help="comma-separated stages: " + ",".join(STAGE_ORDER))
    parser.add_argument("--sink", default="jsonl", choices=SINKS)
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="LIVE: wall minutes; REPLAY: market minutes (wall-clock capped)")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="default <run.artifacts_dir>/<run_id>/")
    parser.add_argument("--health-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--run-id", default=None, help="default env SOAK_RUN_ID or generated")
    return parser.parse_args(argv)


def parse_enable(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--enable: no stage named")
    for name in names:
        if name not in STAGE_ORDER:
            raise UsageError(f"--enable: unknown stage {name!r} (known: {', '.join(STAGE_ORDER)})")
    return [n for n in STAGE_ORDER if n in names]


def new_run_id() -> str:
    return time.strftime("run_%Y%m%d_%H%M%S", time.gmtime()) + "_" + secrets.token_hex(3)


def build_options(argv: list[str] | None) -> RunOptions:
    args = parse_args(argv)
    if not math.isfinite(args.minutes) or args.minutes <= 0:
        raise UsageError(f"--minutes: {args.minutes:g} must be a positive number")
    if not 0 <= args.health_port <= 65535:
        raise UsageError(f"--health-port: {args.health_port} is not a port number")
    enabled = parse_enable(args.enable)
    config = load_config(args.config)
    run_id = args.run_id or os.environ.get("SOAK_RUN_ID") or new_run_id()
    run_dir = args.run_dir or Path(config["run"]["artifacts_dir"]) / run_id
    return RunOptions(config_path=args.config, config=config, enabled=enabled, sink=args.sink,
                      minutes=args.minutes, run_dir=run_dir, run_id=run_id,
                      health_port=args.health_port)


def setup_logging(run_dir: Path) -> logging.Logger:
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s supervisor %(levelname)s %(message)s")
    logger = logging.getLogger("orchestrator.supervisor")
    logger.setLevel(logging.INFO)
    for handler in (logging.FileHandler(run_dir / "logs" / "supervisor.log"),
                    logging.StreamHandler(sys.stderr)):
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger


def main(argv: list[str] | None = None) -> int:
    try:
        opts = build_options(argv)
    except (UsageError, ConfigError) as exc:
        print(f"orchestrator.run: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    log = setup_logging(opts.run_dir)
    log.info("run %s: stages %s, sink %s, %g minutes, run dir %s", opts.run_id,
             ",".join(opts.enabled), opts.sink, opts.minutes, opts.run_dir)
    try:
        supervisor = Supervisor(opts, log)
    except OSError as exc:                      # e.g. the health port is taken
        print(f"orchestrator.run: error: --health-port {opts.health_port}: {exc}",
              file=sys.stderr)
        return EXIT_USAGE
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
