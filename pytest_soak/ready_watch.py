"""The harness's own watch on outbox/ready/: no partial file is ever visible there (SPEC, D12).

A daemon thread (polling_watch.PollingWatch) lists ready/ with os.scandir every `POLL_MS` wall
milliseconds (portable, no
file-system event API: a publication is one rename, so a file is either absent or whole, and
a poll every 100 ms sees any file a writer builds in place over more than 100 ms). A file is
read the first time it is seen: it is *torn* when it is empty, its last byte is not a
newline, or its last line is not a JSON object. Afterwards its size and mtime are compared on
every poll; a change (or a removal) is recorded with the hash before and after. At `stop()`
one last pass re-reads every file and compares its hash with the one first seen, so a rewrite
that keeps size and mtime is caught too. Only the problems and one small entry per file are
kept (a publication is a minute's events: about 60 files an hour).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pytest_soak.polling_watch import PollingWatch, now_ms

POLL_MS = 100
MAX_PROBLEMS = 50     # per kind; the count is kept beyond


def torn_reason(data: bytes) -> str | None:
    """Why a file's bytes are not a whole JSONL file, or None when they are."""
    if not data:
        return "empty"
    if not data.endswith(b"\n"):
        return "last line not newline-terminated"
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        doc = json.loads(last)
    except ValueError:
        return "last line not JSON"
    return None if isinstance(doc, dict) else "last line not a JSON object"


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class ReadyWatch(PollingWatch):
    """Watches `ready` (it may not exist yet: the broker creates it) until `stop()`."""

    def __init__(self, ready: Path, poll_ms: int = POLL_MS) -> None:
        super().__init__(poll_ms, "soak-ready-watch")
        self.ready = Path(ready)
        self.files: dict[str, dict[str, Any]] = {}
        self.torn: list[dict] = []
        self.changed: list[dict] = []
        self.counts = {"torn": 0, "changed": 0}

    def _poll(self) -> None:
        if not self.ready.is_dir():
            return
        with os.scandir(self.ready) as entries:
            present = {e.name for e in entries if e.is_file()}
        for name in present:
            self._look(name)
        for name in set(self.files) - present:
            self._vanished(name)

    def _look(self, name: str) -> None:
        path = self.ready / name
        known = self.files.get(name)
        if known is None:
            self._first_sight(name, path)
        elif not known.get("gone") and _stat(path) != (known["size"], known["mtime_ns"]):
            self._change(name, path, "size/mtime changed")

    def _first_sight(self, name: str, path: Path) -> None:
        stat = _stat(path)
        try:
            data = path.read_bytes()
        except OSError:
            return                    # gone again at once: looked at on the next poll
        entry = {"first_seen_ms": now_ms(), "size": stat[0] if stat else len(data),
                 "mtime_ns": stat[1] if stat else None,
                 "sha256": hashlib.sha256(data).hexdigest()}
        self.files[name] = entry
        why = torn_reason(data)
        if why:
            self._problem("torn", {"file": name, "seen_ms": entry["first_seen_ms"],
                                   "size": len(data), "why": why})

    def _change(self, name: str, path: Path, why: str) -> None:
        known = self.files[name]
        try:
            data = path.read_bytes()
        except OSError:
            return self._vanished(name)
        digest = hashlib.sha256(data).hexdigest()
        stat = _stat(path)
        before = {k: known[k] for k in ("size", "sha256")}
        known.update(size=stat[0] if stat else len(data),
                     mtime_ns=stat[1] if stat else None, sha256=digest)
        if digest != before["sha256"]:
            self._problem("changed", {"file": name, "first_seen_ms": known["first_seen_ms"],
                                      "changed_ms": now_ms(), "why": why, "before": before,
                                      "after": {"size": len(data), "sha256": digest}})
        return None

    def _vanished(self, name: str) -> None:
        known = self.files[name]
        if known.get("gone"):
            return
        known["gone"] = True
        self._problem("changed", {"file": name, "first_seen_ms": known["first_seen_ms"],
                                  "changed_ms": now_ms(), "why": "removed from ready/",
                                  "before": {k: known[k] for k in ("size", "sha256")},
                                  "after": None})

    def _finish(self) -> None:
        """One last pass: a rewrite that kept size and mtime is caught by its hash."""
        for name, known in self.files.items():
            if not known.get("gone"):
                self._change(name, self.ready / name, "content rewritten (final pass)")

    def _problem(self, kind: str, record: dict) -> None:
        self.counts[kind] += 1
        target = self.torn if kind == "torn" else self.changed
        if len(target) < MAX_PROBLEMS:
            target.append(record)

    def summary(self) -> dict[str, Any]:
        """The `ready_watch` section of harness_observations.json."""
        with self._lock:
            return self._summary()

    def _summary(self) -> dict[str, Any]:
        return {"dir": "outbox/ready", "poll_ms": self.poll_ms, "method": "os.scandir polling",
                "started_ms": self.started_ms, "stopped_ms": self.stopped_ms,
                "polls": self.polls,
                "files": {n: {"first_seen_ms": f["first_seen_ms"], "size": f["size"],
                              "sha256": f["sha256"]} for n, f in sorted(self.files.items())},
                "torn": list(self.torn), "changed": list(self.changed),
                "torn_count": self.counts["torn"], "changed_count": self.counts["changed"],
                "errors": list(self.errors)}
