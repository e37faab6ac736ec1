"""Edits of the good run folder (factory.good_run) that the check cases (test_checks.py) and
the recorded mutations (tests/mutations/recorded_*.py) share."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .factory import counter, fault_record, rewrite, wall

OBS, MAN, SRC = "harness_observations.json", "run_manifest.json", "source_manifest.json"


def set_path(path: str, value: Any) -> Callable[[Any], None]:
    """A document edit setting doc[a][b]... = value for 'a.b...' (a list index may be -1)."""
    def change(doc: Any) -> None:
        *parents, last = path.split(".")
        cur = doc
        for p in parents:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        if isinstance(cur, list):
            cur[int(last)] = value
        else:
            cur[last] = value
    return change


def in_file(rel: str, change: Callable[[Any], Any]) -> Callable[[Path], None]:
    """A run-folder edit applying the document edit `change` to the JSON file `rel`."""
    def apply(run_dir: Path) -> None:
        rewrite(run_dir, rel, change)
    return apply


def alert_edit(rule: str, key: str, value: Any) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        for a in doc["alerts"]:
            if a["rule"] == rule:
                a[key] = value
    return change


def fault_edit(fid: str, key: str, value: Any) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        for f in doc["faults"]:
            if f["id"] == fid:
                f[key] = value
    return change


def drop_sqlite_rows(run_dir: Path) -> None:
    conn = sqlite3.connect(run_dir / "sinks/signals.sqlite")
    conn.execute("DELETE FROM signals WHERE row_id IN ('r00003', 'r00077')")
    conn.commit()
    conn.close()


def stall(noticed_at_s: int | None, confirmed: bool = True) -> Callable[[Path], None]:
    """A stalled sub-stream induced at market 630-690 s; the pipeline noticed it at
    `noticed_at_s` (None: never)."""
    def change(run_dir: Path) -> None:
        rewrite(run_dir, OBS, lambda doc: doc["faults"].append(fault_record(
            "stall", "stall_substream", "ethusdt@aggTrade", 630, 690, {"sticky": True},
            confirmed)))
        if noticed_at_s is not None:
            rewrite(run_dir, MAN, set_path("harvester_metrics.substream_timeout_detected",
                                           counter(wall(noticed_at_s))))
    return change


def rss_series(series_fn: Callable[[], list]) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        doc["resources"]["rss_series"]["broker"] = series_fn()
    return change
