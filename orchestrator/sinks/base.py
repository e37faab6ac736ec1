"""The sink interface: a batch of signal rows in, durably committed when `write_batch` returns.

Every sink is idempotent on `row_id`: writing a row whose id it already holds is a counted
no-op (`duplicates_skipped`), so a signal stage that replays events after a SIGKILL never
creates a second row.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

# The signal record as every sink stores it (SQLite column order; JSONL keys).
SIGNAL_FIELDS = (
    "row_id", "ts_ms", "symbol", "agg_id", "price", "mid_px", "spread_bps", "ofi", "cvd",
    "ofi_z", "cvd_z", "score", "side", "consistency", "confirm", "strong", "gating", "regime",
)

encode_row = json.JSONEncoder(separators=(",", ":")).encode


class SinkUnavailable(RuntimeError):
    """The sink could not commit a batch (e.g. a SQLite database locked past its retries).

    Nothing of the batch is lost: the caller keeps it and retries later.
    """


@dataclass
class SinkCounters:
    rows_written: int = 0
    duplicates_skipped: int = 0
    torn_lines: int = 0
    lock_retries: int = 0
    errors: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Sink(ABC):
    kind: str = "sink"

    def __init__(self) -> None:
        self.counters = SinkCounters()

    @abstractmethod
    def write_batch(self, rows: Sequence[dict], lines: Sequence[str] | None = None) -> int:
        """Commit `rows` durably (`lines`: the same rows already serialised, optional).

        Returns how many were new; raises SinkUnavailable when it cannot commit.
        """

    @abstractmethod
    def close(self) -> None:
        """Flush and release; the tail batch is durable afterwards."""

    def metrics(self) -> dict:
        return {self.kind: self.counters.as_dict()}
