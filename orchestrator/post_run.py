"""After every stage has stopped: the finalisers (one-shot children, bounded time) of the
broker and the report, then, after a --sink dual run, the parity file."""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import time
from typing import Any

# Finalisers run in this order once every stage has stopped. The broker drains the confirmed
# signals the signal stage committed after the broker had stopped (the default shutdown order
# stops the broker first); the report then covers every committed signal and the final
# executor metrics.
FINALIZERS = (
    ("broker", ["-m", "orchestrator.stage_main", "broker", "--drain"]),
    ("report", ["-m", "orchestrator.report.finalize"]),
)


class PostRun:
    def __init__(self, opts: Any, finalize_timeout_s: float, log: logging.Logger) -> None:
        self.opts = opts
        self.timeout_s = finalize_timeout_s
        self.log = log
        self.sections: dict[str, Any] = {}
        self.finalize: dict[str, Any] = {}
        self.parity: dict[str, Any] = {"ran": False, "reason": "not yet"}

    def summary(self) -> dict[str, Any]:
        return {"finalize": self.finalize, "parity": self.parity}

    def run(self) -> None:
        for stage, module_argv in FINALIZERS:
            if stage in self.opts.enabled:
                self.finalize[stage] = self._run_finalizer(stage, module_argv)
            else:
                self.finalize[stage] = {"ran": False, "reason": f"{stage} not enabled"}
        self._run_parity()

    def _run_finalizer(self, stage: str, module_argv: list[str]) -> dict[str, Any]:
        run_dir = self.opts.run_dir.resolve()
        argv = [sys.executable, *module_argv, "--config", str(self.opts.config_path.resolve()),
                "--run-dir", str(run_dir), "--sink", self.opts.sink, "--run-id", self.opts.run_id]
        started = time.monotonic()
        with open(run_dir / "logs" / f"{stage}_finalize.log", "ab") as log_file:
            env = dict(os.environ, SOAK_RUN_ID=self.opts.run_id,
                       ORCH_SUPERVISOR_PID=str(os.getpid()))
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file,
                                    stderr=subprocess.STDOUT, env=env)
            try:
                code: int | None = proc.wait(self.timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
                code = None
        result = {"ran": True, "exit_code": code, "timed_out": code is None,
                  "duration_s": round(time.monotonic() - started, 3)}
        self.log.info("%s finaliser: %s", stage, result)
        self._merge_status(run_dir / "status" / f"{stage}_finalize.json")
        return result

    def _merge_status(self, path: Any) -> None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.log.warning("finaliser status %s unreadable: %s", path, exc)
            return
        self.sections.update({k: v for k, v in (doc.get("manifest") or {}).items()
                              if k != "source"})

    def _run_parity(self) -> None:
        if self.opts.sink != "dual":
            self.parity = {"ran": False, "reason": f"sink is {self.opts.sink}"}
            return
        try:
            parity = importlib.import_module("pytest_soak_evidence.parity")
        except ImportError:
            parity = None
        if parity is None or not hasattr(parity, "write_parity"):
            self.parity = {"ran": False,
                           "reason": "pytest_soak_evidence.parity.write_parity not present"}
            self.log.info("parity skipped: pytest_soak_evidence.parity.write_parity is missing")
            return
        try:
            parity.write_parity(self.opts.run_dir.resolve())
            self.parity = {"ran": True, "file": "parity_diff.json"}
        except Exception as exc:  # noqa: BLE001 - a broken parity tool must not lose the run
            self.parity = {"ran": True, "error": f"{type(exc).__name__}: {exc}"}
            self.log.exception("parity failed")
