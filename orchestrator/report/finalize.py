"""One-shot report finaliser, run by the supervisor after every stage has stopped:

    python -m orchestrator.report.finalize --config PATH --run-dir DIR --sink SINK --run-id ID

Drains the signals the report stage had not read, closes the remaining minutes (the last one
partial), makes the final export (retrying for `report.finalize_export_timeout_s`), writes the
daily report of each sink and `status/report_finalize.json` with the final `manifest`
sections (timeseries_export, alerts) for the supervisor to merge. Exit 0, or 2 on bad config.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from orchestrator.config import ConfigError, load_config
from orchestrator.handoff import HandoffReader
from orchestrator.report.daily import SINKS_OF, build_report, write_report
from orchestrator.report.engine import ReportEngine
from orchestrator.report.stage import CONSUMER, SIGNALS_TOPIC
from pytest_soak_evidence.atomic import write_json_atomic

log = logging.getLogger("orchestrator.report.finalize")


def finalize(config: dict, run_dir: Path, sink: str, run_id: str) -> dict:
    started_ms = int(time.time() * 1000)
    engine = ReportEngine(config, run_dir, run_id, log)
    engine.load_state()
    reader = HandoffReader(run_dir / "handoff" / SIGNALS_TOPIC, CONSUMER)
    while records := reader.read(int(engine.cfg["read_batch"])):
        engine.ingest(records)
    engine.process_closed(final=True)
    engine.final_export()
    engine.save_state()
    reader.commit()
    sections = engine.manifest_sections()
    sections["timeseries_export"]["finalized"] = True
    reports = []
    for name in SINKS_OF[sink]:
        doc = build_report(run_dir=run_dir, run_id=run_id, sink=name,
                           symbols=sorted(engine.aggregator.symbols), tz_name=engine.cfg["tz"],
                           alerts=sections["alerts"], export=sections["timeseries_export"],
                           harvester=engine.harvester_metrics(), slo=engine.cfg["harvest_slo"])
        json_path, md_path = write_report(run_dir, doc)
        reports.append({"sink": name, "json": str(json_path), "md": str(md_path),
                        "rows": doc["sink_read"]["rows"]})
        log.info("daily report (%s): %s", name, json_path)
    if engine.export.exporter is not None:
        engine.export.exporter.close()
    status = {"stage": "report_finalize", "pid": os.getpid(), "state": "stopped",
              "started_ms": started_ms, "heartbeat_ms": int(time.time() * 1000),
              "metrics": {**engine.metrics(), "reports": reports}, "manifest": sections}
    write_json_atomic(run_dir / "status" / "report_finalize.json", status)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orchestrator.report.finalize")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--sink", default="jsonl", choices=sorted(SINKS_OF))
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s report_finalize %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    try:
        finalize(config, args.run_dir.resolve(), args.sink, args.run_id)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
