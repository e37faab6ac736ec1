"""The watcher: ends every process of a harness's record when that harness dies.

    python -m pytest_soak.reaper RECORD.json

Started by `harness_record.HarnessGuard` in a session of its own (POSIX) / a detached process
group (Windows), so a kill of the harness's process group does not take it first. It polls
(psutil: portable, no parent-death signal, which Linux ties to the *thread* that started a
child and which no non-Python server such as the Pushgateway sets for itself):
- the record file is gone: the harness ended cleanly; exit;
- the harness (pid AND start time) is dead: claim the record, end its processes (see
  `harness_record.processes_of`, plus every descendant of a registered process it saw while
  the harness lived), leave `<id>.ended.json` for the next session to report, exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from pytest_soak import harness_record as hr
from pytest_soak.resources import start_s
from pytest_soak_evidence.atomic import write_json_atomic

POLL_S = 0.2
DESCENDANTS_EVERY_S = 1.0
# the harness must look dead on this many polls in a row (0.6 s): one odd reading of the
# process table (a start time caught mid clock adjustment) must never end a live run
DEAD_CHECKS = 3


def start_watcher(record: Path, log_path: Path) -> subprocess.Popen:
    """Start the watcher of `record`, detached from the harness's process group."""
    package_root = str(Path(hr.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [package_root] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    kwargs: dict = {"stdin": subprocess.DEVNULL, "env": env}
    if os.name == "posix":
        kwargs["start_new_session"] = True
    else:
        kwargs["creationflags"] = (subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
                                   | subprocess.DETACHED_PROCESS)       # type: ignore[attr-defined]
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "pytest_soak.reaper", str(record)],
                                stdout=log, stderr=subprocess.STDOUT, **kwargs)


def _descendants(doc: dict, seen: dict[int, float]) -> None:
    """Remember (pid: start time) of every descendant of a registered process: a child that
    left the group and dropped the environment marker is still known by its ancestry."""
    for entry in doc.get("processes", []):
        root = hr.same_process(int(entry["pid"]), hr._start(entry))
        if root is None:
            continue
        try:
            for child in root.children(recursive=True):
                seen.setdefault(child.pid, start_s(child))
        except psutil.Error:
            continue


def watch(record: Path, poll_s: float = POLL_S) -> int:
    doc = hr._load(record)
    if doc is None:
        return 0
    seen: dict[int, float] = {}
    mtime, last_scan, dead_checks = 0.0, 0.0, 0
    while True:
        try:
            current = record.stat().st_mtime
        except FileNotFoundError:
            return 0                               # a clean end: the harness removed it
        if current != mtime:
            doc, mtime = hr._load(record) or doc, current
        dead_checks = 0 if hr.harness_alive(doc) else dead_checks + 1
        if dead_checks >= DEAD_CHECKS:
            break
        if time.monotonic() - last_scan >= DESCENDANTS_EVERY_S:
            _descendants(doc, seen)
            last_scan = time.monotonic()
        time.sleep(poll_s)
    return _reap(record, doc, seen)


def _reap(record: Path, doc: dict, seen: dict[int, float]) -> int:
    mine = hr.claim(record)
    if mine is None:
        return 0                                   # a new session is sweeping it already
    ended = hr.end_processes(doc, seen)
    report = hr.report_of(doc, ended, "watcher")
    write_json_atomic(record.with_name(f"{doc['harness_id']}{hr.ENDED}.json"), report,
                      durable=False)
    mine.unlink(missing_ok=True)
    print(hr.summary_line(report), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pytest_soak.reaper RECORD.json", file=sys.stderr)
        return 2
    return watch(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())
