"""A deliberately broken pipeline: the real supervisor (`python -m orchestrator.run`), whose
evidence this wrapper damages after it exits, the way a buggy pipeline would have written it.

    python tests/soak/broken/wrap.py BREAKAGE[,BREAKAGE...] -- python -m orchestrator.run \
        ... --run-dir DIR

The harness starts this wrapper as "the pipeline" and sends it SIGINT at the end; the wrapper
forwards the signal to the real supervisor, waits for it, applies each BREAKAGE to DIR and
exits with the supervisor's exit code. Used by the behavioural
mutations (tests/mutations/behavioural_*.py).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pytest_soak_evidence.atomic import write_json_atomic


def _edit_manifest(run_dir: Path, edit: Callable[[dict], None]) -> None:
    path = run_dir / "run_manifest.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)
    write_json_atomic(path, doc)


def under_report_rss(run_dir: Path) -> None:
    """The manifest claims a tenth of the memory the processes really used."""
    def edit(doc: dict) -> None:
        usage = doc["resource_usage"]
        usage["max_rss_mb"] = round(usage["max_rss_mb"] / 10, 3)
        for proc in (usage.get("per_process") or {}).values():
            proc["max_rss_mb"] = round(proc["max_rss_mb"] / 10, 3)
    _edit_manifest(run_dir, edit)


def under_report_exports(run_dir: Path) -> None:
    """The seed's own bug: one export claimed for the whole run."""
    _edit_manifest(run_dir, lambda doc: doc["timeseries_export"].update(export_count=1))


def hide_restart_count(run_dir: Path) -> None:
    """The manifest leaves out the harvest process's restart_count."""
    def edit(doc: dict) -> None:
        for proc in doc["status"]["processes"]:
            if proc["name"] == "harvest":
                proc.pop("restart_count")
    _edit_manifest(run_dir, edit)


def drop_in_calm_water(run_dir: Path) -> None:
    """The harvester dropped 5 events 1 s into the run, outside any induced window."""
    def edit(doc: dict) -> None:
        dropped = doc["harvester_metrics"]["queue_dropped"]
        at_ms = doc["started_ms"] + 1000
        dropped["count"] += 5
        dropped["timestamps_ms"] = [at_ms] * 5 + dropped["timestamps_ms"]
        dropped["spans"] = [[at_ms, at_ms, 5], *dropped["spans"]]
    _edit_manifest(run_dir, edit)


def duplicate_outbox_event(run_dir: Path) -> None:
    """The outbox publishes one execution event twice."""
    first = sorted((run_dir / "outbox" / "ready").glob("*.jsonl"))[0]
    line = first.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    with first.open("a", encoding="utf-8") as handle:
        handle.write(line)


def no_markdown_report(run_dir: Path) -> None:
    """The daily report is written as JSON only."""
    for path in run_dir.glob("reports/*/summary_*.md"):
        path.unlink()


def lose_rows(run_dir: Path) -> None:
    """The SQLite sink silently loses a few committed rows."""
    conn = sqlite3.connect(run_dir / "sinks" / "signals.sqlite")
    try:
        conn.execute("DELETE FROM signals WHERE rowid IN "
                     "(SELECT rowid FROM signals ORDER BY ts_ms LIMIT 3 OFFSET 50)")
        conn.commit()
    finally:
        conn.close()


def _never_resolve(alerts: list[dict]) -> None:
    for alert in alerts:
        alert.update(state="firing", resolved_at=None, resolved_at_ms=None)
        if "resolve_details" in alert:
            alert["resolve_details"] = None


def unresolved_alert(run_dir: Path) -> None:
    """Every alert stays firing: resolved_at is never written (manifest and daily reports)."""
    files = [run_dir / "run_manifest.json", *run_dir.glob("reports/*/summary_*.json")]
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        _never_resolve(doc.get("alerts") or [])
        write_json_atomic(path, doc)


def intact(run_dir: Path) -> None:
    """The control: the wrapper itself changes nothing."""


def exit_nonzero(run_dir: Path) -> None:
    """The pipeline exits 1 after a graceful stop (applied by main)."""


BREAKAGES: dict[str, Callable[[Path], None]] = {
    "under_report_rss": under_report_rss, "lose_rows": lose_rows,
    "unresolved_alert": unresolved_alert, "under_report_exports": under_report_exports,
    "hide_restart_count": hide_restart_count, "drop_in_calm_water": drop_in_calm_water,
    "duplicate_outbox_event": duplicate_outbox_event, "no_markdown_report": no_markdown_report,
    "exit_nonzero": exit_nonzero, "intact": intact,
}


def main(argv: list[str]) -> int:
    wanted = argv[1].split(",") if len(argv) > 1 else []
    if len(argv) < 4 or not wanted or set(wanted) - set(BREAKAGES) or "--" not in argv:
        print(f"usage: wrap.py {{{'|'.join(BREAKAGES)}}} -- COMMAND...", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1:]
    run_dir = Path(command[command.index("--run-dir") + 1])
    child = subprocess.Popen(command)

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    code = child.wait()
    for name in wanted:
        BREAKAGES[name](run_dir)
    return 1 if "exit_nonzero" in wanted else code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
