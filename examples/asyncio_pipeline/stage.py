"""One stage process: `python -m examples.asyncio_pipeline.stage NAME [options]`.

The supervisor starts each stage with this command line (the harness names a stage process by
it: `examples\\.asyncio_pipeline\\.stage\\s+(?P<stage>...)`). A stage ignores SIGINT: a
terminal's Ctrl+C reaches the whole process group, and the stages must stop one by one in the
supervisor's order, when it writes `{"t":"stop"}` to their stdin. SIGTERM (someone ending
this process directly) stops it like that message.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from examples.asyncio_pipeline import wire

STAGES = ("ingest", "compute", "publish")
INBOX_MAX = 2000           # stdin lines read ahead of the stage (bounds its memory)
log = logging.getLogger("asyncio_pipeline.stage")


class StageIO:
    """What a stage's body sees: its input lines, its output, its counters and readiness."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = False
        self.counters: dict[str, int] = {}
        self.last_event_ms: int | None = None     # newest market event time (ingest)
        self.last_event_wall_ms: int | None = None
        self.stopping = asyncio.Event()
        self.malformed = wire.Malformed(log, "input line")
        self._out = sys.stdout.buffer
        self._lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._room = threading.Semaphore(INBOX_MAX)

    def count(self, key: str, by: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + by

    def emit(self, obj: dict[str, Any]) -> None:
        try:
            self._out.write(wire.encode(obj))
            self._out.flush()
        except (BrokenPipeError, ValueError):    # the supervisor is gone: stop, quietly
            self.stopping.set()

    def heartbeat(self) -> None:
        self.emit({"t": "hb", "ready": self.ready, "counters": self.counters,
                   "malformed": self.malformed.count, "last_event_ms": self.last_event_ms,
                   "last_event_wall_ms": self.last_event_wall_ms})

    async def beat(self) -> None:
        while True:
            self.heartbeat()
            await asyncio.sleep(wire.HEARTBEAT_S)

    def start_reading(self, loop: asyncio.AbstractEventLoop) -> None:
        """stdin on a thread: asyncio cannot read an inherited pipe on Windows. The thread
        reads the raw fd (os.read), never sys.stdin: a daemon thread blocked inside a
        buffered reader at interpreter exit holds its lock, and the exit then aborts (a stage
        stopping between the stop line and the pipe's EOF died of SIGABRT that way)."""
        def pump() -> None:
            fd, rest = sys.stdin.fileno(), b""
            try:
                while chunk := os.read(fd, 65536):
                    *lines, rest = (rest + chunk).split(b"\n")
                    for line in lines:
                        self._room.acquire()
                        loop.call_soon_threadsafe(self._lines.put_nowait, line + b"\n")
                loop.call_soon_threadsafe(self._lines.put_nowait, None)   # EOF
            except RuntimeError:           # the loop closed first: the stage is exiting
                pass
        threading.Thread(target=pump, name="stdin", daemon=True).start()

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """Data objects from stdin until the stop message, EOF or SIGTERM."""
        while not self.stopping.is_set():
            getter = asyncio.ensure_future(self._lines.get())
            stop = asyncio.ensure_future(self.stopping.wait())
            await asyncio.wait({getter, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not getter.done():
                getter.cancel()
                return
            line = getter.result()
            if line is None or line == wire.STOP:
                self.stopping.set()
                return
            self._room.release()
            obj = wire.decode(line)
            if obj is None:
                self.malformed.note("not a JSON object", line)
                continue
            yield obj


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m examples.asyncio_pipeline.stage")
    p.add_argument("name", choices=STAGES)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--feed-url", help="ingest: the full combined-stream URL")
    return p.parse_args(argv)


async def run_stage(args: argparse.Namespace) -> None:
    from examples.asyncio_pipeline import compute, ingest, publish
    body = {"ingest": ingest.run, "compute": compute.run, "publish": publish.run}[args.name]
    io = StageIO(args.name)
    loop = asyncio.get_running_loop()
    signal.signal(signal.SIGTERM, lambda *_: loop.call_soon_threadsafe(io.stopping.set))
    io.start_reading(loop)
    beat = asyncio.ensure_future(io.beat())
    started = time.monotonic()
    try:
        await body(io, args)
    finally:
        beat.cancel()
        io.ready = False
        io.heartbeat()          # the final counters
    log.info("stopped after %.1f s; counters %s; malformed input: %s",
             time.monotonic() - started, io.counters, io.malformed.summary())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s {args.name}[{os.getpid()}] %(levelname)s "
                               f"%(message)s")
    asyncio.run(run_stage(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
