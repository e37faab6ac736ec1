"""The shared reader of an execution outbox's `ready/` folder (report stage, harness, tests).

Every published file is `ready/*.jsonl`, one `executor_contract/v1` event per line. `scan_ready`
reads them all and says what is wrong: lines that are not JSON or break the schema (with the
JSON path), events seen twice (same client_order_id and event), files that do not end with a
newline (a partial file must never be visible in ready/), and stray non-.jsonl files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_soak_evidence.schemas import violations

CONTRACT_KIND = "executor_contract_v1"


@dataclass
class BadLine:
    file: str
    line: int
    errors: list[str]


@dataclass
class OutboxScan:
    files: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    invalid: list[BadLine] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (client_order_id, event)
    partial_files: list[str] = field(default_factory=list)
    stray_files: list[str] = field(default_factory=list)
    spool_files: list[str] = field(default_factory=list)  # leftovers not yet published

    @property
    def ok(self) -> bool:
        return not (self.invalid or self.duplicates or self.partial_files or self.stray_files)

    def summary(self) -> dict[str, Any]:
        return {"files": len(self.files), "events": len(self.events),
                "invalid": len(self.invalid), "duplicates": len(self.duplicates),
                "partial_files": self.partial_files, "stray_files": self.stray_files,
                "spool_files": self.spool_files}


def ready_dir(outbox_dir: Path | str) -> Path:
    """`outbox_dir` may be the outbox root (with ready/) or ready/ itself."""
    path = Path(outbox_dir)
    return path / "ready" if (path / "ready").is_dir() else path


def iter_ready_lines(outbox_dir: Path | str) -> Iterator[tuple[str, int, bytes]]:
    """(file name, 1-based line number, raw line) for every non-blank line, files in name order."""
    for path in sorted(ready_dir(outbox_dir).glob("*.jsonl")):
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    yield path.name, number, raw


def iter_events(outbox_dir: Path | str) -> Iterator[dict]:
    """Every event in ready/, unvalidated (lines that are not JSON objects are skipped)."""
    for _name, _number, raw in iter_ready_lines(outbox_dir):
        try:
            doc = json.loads(raw)
        except ValueError:
            continue
        if isinstance(doc, dict):
            yield doc


def _check_line(raw: bytes, validate: bool) -> tuple[dict | None, list[str]]:
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        return None, [f"$: not JSON ({exc})"]
    if not isinstance(doc, dict):
        return None, ["$: not a JSON object"]
    return doc, violations(doc, CONTRACT_KIND) if validate else []


def scan_ready(outbox_dir: Path | str, validate: bool = True) -> OutboxScan:
    """Read and check every published event."""
    ready = ready_dir(outbox_dir)
    scan = OutboxScan()
    if not ready.is_dir():
        return scan
    scan.files = sorted(p.name for p in ready.glob("*.jsonl"))
    scan.stray_files = sorted(p.name for p in ready.iterdir() if p.suffix != ".jsonl")
    spool = ready.parent / "spool"
    if spool.is_dir():
        scan.spool_files = sorted(p.name for p in spool.glob("*.part"))
    for name in scan.files:
        data = (ready / name).read_bytes()
        if data and not data.endswith(b"\n"):
            scan.partial_files.append(name)
    seen: set[tuple[str, str]] = set()
    for name, number, raw in iter_ready_lines(ready):
        doc, errors = _check_line(raw, validate)
        if errors:
            scan.invalid.append(BadLine(name, number, errors))
        if doc is None:
            continue
        key = (str(doc.get("client_order_id")), str(doc.get("event")))
        if key in seen:
            scan.duplicates.append(key)
        seen.add(key)
        scan.events.append(doc)
    return scan
