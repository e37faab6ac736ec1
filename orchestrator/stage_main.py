"""Entry point of one stage process:
`python -m orchestrator.stage_main NAME --config PATH --run-dir DIR --sink SINK --run-id ID`."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from orchestrator.config import ConfigError, load_config, replay_mode
from orchestrator.stage import Stage, StageContext

STAGE_CLASSES = {
    "harvest": "orchestrator.harvest.stage:HarvestStage",
    "signal": "orchestrator.signal.stage:SignalStage",
    "broker": "orchestrator.broker.stage:BrokerStage",
    "report": "orchestrator.report.stage:ReportStage",
}
SINKS = ("jsonl", "sqlite", "dual")


def stage_class(name: str) -> type[Stage]:
    module_name, _, class_name = STAGE_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orchestrator.stage_main")
    parser.add_argument("name", choices=sorted(STAGE_CLASSES))
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--sink", default="jsonl", choices=SINKS)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--drain", action="store_true",
                        help="finaliser mode: process what is left in the inputs, flush, exit; "
                             "status goes to status/NAME_finalize.json")
    return parser.parse_args(argv)


def configure_logging(name: str) -> logging.Logger:
    # stdout/stderr already go to logs/<name>.log (the supervisor redirects them).
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    return logging.getLogger(f"orchestrator.{name}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    label = f"{args.name}_finalize" if args.drain else args.name
    log = configure_logging(label)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    supervisor = os.environ.get("ORCH_SUPERVISOR_PID")
    ctx = StageContext(
        name=label, run_dir=args.run_dir.resolve(), run_id=args.run_id, config=config,
        sink=args.sink, replay_mode=replay_mode(config),
        supervisor_pid=int(supervisor) if supervisor else None, log=log)
    log.info("starting pid=%d run_id=%s sink=%s replay=%s", os.getpid(), args.run_id,
             args.sink, ctx.replay_mode)
    stage = stage_class(args.name)(ctx)
    return stage.drain() if args.drain else stage.run()


if __name__ == "__main__":
    sys.exit(main())
