"""Real Pushgateway / InfluxDB / VictoriaMetrics (Debian packages) on free loopback ports,
stopped after."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.config import load_config
from pytest_soak.services import InfluxDBServer, PushgatewayServer
from pytest_soak.victoria_metrics import VictoriaMetricsServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[PushgatewayServer]:
    server = PushgatewayServer(tmp_path / "pushgateway")
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def influxdb(tmp_path: Path) -> Iterator[InfluxDBServer]:
    server = InfluxDBServer(tmp_path / "influxdb")
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[VictoriaMetricsServer]:
    """The InfluxDB 2.x write API's stand-in (Debian has no InfluxDB 2.x)."""
    server = VictoriaMetricsServer(tmp_path / "victoria-metrics")
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def base_config() -> dict:
    return copy.deepcopy(load_config(ROOT / "config" / "defaults.yaml", env={}))


