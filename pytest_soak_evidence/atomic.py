"""Atomic file writes: a reader (or a crash) never sees half a file."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def replace_with_retry(src: Path | str, dst: Path | str, attempts: int = 5,
                       delay_s: float = 0.05) -> None:
    """os.replace, retried on a transient error (a Windows sharing violation)."""
    for attempt in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay_s * (2 ** attempt))


def fsync_dir(path: Path | str) -> None:
    """Make a rename durable on POSIX; Windows cannot open a directory, and needs no such step."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path | str, data: bytes, durable: bool = True) -> None:
    """Write to a temp file beside `path`, fsync it, rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        replace_with_retry(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def write_json_atomic(path: Path | str, doc: Any, durable: bool = True) -> None:
    """Serialise `doc` as indented JSON and write it atomically."""
    data = json.dumps(doc, indent=2, sort_keys=False, default=str).encode("utf-8") + b"\n"
    write_bytes_atomic(path, data, durable=durable)
