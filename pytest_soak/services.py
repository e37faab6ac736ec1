"""The real time-series servers (Debian packages) as ordinary Python classes, usable without
pytest: start on a free 127.0.0.1 port with a temp data dir, ready check, stop, restart on the
same port, logs to a file, and read-back helpers. The plugin wraps them in fixtures.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceError(RuntimeError):
    """A server could not be started or did not become ready."""


class _Server:
    binary = ""
    ready_path = "/"

    def __init__(self, workdir: Path | str | None = None, port: int | None = None,
                 ready_timeout_s: float = 15.0, extra_env: dict[str, str] | None = None) -> None:
        self.extra_env = dict(extra_env or {})      # e.g. the harness's marker (harness_record)
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"soak-{self.binary}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.ready_timeout_s = ready_timeout_s
        self.log_path = self.workdir / f"{self.binary}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        return None

    def start(self) -> None:
        if shutil.which(self.binary) is None:
            raise ServiceError(f"{self.binary} is not installed (see README: apt-get install)")
        if self.running:
            return
        log = open(self.log_path, "ab")
        try:
            env = self.environment()
            if self.extra_env:
                env = {**(env or os.environ), **self.extra_env}
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, cwd=self.workdir)
        finally:
            log.close()
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServiceError(f"{self.binary} exited with {self.proc.returncode}; "
                                   f"see {self.log_path}")
            if self.is_ready():
                return
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"{self.binary} not ready on {self.url} after "
                           f"{self.ready_timeout_s} s; see {self.log_path}")

    def is_ready(self) -> bool:
        try:
            return requests.get(self.url + self.ready_path, timeout=1).status_code < 300
        except requests.RequestException:
            return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> _Server:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()


class PushgatewayServer(_Server):
    """prometheus-pushgateway persisting to a file in ITS OWN work dir (never Debian's shared
    default, so no old run comes back), so a restart on the same port keeps what was pushed."""

    binary = "prometheus-pushgateway"
    ready_path = "/-/ready"

    def command(self) -> list[str]:
        return [self.binary, f"--web.listen-address=127.0.0.1:{self.port}",
                f"--persistence.file={self.workdir / 'persistence.db'}",
                "--persistence.interval=1s", "--web.enable-admin-api"]

    def groups(self) -> list[dict[str, Any]]:
        response = requests.get(self.url + "/api/v1/metrics", timeout=5)
        response.raise_for_status()
        return response.json()["data"]

    def run_groups(self, run_id: str) -> list[dict[str, Any]]:
        return [g for g in self.groups() if g["labels"].get("run_id") == run_id]

    def read_run(self, run_id: str) -> dict[tuple[tuple[str, str], ...], dict[str, list]]:
        """{sorted grouping labels: {metric name: [(labels, float value), ...]}} of a run."""
        out: dict[tuple[tuple[str, str], ...], dict[str, list]] = {}
        for group in self.run_groups(run_id):
            key = tuple(sorted(group["labels"].items()))
            metrics: dict[str, list] = {}
            for name, family in group.items():
                if not isinstance(family, dict) or "metrics" not in family:
                    continue
                metrics[name] = [(m.get("labels", {}), float(m["value"]))
                                 for m in family["metrics"] if "value" in m]
            out[key] = metrics
        return out

    def delete_run(self, run_id: str, job: str = "soak_report") -> int:
        """Delete every group of one run (a Pushgateway never forgets); returns how many."""
        deleted = 0
        for group in self.run_groups(run_id):
            labels = dict(group["labels"])
            job_name = labels.pop("job", job)
            path = f"/metrics/job/{job_name}" + "".join(
                f"/{k}/{v}" for k, v in labels.items())
            requests.delete(self.url + path, timeout=5).raise_for_status()
            deleted += 1
        return deleted


class InfluxDBServer(_Server):
    """influxd 1.x configured only through the environment; both ports on loopback."""

    binary = "influxd"
    ready_path = "/ping"

    def __init__(self, workdir: Path | str | None = None, port: int | None = None,
                 rpc_port: int | None = None, ready_timeout_s: float = 20.0,
                 extra_env: dict[str, str] | None = None) -> None:
        super().__init__(workdir, port, ready_timeout_s, extra_env)
        self.rpc_port = rpc_port or free_port()

    def command(self) -> list[str]:
        return [self.binary, "run", "-config", "/dev/null"]

    def environment(self) -> dict[str, str]:
        data = self.workdir / "data"
        return {**os.environ,
                "INFLUXDB_HTTP_BIND_ADDRESS": f"127.0.0.1:{self.port}",
                "INFLUXDB_BIND_ADDRESS": f"127.0.0.1:{self.rpc_port}",
                "INFLUXDB_META_DIR": str(data / "meta"),
                "INFLUXDB_DATA_DIR": str(data / "data"),
                "INFLUXDB_DATA_WAL_DIR": str(data / "wal"),
                "INFLUXDB_REPORTING_DISABLED": "true",
                "INFLUXDB_HTTP_LOG_ENABLED": "false"}

    def query(self, database: str, q: str) -> list[dict[str, Any]]:
        """Rows of the first statement's series, each as a dict (with 'time' in ms)."""
        response = requests.get(self.url + "/query", timeout=10,
                                params={"db": database, "q": q, "epoch": "ms"})
        response.raise_for_status()
        rows = []
        for result in response.json().get("results", []):
            if "error" in result:
                raise ServiceError(f"influx query {q!r}: {result['error']}")
            for series in result.get("series", []):
                tags = series.get("tags", {})
                for values in series["values"]:
                    rows.append({**tags, **dict(zip(series["columns"], values, strict=True))})
        return rows
