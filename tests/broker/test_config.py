"""The broker/outbox config sections: defaults fill gaps, bad values name their key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from orchestrator.broker.config import broker_section, outbox_section
from orchestrator.broker.core import BrokerSettings
from pytest_soak_evidence.schemas import violations

REPO = Path(__file__).resolve().parents[2]


def test_omitted_keys_take_the_defaults_and_nested_dicts_merge() -> None:
    section = broker_section({"broker": {"fees_bps": {"taker": 5.0}, "order_type": "limit"}})
    settings = BrokerSettings.from_config(section)
    assert (settings.taker_fee_bps, settings.maker_fee_bps, settings.order_type) == \
        (5.0, 2.0, "limit")
    assert settings.instruments["ETHUSDT"].tick_size == 0.01
    assert outbox_section({})["max_file_mb"] == 10


def test_a_bad_broker_value_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = yaml.safe_load((REPO / "config" / "defaults.yaml").read_text())
    config["broker"]["order_type"] = "iceberg"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.stage_main", "broker", "--config", str(path),
         "--run-dir", str(tmp_path / "run"), "--run-id", "bad"],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "$.broker.order_type" in result.stderr and "iceberg" in result.stderr


def test_an_unknown_outbox_key_is_an_error_naming_it() -> None:
    config = yaml.safe_load((REPO / "config" / "defaults.yaml").read_text())
    config["outbox"]["fsync_evry"] = 5
    found = violations(config, "config")
    assert any(v.startswith("$.outbox") and "fsync_evry" in v for v in found), found
