"""The line protocol between the supervisor and its stages (one JSON object per line).

A stage's stdout carries data lines for the next stage and heartbeats (`{"t":"hb",...}`, the
supervisor keeps them); its stdin carries data lines from the previous stage and, last,
`{"t":"stop"}`. EOF on stdin means the supervisor is gone: the stage stops too, so a killed
supervisor leaves no stage behind. Shared by both sides so the framing has one owner.
"""

from __future__ import annotations

import json
import logging
from typing import Any

STOP = b'{"t":"stop"}\n'
HEARTBEAT_PREFIX = b'{"t":"hb"'
HEARTBEAT_S = 0.5          # a stage's heartbeat period (wall s)
SAMPLE_CHARS = 200         # how much of a malformed message the one log line shows


def encode(obj: dict[str, Any]) -> bytes:
    """One line: compact JSON with its newline (the heartbeat prefix relies on `"t"` first)."""
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes | str) -> dict[str, Any] | None:
    """The object on a line, or None when it is not a JSON object."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


class Malformed:
    """Counts malformed messages; logs the first of each kind once, with a sample, and only
    counts the rest (a feed gone bad must not flood the log)."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log, self.what = log, what
        self.count = 0
        self.by_reason: dict[str, int] = {}

    def note(self, reason: str, sample: Any) -> None:
        self.count += 1
        seen = self.by_reason.get(reason, 0)
        self.by_reason[reason] = seen + 1
        if seen == 0:
            text = sample.decode(errors="replace") if isinstance(sample, bytes) else str(sample)
            self.log.warning("malformed %s (%s), skipped; further ones are only counted. "
                             "Sample: %.*s", self.what, reason, SAMPLE_CHARS, text.strip())

    def summary(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.by_reason.items())) or "none"
