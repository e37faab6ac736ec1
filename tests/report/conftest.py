"""Real Pushgateway / InfluxDB (Debian packages) on free loopback ports, stopped after."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.config import load_config
from pytest_soak.services import InfluxDBServer, PushgatewayServer

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
def base_config() -> dict:
    return copy.deepcopy(load_config(ROOT / "config" / "defaults.yaml", env={}))


