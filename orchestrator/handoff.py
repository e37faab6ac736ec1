"""Durable handoff between stages: an append-only JSON-lines log per topic, in segments.

Layout: `<topic_dir>/<seq:08d>.jsonl` segments and `<topic_dir>/<consumer>.offset.json`.
- One writer per topic. Each append is one unbuffered write(2) of a whole line, so a SIGKILLed
  writer loses nothing that `append` returned for (the OS keeps written bytes); a restarted
  writer always starts a new segment.
- A reader only ever returns complete lines. An incomplete last line of a segment is a torn
  tail (writer killed mid-line) once a newer segment exists: it is skipped and counted.
- Each consumer resumes from its own committed position (segment + byte offset).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from pytest_soak_evidence.atomic import write_json_atomic

SEGMENT_SUFFIX = ".jsonl"
READ_CHUNK = 1 << 20
Position = tuple[int, int]                                 # (segment seq, byte offset)
_encode = json.JSONEncoder(separators=(",", ":")).encode   # built once: dumps() per call is slower
log = logging.getLogger(__name__)


def segment_name(seq: int) -> str:
    return f"{seq:08d}{SEGMENT_SUFFIX}"


def list_segments(topic_dir: Path) -> list[int]:
    """Sequence numbers of the segments in `topic_dir`, ascending."""
    out = []
    if topic_dir.is_dir():
        for path in topic_dir.iterdir():
            stem = path.name[: -len(SEGMENT_SUFFIX)]
            if path.name.endswith(SEGMENT_SUFFIX) and stem.isdigit():
                out.append(int(stem))
    return sorted(out)


class _BackgroundFsync:
    """Runs the periodic fsync off the append path (os.fsync releases the GIL), so appends do
    not stall for milliseconds every `fsync_every` records. `flush()` still fsyncs inline."""

    def __init__(self) -> None:
        self.lock = threading.Lock()          # held around fsync and around close/roll of fd
        self.fd: int | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="handoff-fsync", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            with self.lock:
                if self.fd is not None:
                    try:
                        os.fsync(self.fd)
                    except OSError:
                        pass

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(5)


class HandoffWriter:
    """Appends records to a topic; one instance (and one process) per topic."""

    def __init__(self, topic_dir: Path, fsync_every: int = 1000,
                 segment_bytes: int = 64 << 20) -> None:
        self.topic_dir = Path(topic_dir)
        self.topic_dir.mkdir(parents=True, exist_ok=True)
        self.fsync_every = max(1, fsync_every)
        self.segment_bytes = segment_bytes
        self.appended = 0
        existing = list_segments(self.topic_dir)
        self._seq = (existing[-1] + 1) if existing else 1
        self._fd: int | None = None
        self._size = 0
        self._since_fsync = 0
        self._syncer = _BackgroundFsync()
        self._open_segment()

    def _open_segment(self) -> None:
        path = self.topic_dir / segment_name(self._seq)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
        self._fd = os.open(path, flags, 0o644)
        self._size = os.fstat(self._fd).st_size
        self._syncer.fd = self._fd

    def append(self, record: dict) -> None:
        """Accepted once this returns: the whole line has been handed to the OS."""
        self._write(_encode(record).encode("utf-8") + b"\n")

    def append_raw(self, line: str) -> None:
        """A pre-serialised JSON object without its newline."""
        self._write(line.encode("utf-8") + b"\n")

    def append_raw_many(self, lines: list[str]) -> None:
        """Several pre-serialised JSON objects in one write (harvest's hot path); each line
        is accepted once this returns, exactly as with append_raw."""
        if lines:
            self._write(("\n".join(lines) + "\n").encode("utf-8"), len(lines))

    def _write(self, data: bytes, records: int = 1) -> None:
        if self._fd is None:
            raise ValueError("HandoffWriter is closed")
        if self._size and self._size + len(data) > self.segment_bytes:
            self._roll()
        written = os.write(self._fd, data)
        if written < len(data):                  # a short write is rare but legal
            self._write_rest(memoryview(data)[written:])
        self._size += len(data)
        self.appended += records
        self._since_fsync += records
        if self._since_fsync >= self.fsync_every:
            self._since_fsync = 0
            self._syncer.request()

    def _write_rest(self, view: memoryview) -> None:
        while view:
            view = view[os.write(self._fd, view):]

    def _roll(self) -> None:
        with self._syncer.lock:
            os.fsync(self._fd)
            os.close(self._fd)
            self._seq += 1
            self._open_segment()

    def flush(self) -> None:
        """fsync what was written (appends are already in the OS; this survives power loss)."""
        if self._fd is not None:
            os.fsync(self._fd)
            self._since_fsync = 0

    def close(self) -> None:
        if self._fd is not None:
            self._syncer.stop()
            with self._syncer.lock:
                os.fsync(self._fd)
                os.close(self._fd)
                self._syncer.fd = None
                self._fd = None


class HandoffReader:
    """Reads a topic after a consumer's committed position; `commit()` persists the position."""

    def __init__(self, topic_dir: Path, consumer: str) -> None:
        self.topic_dir = Path(topic_dir)
        self.consumer = consumer
        self.offset_path = self.topic_dir / f"{consumer}.offset.json"
        self.torn_lines = 0
        self.bad_lines = 0
        self._seq, self._offset = self._load_position()

    def _load_position(self) -> tuple[int, int]:
        try:
            with open(self.offset_path, encoding="utf-8") as handle:
                doc = json.load(handle)
            return int(doc["segment"]), int(doc["offset"])
        except FileNotFoundError:
            segments = list_segments(self.topic_dir)
            return (segments[0] if segments else 1), 0

    @property
    def position(self) -> tuple[int, int]:
        return self._seq, self._offset

    def read(self, max_records: int) -> list[dict]:
        return [record for _, record in self.read_positioned(max_records)]

    def read_positioned(self, max_records: int) -> list[tuple[Position, dict]]:
        """Like read(), each record with the position it starts at: committing that position
        (`commit(position)`) makes a restarted reader read the record again."""
        out: list[tuple[Position, dict]] = []
        while len(out) < max_records:
            got = self._read_segment(max_records - len(out))
            out.extend(got)
            if got or not self._advance_if_done():
                if not got:
                    break
        return out

    def _read_segment(self, limit: int) -> list[tuple[Position, dict]]:
        data = self._read_bytes(self._seq, self._offset)
        if not data:
            return []
        out: list[tuple[Position, dict]] = []
        pos = 0
        while len(out) < limit:
            end = data.find(b"\n", pos)
            if end < 0:
                break
            line = data[pos:end]
            start, pos = pos, end + 1
            try:
                record = json.loads(line)
            except ValueError:
                self.bad_lines += 1
                log.warning("handoff %s: skipped a malformed line: %r", self.topic_dir, line[:200])
                continue
            out.append(((self._seq, self._offset + start), record))
        self._offset += pos
        return out

    def _read_bytes(self, seq: int, offset: int) -> bytes:
        try:
            with open(self.topic_dir / segment_name(seq), "rb") as handle:
                handle.seek(offset)
                return handle.read(READ_CHUNK)
        except FileNotFoundError:
            return b""

    def _advance_if_done(self) -> bool:
        """Move to the next segment once a newer one exists and this one is exhausted.

        The writer never returns to an older segment, so once a newer segment exists the
        re-read below is final: a remaining incomplete line is a torn tail.
        """
        newer = [s for s in list_segments(self.topic_dir) if s > self._seq]
        if not newer:
            return False
        rest = self._read_bytes(self._seq, self._offset)
        if b"\n" in rest:
            return True                          # complete lines arrived meanwhile: read them
        if rest:
            self.torn_lines += 1
            log.warning("handoff %s: skipped a torn tail of segment %d (%d bytes)",
                        self.topic_dir, self._seq, len(rest))
        self._seq, self._offset = newer[0], 0
        return True

    def commit(self, position: Position | None = None) -> None:
        """Persist the position of everything read so far, or an earlier `position` (one
        read_positioned gave: a consumer still holding records commits the first of them;
        atomic, durable)."""
        seq, offset = self.position if position is None else position
        if (seq, offset) > self.position:
            raise ValueError(f"commit position {(seq, offset)} is past the read position "
                             f"{self.position}")
        write_json_atomic(self.offset_path, {"segment": seq, "offset": offset,
                                             "consumer": self.consumer})
