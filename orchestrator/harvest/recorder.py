"""Optional raw-frame recording in the replay feed's recording format (gzip JSON lines).

Every valid frame is a `{"recv_ms", "stream", "data"}` line; every REST depth snapshot the stage
took is a `{"recv_ms", "snapshot": SYMBOL, "data": <the /fapi/v1/depth body>}` line, so the
replay feed can serve the very snapshots the live run synced its books with.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from pathlib import Path


class FrameRecorder:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
        self.path = directory / f"harvest_{stamp}_{int(time.time() * 1000) % 1000:03d}.jsonl.gz"
        # compresslevel 1: recording must not slow the stage down
        self._fh = gzip.open(self.path, "wb", compresslevel=1)
        self._lock = threading.Lock()      # the reader thread writes, the stage thread flushes

    def write(self, line: str) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.write(line.encode("utf-8") + b"\n")

    def write_snapshot(self, recv_ms: int, symbol: str, body: dict) -> None:
        self.write(json.dumps({"recv_ms": recv_ms, "snapshot": symbol, "data": body},
                              separators=(",", ":")))

    def flush(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.close()
