"""Optional raw-frame recording in the replay feed's recording format (gzip JSON lines)."""

from __future__ import annotations

import gzip
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

    def flush(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.close()
