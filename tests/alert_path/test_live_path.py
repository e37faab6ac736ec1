"""The live alert path end to end with the real servers, short (the rules scaled 60x: a market
minute is one wall second): a hand-pushed series in a real Pushgateway, a real Prometheus
with the shipped rules (scaled copy) and a real Alertmanager whose webhook is the harness's.
Stopping the Pushgateway makes SoakExportFailing fire through its `up == 0` clause; bringing it
back and pushing again resolves it. Both notifications must reach the webhook's JSONL."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests

from pytest_soak.alert_path import NOTIFICATIONS, AlertPath
from pytest_soak.services import PushgatewayServer
from pytest_soak_evidence.schemas import violations

pytestmark = [pytest.mark.services, pytest.mark.slow]
RUN = "r-alertpath"
GROUP = f"/metrics/job/soak_report/run_id/{RUN}/instance/run"


class Pusher(threading.Thread):
    """Pushes one minute's figures every 0.3 s (a market minute at 60x is 1 s) while on."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.on, self.done = url, threading.Event(), threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            if self.on.is_set():
                try:
                    requests.put(self.url + GROUP, timeout=1,
                                 data='soak_last_minute_total{symbol="BTCUSDT"} 5\n')
                except requests.RequestException:
                    pass
            time.sleep(0.3)


def wait_for(predicate, timeout_s: float, what: str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s:g} s: {what}")


def notifications(run_dir: Path) -> list[dict]:
    path = run_dir / NOTIFICATIONS
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def statuses(run_dir: Path, rule: str) -> list[str]:
    return [a["status"] for n in notifications(run_dir) for a in n["alerts"]
            if a["labels"].get("rule") == rule]


def test_store_down_fires_export_failing_and_its_return_resolves_it(tmp_path: Path) -> None:
    gateway = PushgatewayServer(workdir=tmp_path / "gw")
    gateway.start()
    pusher = Pusher(gateway.url)
    pusher.on.set()
    pusher.start()
    path = AlertPath(tmp_path, RUN, gateway.url, speed=60.0)
    try:
        path.start()
        up = f"{path.prometheus.url}/api/v1/query"
        wait_for(lambda: requests.get(up, params={"query": f'up{{run_id="{RUN}"}} == 1'},
                                      timeout=2).json()["data"]["result"], 15, "target up")
        time.sleep(2)                                  # healthy evaluations: nothing fires
        assert statuses(tmp_path, "export_failing") == []
        pusher.on.clear()
        gateway.stop()
        stopped = time.time()
        wait_for(lambda: "firing" in statuses(tmp_path, "export_failing"), 12, "firing")
        fired = time.time()
        gateway.start()
        pusher.on.set()
        wait_for(lambda: "resolved" in statuses(tmp_path, "export_failing"), 12, "resolved")
        resolved = time.time()
    finally:
        pusher.done.set()
        path.stop()
        gateway.cleanup()
    rows = notifications(tmp_path)
    assert all(not violations(row, "alert_notification") for row in rows)
    assert statuses(tmp_path, "export_failing")[:2] == ["firing", "resolved"]
    firing = next(a for n in rows for a in n["alerts"] if a["status"] == "firing")
    assert firing["labels"]["run_id"] == RUN and firing["labels"]["job"] == "soak_report"
    assert "store is down" in firing["annotations"]["summary"]
    print(f"fired {fired - stopped:.1f} s after the stop, resolved {resolved - fired:.1f} s "
          "after the return")


def test_both_servers_listen_on_loopback_only_carry_the_marker_and_are_registered(
        tmp_path: Path) -> None:
    import psutil

    from pytest_soak.harness_record import HARNESS_MARKER, HarnessGuard

    guard = HarnessGuard(tmp_path / "guard")          # its record only: no watcher started
    gateway = PushgatewayServer(workdir=tmp_path / "gw")
    gateway.start()
    path = AlertPath(tmp_path, RUN, gateway.url, speed=60.0, guard=guard)
    try:
        path.start()
        registered = {e["what"]: e["pid"] for e in guard.doc["processes"]}
        assert set(registered) == {"prometheus", "prometheus-alertmanager"}
        for pid in registered.values():
            proc = psutil.Process(pid)
            assert proc.environ().get(HARNESS_MARKER) == guard.harness_id
            listening = [c.laddr for c in proc.net_connections(kind="inet")
                         if c.status == psutil.CONN_LISTEN]
            assert listening and all(a.ip == "127.0.0.1" for a in listening), listening
            assert all(a.port != 9094 for a in listening)          # gossip off
        storage = [path.prometheus.storage, path.alertmanager.storage]
    finally:
        path.stop()
        gateway.cleanup()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
                   for pid in registered.values())
    assert not any(p.exists() for p in storage)                  # temp storage removed
