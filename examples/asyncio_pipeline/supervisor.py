"""The supervisor: starts the stages, relays their lines, restarts the dead, stops in order.

Data flows ingest -> compute -> publish as lines on the stages' stdout, relayed by the
supervisor into the next stage's stdin through a bounded inbox that holds lines while that
stage is down (a restart loses only what the dead process had read and not passed on).

Stop (SIGINT, SIGTERM, Windows CTRL_BREAK, or the --minutes timer): no restart after that, and
the stages are stopped one at a time downstream first (publish -> compute -> ingest) by a stop
line on their stdin behind whatever is queued for them, each waited for (SIGKILLed after
STOP_GRACE_S: a forced stop makes the exit code 1). Downstream first, so no bar is written
after the output's writer has closed its file, and a stage never reads from a producer that
has gone away mid-line. What compute emits after publish has stopped is counted as
undelivered in supervisor_summary.json.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from examples.asyncio_pipeline import health, wire
from examples.asyncio_pipeline.cli import Config
from examples.asyncio_pipeline.slots import Slot

PIPELINE = (("ingest", "compute"), ("compute", "publish"), ("publish", None))
SHUTDOWN_ORDER = ("publish", "compute", "ingest")
STOP_GRACE_S = 10.0
# between two stages' stops: an outside observer sampling the process table at 20 Hz (the
# soak harness while it stops a run) then sees the stages exit in order, not in one sample
STOP_GAP_S = 0.2
LINE_LIMIT = 2**20
ROOT = Path(__file__).resolve().parents[2]      # `python -m examples...` works from here
DISCOVERY = "example_pipeline.json"
SUMMARY = "supervisor_summary.json"
log = logging.getLogger("asyncio_pipeline.supervisor")


class UsageError(Exception):
    """A setting that cannot work (its message names the option): exit code 2."""


def write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _signal_name(code: int) -> str | None:
    """POSIX: the signal that ended a process (a negative return code), else None."""
    try:
        return signal.Signals(-code).name if code < 0 else None
    except ValueError:
        return f"signal {-code}"


class Supervisor:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.slots = {name: Slot(name, down) for name, down in PIPELINE}
        self.lives: dict[str, asyncio.Task] = {}
        self.phase = "starting"
        self.started_mono = time.monotonic()
        self.stop_requested = asyncio.Event()
        self.stopping = asyncio.Event()
        self.shutdown: list[dict[str, Any]] = []
        self.malformed = wire.Malformed(log, "stage output line")

    def argv(self, name: str) -> list[str]:
        cmd = [sys.executable, "-B", "-m", "examples.asyncio_pipeline.stage", name,
               "--run-dir", str(self.cfg.run_dir)]
        return cmd + (["--feed-url", self.cfg.stream_url] if name == "ingest" else [])

    def document(self) -> dict[str, Any]:
        stages = {n: health.stage_doc(s, self.cfg.max_event_age_s) for n, s in self.slots.items()}
        return {"run_id": self.cfg.run_id, "pid": os.getpid(),
                "state": health.overall(self.phase, stages), "phase": self.phase,
                "mode": self.cfg.mode, "ts_ms": int(time.time() * 1000),
                "uptime_s": round(time.monotonic() - self.started_mono, 3), "stages": stages}

    async def run(self) -> int:
        self._install_signals(asyncio.get_running_loop())
        try:
            server = await health.serve(self.document, self.cfg.health_port)
        except OSError as exc:
            raise UsageError(f"--health-port {self.cfg.health_port}: cannot listen on "
                             f"127.0.0.1 ({exc.strerror or exc})") from None
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/health"
        for name in SHUTDOWN_ORDER:               # consumers first: nothing waits for them
            await self._spawn(self.slots[name])
            self.lives[name] = asyncio.ensure_future(self._life(self.slots[name]))
        self.phase = "running"
        write_json(self.cfg.run_dir / DISCOVERY, {"health_url": url, "pid": os.getpid(),
                                                  "run_id": self.cfg.run_id})
        log.info("running: health at %s, restart=%s", url, self.cfg.restart)
        if self.cfg.minutes:
            asyncio.get_running_loop().call_later(self.cfg.minutes * 60, self._request_stop,
                                                  "the --minutes timer")
        await self.stop_requested.wait()
        await self._stop_all()
        server.close()
        await server.wait_closed()
        return self._finish()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        """signal.signal, not loop.add_signal_handler: the latter does not exist on Windows,
        where the harness's CTRL_BREAK_EVENT arrives as SIGBREAK."""
        def on_signal(signum: int, _frame: Any) -> None:
            loop.call_soon_threadsafe(self._request_stop, signal.Signals(signum).name)
        for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), on_signal)

    def _request_stop(self, why: str) -> None:
        if not self.stop_requested.is_set():
            log.info("stop requested (%s)", why)
            self.stop_requested.set()

    async def _spawn(self, slot: Slot) -> None:
        # Windows: its own process group, so a CTRL_BREAK sent to the supervisor's group
        # does not reach the stage (it stops by its stop line, in order)
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if os.name == "nt" else 0
        slot.proc = await asyncio.create_subprocess_exec(
            *self.argv(slot.name), stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT,
            limit=LINE_LIMIT, creationflags=flags)
        slot.started_mono, slot.last_hb_mono, slot.hb = time.monotonic(), None, {}
        log.info("started %s (pid %d)", slot.name, slot.proc.pid)

    async def _life(self, slot: Slot) -> None:
        """One stage across its lives: wait for its exit, then restart it (or not)."""
        while True:
            proc = slot.proc
            assert proc is not None
            reader = asyncio.ensure_future(self._read(slot, proc))
            feeder = asyncio.ensure_future(self._feed(slot, proc))
            code = await proc.wait()
            await asyncio.wait({reader}, timeout=2)    # the last lines (its final heartbeat)
            reader.cancel()
            feeder.cancel()
            uptime = self._record_exit(slot, proc, code)
            if slot.stopping:
                return
            if self.cfg.restart == "never":
                slot.gave_up = True
                log.error("%s exited (%s) and is not restarted (--restart never)", slot.name,
                          slot.last_exit)
                return
            delay = slot.backoff.next_delay(uptime)
            log.warning("%s exited (%s); restart in %.1f s", slot.name, slot.last_exit, delay)
            try:
                await asyncio.wait_for(self.stopping.wait(), delay)
                return                                  # the stop began meanwhile
            except TimeoutError:
                pass
            slot.restart_count += 1
            await self._spawn(slot)

    def _record_exit(self, slot: Slot, proc: asyncio.subprocess.Process, code: int) -> float:
        uptime = time.monotonic() - (slot.started_mono or time.monotonic())
        slot.last_exit = {"pid": proc.pid, "code": code, "at_ms": int(time.time() * 1000),
                          "uptime_s": round(uptime, 3),
                          "signal": _signal_name(code),
                          "counters": slot.hb.get("counters") or {}}
        slot.exits.append(slot.last_exit)
        return uptime

    async def _read(self, slot: Slot, proc: asyncio.subprocess.Process) -> None:
        """A stage's stdout: heartbeats are kept, data lines go to the next stage's inbox."""
        assert proc.stdout is not None
        down = self.slots[slot.downstream] if slot.downstream else None
        while True:
            try:
                line = await proc.stdout.readline()
            except ValueError:                  # longer than LINE_LIMIT: dropped by asyncio
                self.malformed.note(f"{slot.name}: line over {LINE_LIMIT} bytes", "")
                continue
            if not line:
                return
            if line.startswith(wire.HEARTBEAT_PREFIX):
                hb = wire.decode(line)
                if hb is not None:
                    slot.heard(hb)
                    continue
            if down is not None and line.endswith(b"\n"):
                down.offer(line)
            else:                               # a cut last line, or output of publish
                self.malformed.note(f"{slot.name}: unexpected output", line)

    async def _feed(self, slot: Slot, proc: asyncio.subprocess.Process) -> None:
        """The inbox into the stage's stdin; at the stop, the stop line after the rest."""
        assert proc.stdin is not None
        batch: list[bytes] = []
        try:
            while True:
                while slot.inbox:
                    batch = [slot.inbox.popleft() for _ in range(min(len(slot.inbox), 512))]
                    proc.stdin.write(b"".join(batch))
                    await proc.stdin.drain()
                    batch = []
                if slot.stopping:
                    proc.stdin.write(wire.STOP)
                    await proc.stdin.drain()
                    proc.stdin.close()
                    return
                slot.wake.clear()
                await slot.wake.wait()
        except ConnectionError:                 # the stage died: its pipe is gone
            slot.lost += len(batch)

    async def _stop_all(self) -> None:
        self.phase = "stopping"
        self.stopping.set()
        for name in SHUTDOWN_ORDER:
            slot, life = self.slots[name], self.lives[name]
            pid, forced = slot.pid, False
            slot.stopping = True
            slot.wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(life), STOP_GRACE_S)
            except TimeoutError:
                log.error("%s (pid %s) did not stop within %.0f s: SIGKILL", name, pid,
                          STOP_GRACE_S)
                forced = True
                if slot.proc is not None:
                    slot.proc.kill()
                await life
            slot.stopped = True
            code = slot.last_exit["code"] if pid is not None and slot.last_exit else None
            self.shutdown.append({"stage": name, "pid": pid, "code": code, "forced": forced,
                                  "stopped_ms": int(time.time() * 1000)})
            log.info("stopped %s (pid %s, exit code %s)", name, pid, code)
            await asyncio.sleep(STOP_GAP_S)
        self.phase = "stopped"

    def _finish(self) -> int:
        failed = [e["stage"] for e in self.shutdown
                  if e["forced"] or e["code"] != 0 or self.slots[e["stage"]].gave_up]
        code = 1 if failed else 0
        write_json(self.cfg.run_dir / SUMMARY, {
            "exit_code": code, "restart": self.cfg.restart, "shutdown": self.shutdown,
            "stages": {n: s.summary() for n, s in self.slots.items()},
            "malformed_stage_output": self.malformed.count})
        if failed:
            log.error("stopped; stage(s) %s did not end cleanly: exit code 1", failed)
        else:
            log.info("stopped cleanly")
        return code
