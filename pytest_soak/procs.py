"""Starting, stopping and sweeping the processes of a run, portably.

Every process of a run is tagged twice: it runs in its own process group / session
(`start_new_session` on POSIX, `CREATE_NEW_PROCESS_GROUP` on Windows) and carries the
environment marker `SOAK_RUN_ID=<run_id>`, which its children inherit. The final sweep finds
survivors by either tag, records them as orphans and ends them; a zombie counts as dead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from pytest_soak.resources import alive

RUN_MARKER = "SOAK_RUN_ID"
POSIX = os.name == "posix"


def popen_logged(cmd: list[str], log_path: Path, env: dict[str, str],
                 cwd: Path | None = None) -> subprocess.Popen:
    """Start `cmd` in a new process group with stdout+stderr to a file (never a pipe)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        kwargs: dict = {"stdout": log, "stderr": subprocess.STDOUT, "stdin": subprocess.DEVNULL,
                        "env": env, "cwd": cwd}
        if POSIX:
            kwargs["start_new_session"] = True
        else:
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        return subprocess.Popen(cmd, **kwargs)


def send_stop(proc: subprocess.Popen) -> str:
    """Ask the root process to stop gracefully; returns the signal's name.

    Only the root gets it: the supervisor stops its stages in its own order (D10). On Windows
    SIGINT cannot be sent to another console group, so CTRL_BREAK_EVENT is used.
    """
    if POSIX:
        proc.send_signal(signal.SIGINT)
        return "SIGINT"
    proc.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
    return "CTRL_BREAK_EVENT"


def wait_exit(proc: subprocess.Popen, timeout_s: float) -> int | None:
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None


def kill_tree(root_pid: int) -> list[int]:
    """SIGKILL a process and every descendant still alive; returns the pids killed."""
    try:
        root = psutil.Process(root_pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return []
    killed = []
    for proc in procs:
        try:
            proc.kill()
            killed.append(proc.pid)
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)
    return killed


def _tagged(proc: psutil.Process, run_id: str, pgid: int | None) -> bool:
    try:
        if pgid is not None and POSIX and os.getpgid(proc.pid) == pgid:
            return True
        return proc.environ().get(RUN_MARKER) == run_id
    except (psutil.Error, OSError):
        return False


def find_tagged(run_id: str, pgid: int | None = None) -> list[psutil.Process]:
    """Live processes of this run (by process group or the environment marker), not us."""
    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me or not alive(proc):
            continue
        if _tagged(proc, run_id, pgid):
            found.append(proc)
    return found


def describe(proc: psutil.Process) -> dict:
    try:
        return {"pid": proc.pid, "name": proc.name(), "cmdline": proc.cmdline(),
                "status": proc.status()}
    except psutil.Error:
        return {"pid": proc.pid, "name": "?", "cmdline": [], "status": "gone"}


def sweep(run_id: str, pgid: int | None = None, grace_s: float = 3.0) -> list[dict]:
    """End every survivor of the run (SIGTERM, then SIGKILL); returns what was found."""
    survivors = find_tagged(run_id, pgid)
    found = [describe(p) for p in survivors]
    for proc in survivors:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, still = psutil.wait_procs(survivors, timeout=grace_s)
    for proc in still:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(still, timeout=grace_s)
    return found


def wait_for(predicate, timeout_s: float, step_s: float = 0.05) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
