"""The source manifest's redaction check: a key naming the variable that holds a secret
(`timeseries.token_env: INFLUX_TOKEN`) is not a leak; the secret itself still is."""

from __future__ import annotations

from pytest_soak.checks.bundle import unredacted


def test_a_variable_name_is_not_a_secret_but_the_token_is() -> None:
    snapshot = {"timeseries": {"token_env": "INFLUX_TOKEN"},
                "secrets": {"influxdb_token": "t-789", "influxdb_password": "***REDACTED***"}}
    assert unredacted(snapshot) == ["$.secrets.influxdb_token"]


def test_only_a_variable_name_is_excused() -> None:
    assert unredacted({"token_env": "t-789 with spaces"}) == ["$.token_env"]
    assert unredacted({"api_token": "INFLUX_TOKEN"}) == ["$.api_token"]
