"""Config loading: validation errors name the key, env overrides, secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import REDACTED, ConfigError, load_config, redacted, replay_mode
from tests.orchestrator.orch_support import REPO

DEFAULTS = REPO / "config" / "defaults.yaml"


def test_defaults_load_and_validate() -> None:
    config = load_config(DEFAULTS, env={})
    assert config["run"]["symbols"]
    assert replay_mode(config) is True


def test_env_overrides_and_secrets_are_redacted() -> None:
    env = {"V13_REPLAY_MODE": "0", "TIMESERIES_TYPE": "influxdb",
           "TIMESERIES_URL": "http://127.0.0.1:8086", "REPORT_TZ": "Asia/Tokyo",
           "BINANCE_API_KEY": "k-123", "INFLUXDB_PASSWORD": "p-456"}
    config = load_config(DEFAULTS, env=env)
    assert replay_mode(config) is False
    assert config["timeseries"]["type"] == "influxdb"
    assert config["timeseries"]["url"] == "http://127.0.0.1:8086"
    assert config["report"]["tz"] == "Asia/Tokyo"
    assert config["secrets"]["binance_api_key"] == "k-123"
    safe = redacted(config)
    assert safe["secrets"]["binance_api_key"] == REDACTED
    assert safe["secrets"]["influxdb_password"] == REDACTED
    assert "k-123" not in repr(safe) and "p-456" not in repr(safe)
    assert config["secrets"]["binance_api_key"] == "k-123"     # the original is untouched


@pytest.mark.parametrize("env,needle", [
    ({"V13_REPLAY_MODE": "2"}, "V13_REPLAY_MODE"),
    ({"TIMESERIES_TYPE": "graphite"}, "graphite"),
    ({"TIMESERIES_API": "v3"}, "TIMESERIES_API / timeseries.api: 'v3'"),
])
def test_bad_env_values_name_the_variable(env: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config(DEFAULTS, env=env)


@pytest.mark.parametrize("text,needle", [
    ("run: [unclosed", "not valid YAML"),
    ("- a\n- b\n", "mapping"),
    ("run: {symbols: [BTCUSDT]}\nsupervisor: {tick_s: -1}\n", "tick_s"),
    ("run: {symbols: [BTCUSDT]}\nsupervisor: {}\ntimeseries: {api: v3}\n", "api"),
    ("run: {symbols: [BTCUSDT]}\nsupervisor: {}\ntimeseries: {token_env: 'not a name'}\n",
     "token_env"),
])
def test_bad_files(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_config(path, env={})


def test_the_v2_token_comes_from_the_variable_the_config_names(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("run: {symbols: [BTCUSDT]}\nsupervisor: {}\n"
                    "timeseries: {type: influxdb, api: v2, token_env: TEAM_TOKEN}\n")
    config = load_config(path, env={"TEAM_TOKEN": "t-789", "INFLUX_TOKEN": "other"})
    assert config["secrets"]["influxdb_token"] == "t-789"
    assert config["timeseries"]["token_env"] == "TEAM_TOKEN"     # the name, not the token
    assert "t-789" not in repr(redacted(config))
    assert load_config(DEFAULTS, env={"TIMESERIES_API": "v2"})["timeseries"]["api"] == "v2"
