"""The run's sidecars: the replay feed and the time-series store, as plain classes.

The feed runs as its own process (`python -m pytest_soak.replay_feed ...`, logs to a file in the run
folder) so its pacing never competes with the harness's threads for the GIL; the harness talks
to it only over loopback HTTP (its control API). The store is `services.PushgatewayServer` /
`services.InfluxDBServer` / `victoria_metrics.VictoriaMetricsServer` (influxdb-v2), or an
existing URL given with --soak-timeseries-url (then only a reachability precheck, and a
store-down fault cannot be induced: it is reported, not faked).
Given the harness's guard (`harness_record.HarnessGuard`), each sidecar process carries its
marker and is registered with it, so it dies with the harness.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from pytest_soak import services
from pytest_soak.procs import POSIX, kill_tree, popen_logged, send_stop, wait_exit
from pytest_soak.replay_feed.market import DEFAULT_PROFILE
from pytest_soak.replay_feed.sent_log import FILE_NAME as SENT_LOG_NAME
from pytest_soak.victoria_metrics import VictoriaMetricsServer

if TYPE_CHECKING:
    from pytest_soak.harness_record import HarnessGuard


class SidecarError(RuntimeError):
    """A sidecar could not start; the message says which and where its log is."""


class FeedSidecar:
    """The local replay feed (replay_feed package) in a child process."""

    def __init__(self, workdir: Path, speed: float, seed: int, symbols: list[str],
                 live: bool, start_on: str = "subscribe",
                 guard: HarnessGuard | None = None, recording: Path | None = None,
                 profile: str = DEFAULT_PROFILE) -> None:
        self.workdir = workdir
        self.recording = recording        # None: the seeded generator is the market
        self.profile = profile            # the generator's (market.PROFILES)
        self.guard = guard
        self.start_on = start_on          # the feed's clock starts at the first subscription
        self.speed, self.seed, self.symbols, self.live = speed, seed, symbols, live
        self.log_path = workdir / "logs" / "replay_feed.log"
        self.stop_file = workdir / "harness" / "replay_feed.stop"
        # when the feed sent each aggTrade, written by the feed at its stop (pytest_soak/latency)
        self.sent_log = workdir / "harness" / SENT_LOG_NAME
        self.proc = None
        self.info: dict[str, Any] = {}
        self.http = requests.Session()
        self.on_control = None
        self.final_stats: dict[str, Any] | None = None
        self.stats_error: str | None = None
        self.source: dict[str, Any] | None = None     # the feed's account of its market

    def command(self) -> list[str]:
        # a recording loops to the soak's length, each loop continuing the last (looping.py)
        market = (["--recording", str(self.recording), "--loop"] if self.recording else
                  ["--generate", str(self.seed), "--symbols", str(len(self.symbols)),
                   "--profile", self.profile])
        return [sys.executable, "-m", "pytest_soak.replay_feed", *market,
                "--speed", f"{self.speed:g}",
                "--host", "127.0.0.1", "--start-on", self.start_on,
                "--stop-file", str(self.stop_file), "--sent-log", str(self.sent_log)
                ] + (["--live"] if self.live else [])

    def start(self, timeout_s: float = 20.0) -> None:
        """Start it and read the URLs it prints as its first JSON line (in its log file)."""
        self.stop_file.unlink(missing_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        env = {**os.environ, **(self.guard.env() if self.guard else {})}
        self.proc = popen_logged(self.command(), self.log_path, env)
        if self.guard is not None:
            self.guard.register(self.proc, "replay_feed", group_leader=POSIX)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SidecarError(f"replay feed exited with {self.proc.returncode} at start; "
                                   f"see {self.log_path}")
            self.info = _first_json_line(self.log_path, offset, "ws_base")
            if self.info:
                return
            time.sleep(0.05)
        self.stop()
        raise SidecarError(f"replay feed not ready after {timeout_s:g} s; see {self.log_path}")

    @property
    def ws_url(self) -> str | None:
        return self.info.get("ws_base")

    @property
    def rest_url(self) -> str | None:
        return self.info.get("rest_base")

    @property
    def control_url(self) -> str | None:
        return self.info.get("rest_base")

    def state(self, timeout_s: float = 2.0) -> dict[str, Any]:
        resp = self.http.get(f"{self.control_url}/control/state", timeout=timeout_s)
        resp.raise_for_status()
        return resp.json()

    def control(self, fault: str, action: str = "start",
                params: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST /control/<fault>[/end]; raises SidecarError with the feed's own message."""
        path = f"/control/{fault}" + ("/end" if action == "end" else "")
        resp = self.http.post(self.control_url + path, json=params or {}, timeout=10)
        if resp.status_code != 200:
            raise SidecarError(f"feed control {path} -> HTTP {resp.status_code}: {resp.text[:200]}")
        if self.on_control is not None:
            self.on_control()                 # e.g. the market clock re-reads the feed's rate
        return resp.json()

    def read_stats(self) -> None:
        """The feed's own account of its connections and deliveries (GET /control/stats),
        read once at the end of the run, before the feed stops: D7 and "no event lost" judge
        harvest's claims against it."""
        try:
            resp = self.http.get(f"{self.control_url}/control/stats", timeout=10)
            resp.raise_for_status()
            self.final_stats = resp.json()
            self.source = self.state(timeout_s=10).get("source")
        except (requests.RequestException, ValueError) as exc:
            self.stats_error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.read_stats()
            self.stop_file.parent.mkdir(parents=True, exist_ok=True)
            self.stop_file.touch()                     # portable stop; the signal is a backup
            if wait_exit(self.proc, 3) is None:
                send_stop(self.proc)
            if wait_exit(self.proc, 5) is None:
                kill_tree(self.proc.pid)
                wait_exit(self.proc, 5)
        self.http.close()

    def summary(self) -> dict[str, Any]:
        return {"ws_url": self.ws_url, "rest_url": self.rest_url,
                "control_url": self.control_url, "stats": self.final_stats,
                "stats_error": self.stats_error, "source": self.source or self._planned_source()}

    def _planned_source(self) -> dict[str, Any]:
        """What the market was meant to be, when the feed could not be asked at the end."""
        if self.recording is None:
            return {"kind": "generator", "file": None, "snapshots": False, "loops": None,
                    "length_s": None, "profile": self.profile,
                    "note": f"the seeded generator, profile {self.profile}"}
        return {"kind": "recording", "file": str(self.recording), "snapshots": None,
                "loops": None, "length_s": None,
                "note": "the feed's state was not read at the end (stats_error says why)"}


# --soak-timeseries -> the server the harness starts
STORE_SERVERS = {"prometheus": services.PushgatewayServer, "influxdb": services.InfluxDBServer,
                 "influxdb-v2": VictoriaMetricsServer}
V2_TOKEN_ENV = "INFLUX_TOKEN"     # passed on with --soak-timeseries-url (docs/soak.md)
# a write that must be refused while the store is down (refuses_writes)
WRITE_PROBES = {"prometheus": ("/metrics/job/soak_probe", "soak_probe 1\n"),
                "influxdb": ("/write?db=soak_probe", "soak_probe v=1"),
                "influxdb-v2": ("/api/v2/write?org=soak_probe&bucket=soak_probe",
                                "soak_probe v=1")}


class StoreSidecar:
    """The time-series store the pipeline exports to: started here, or given by URL."""

    def __init__(self, kind: str, workdir: Path, url: str | None = None,
                 guard: HarnessGuard | None = None) -> None:
        self.kind = kind
        self.guard = guard
        self.external_url = url
        self.server: services._Server | None = None
        self.workdir = workdir
        self.token = _v2_token(url) if kind == "influxdb-v2" else None

    @property
    def url(self) -> str | None:
        if self.kind == "none":
            return None
        return self.external_url or (self.server.url if self.server else None)

    @property
    def can_go_down(self) -> bool:
        return self.server is not None

    def start(self) -> None:
        if self.kind == "none":
            return
        if self.external_url:
            self.precheck()
            return
        self.server = STORE_SERVERS[self.kind](
            workdir=self.workdir, extra_env=self.guard.env() if self.guard else None)
        try:
            self._start_server()
        except services.ServiceError as exc:
            raise SidecarError(f"{self.kind} store: {exc}") from None

    def _start_server(self) -> None:
        start_registered(self.server, self.guard)

    def precheck(self) -> None:
        path = "/-/ready" if self.kind == "prometheus" else "/ping"
        try:
            requests.get(self.external_url + path, timeout=3).raise_for_status()
        except requests.RequestException as exc:
            raise SidecarError(f"--soak-timeseries-url {self.external_url} is not reachable "
                               f"({type(exc).__name__}); start the store or drop the option") \
                from None

    def go_down(self) -> dict[str, Any]:
        """Stop the store process; the port then refuses connections."""
        if self.server is None:
            raise SidecarError("the store was given by URL; the harness cannot take it down")
        self.server.stop()
        return {"stopped_port": self.server.port}

    def come_back(self) -> dict[str, Any]:
        if self.server is None:
            return {}
        self._start_server()
        return {"restarted_port": self.server.port}

    def refuses_writes(self) -> bool:
        """Proof of the outage: a write is refused (connection refused or an error status)."""
        if self.url is None:
            return False
        probe, body = WRITE_PROBES[self.kind]
        try:
            resp = requests.post(self.url + probe, data=body, timeout=2)
        except requests.RequestException:
            return True
        return resp.status_code >= 500

    def readback(self, run_id: str, database: str | None = None) -> dict[str, Any]:
        """The run's series as stored (for D4), in a JSON-friendly shape."""
        if isinstance(self.server, services.PushgatewayServer) or (
                self.kind == "prometheus" and self.external_url):
            gw = self.server or _external_gateway(self.external_url)
            groups = gw.read_run(run_id)
            return {"groups": [{"labels": dict(key), "metrics": {
                name: [{"labels": labels, "value": value} for labels, value in values]
                for name, values in metrics.items()}} for key, metrics in groups.items()]}
        if self.kind == "influxdb-v2":
            server = self.server or VictoriaMetricsServer.at(self.external_url)
            return server.readback(run_id)
        if self.kind == "influxdb" and database:
            server = self.server or _external_influx(self.external_url)
            measurements = server.query(database, "SHOW MEASUREMENTS")
            out: dict[str, Any] = {"database": database, "series": {}}
            for row in measurements:
                name = row.get("name")
                out["series"][name] = server.query(
                    database, f'SELECT * FROM "{name}" WHERE run_id = \'{run_id}\'')
            return out
        return {}

    def placeholders(self) -> dict[str, Any]:
        return store_placeholders(self.kind, self.url, self.token)

    def cleanup(self, run_id: str) -> None:
        """A Pushgateway never forgets: delete this run's groups, then stop what we started."""
        if isinstance(self.server, services.PushgatewayServer):
            try:
                self.server.delete_run(run_id)
            except requests.RequestException:
                pass
        if self.server is not None:
            self.server.stop()


def _v2_token(external_url: str | None) -> str | None:
    """The 2.x token the pipeline is given (in its environment only): a fresh one for the
    store started here (VictoriaMetrics checks none), the harness's own INFLUX_TOKEN for a
    store given by URL (a real InfluxDB 2.x wants its own)."""
    return os.environ.get(V2_TOKEN_ENV) if external_url else secrets.token_urlsafe(24)


def store_placeholders(kind: str, url: str | None = None,
                       token: str | None = None) -> dict[str, Any]:
    """The pipeline spec's store placeholders (without URL and token: a dry render, before
    the store starts). {timeseries_type} is the protocol (influxdb for both APIs),
    {timeseries_api} its version (None: not an InfluxDB store), {timeseries_token} the 2.x
    token (for the spec's `env` only, never its config, which the run folder keeps)."""
    influx = kind in ("influxdb", "influxdb-v2")
    return {"timeseries_type": "influxdb" if influx else kind, "timeseries_url": url,
            "timeseries_api": ("v2" if kind == "influxdb-v2" else "v1") if influx else None,
            "timeseries_token": token}


def start_registered(server: services._Server, guard: HarnessGuard | None) -> None:
    """Start a `services` server and register its process with the harness's guard (so it
    is swept with the run); its extra_env should carry the guard's marker."""
    server.start()
    if guard is not None and server.proc is not None:
        guard.register(server.proc, server.binary)


def _first_json_line(path: Path, offset: int, key: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            handle.seek(offset)
            for line in handle:
                if line.startswith("{"):
                    try:
                        doc = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(doc, dict) and key in doc:
                        return doc
    except OSError:
        pass
    return {}


def _external_gateway(url: str) -> services.PushgatewayServer:
    host_port = url.rsplit(":", 1)
    gw = services.PushgatewayServer.__new__(services.PushgatewayServer)
    gw.port = int(host_port[1].strip("/"))
    return gw


def _external_influx(url: str) -> services.InfluxDBServer:
    db = services.InfluxDBServer.__new__(services.InfluxDBServer)
    db.port = int(url.rsplit(":", 1)[1].strip("/"))
    return db
