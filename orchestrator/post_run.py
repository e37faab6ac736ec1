"""After every stage has stopped: the report finaliser (one-shot child, bounded time) and,
after a --sink dual run, the parity file. Both belong to other parts; each is skipped with a
log line while its module does not exist yet."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
from typing import Any

FINALIZE_MODULE = "orchestrator.report.finalize"


class PostRun:
    def __init__(self, opts: Any, finalize_timeout_s: float, log: logging.Logger) -> None:
        self.opts = opts
        self.timeout_s = finalize_timeout_s
        self.log = log
        self.sections: dict[str, Any] = {}
        self.finalize: dict[str, Any] = {"ran": False, "reason": "not yet"}
        self.parity: dict[str, Any] = {"ran": False, "reason": "not yet"}

    def summary(self) -> dict[str, Any]:
        return {"finalize": self.finalize, "parity": self.parity}

    def run(self) -> None:
        self._run_finalize()
        self._run_parity()

    def _run_finalize(self) -> None:
        if importlib.util.find_spec(FINALIZE_MODULE) is None:
            self.finalize = {"ran": False, "reason": f"{FINALIZE_MODULE} not present"}
            self.log.info("report finaliser skipped: %s does not exist yet", FINALIZE_MODULE)
            return
        run_dir = self.opts.run_dir.resolve()
        argv = [sys.executable, "-m", FINALIZE_MODULE, "--config",
                str(self.opts.config_path.resolve()), "--run-dir", str(run_dir),
                "--sink", self.opts.sink, "--run-id", self.opts.run_id]
        started = time.monotonic()
        with open(run_dir / "logs" / "report_finalize.log", "ab") as log_file:
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
        self.finalize = {"ran": True, "exit_code": code, "timed_out": code is None,
                         "duration_s": round(time.monotonic() - started, 3)}
        self.log.info("report finaliser: %s", self.finalize)
        self._merge_status(run_dir / "status" / "report_finalize.json")

    def _merge_status(self, path: Any) -> None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.log.warning("report finaliser status unreadable: %s", exc)
            return
        self.sections.update({k: v for k, v in (doc.get("manifest") or {}).items()
                              if k != "source"})

    def _run_parity(self) -> None:
        if self.opts.sink != "dual":
            self.parity = {"ran": False, "reason": f"sink is {self.opts.sink}"}
            return
        try:
            parity = importlib.import_module("evidence.parity")
        except ImportError:
            parity = None
        if parity is None or not hasattr(parity, "write_parity"):
            self.parity = {"ran": False, "reason": "evidence.parity.write_parity not present"}
            self.log.info("parity skipped: evidence.parity.write_parity does not exist yet")
            return
        try:
            parity.write_parity(self.opts.run_dir.resolve())
            self.parity = {"ran": True, "file": "parity_diff.json"}
        except Exception as exc:  # noqa: BLE001 - a broken parity tool must not lose the run
            self.parity = {"ran": True, "error": f"{type(exc).__name__}: {exc}"}
            self.log.exception("parity failed")
