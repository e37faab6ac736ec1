"""Load the pipeline configuration: YAML -> schema validation -> environment overrides.

The supervisor and every stage call `load_config(path)` so they all see the same settings.
Secrets come from the environment; `redacted(config)` is what any file a run writes may hold.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from evidence.schemas import violations

REDACTED = "***REDACTED***"
SECRET_ENV = {
    "binance_api_key": "BINANCE_API_KEY",
    "binance_api_secret": "BINANCE_API_SECRET",
    "influxdb_password": "INFLUXDB_PASSWORD",
}
# env var -> (section, key); applied after validation of the file.
PLAIN_ENV = {
    "TIMESERIES_TYPE": ("timeseries", "type"),
    "TIMESERIES_URL": ("timeseries", "url"),
    "REPORT_TZ": ("report", "tz"),
}
TIMESERIES_TYPES = ("prometheus", "influxdb", "none")


class ConfigError(ValueError):
    """Bad configuration; the message names the offending key or value in one line."""


def load_config(path: Path | str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Read, validate and apply environment overrides. Raises ConfigError."""
    env = dict(os.environ) if env is None else env
    doc = _read_yaml(Path(path))
    _raise_on_violations(doc, "config", str(path))
    config = copy.deepcopy(doc)
    _apply_env(config, env)
    return config


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections")
    return doc


def _raise_on_violations(doc: Any, kind: str, source: str) -> None:
    found = violations(doc, kind)
    if found:
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        raise ConfigError(f"{source}: {found[0]}{more}")


def _apply_env(config: dict[str, Any], env: dict[str, str]) -> None:
    for var, (section, key) in PLAIN_ENV.items():
        if env.get(var):
            config.setdefault(section, {})[key] = env[var]
    ts_type = config.get("timeseries", {}).get("type")
    if ts_type is not None and ts_type not in TIMESERIES_TYPES:
        raise ConfigError(f"TIMESERIES_TYPE / timeseries.type: {ts_type!r} is not one of "
                          f"{', '.join(TIMESERIES_TYPES)}")
    replay = env.get("V13_REPLAY_MODE")
    if replay is not None and replay != "":
        if replay not in ("0", "1"):
            raise ConfigError(f"V13_REPLAY_MODE: {replay!r} must be 0 (LIVE) or 1 (REPLAY)")
        config.setdefault("run", {})["replay_mode"] = replay == "1"
    secrets = config.setdefault("secrets", {})
    for key, var in SECRET_ENV.items():
        if env.get(var):
            secrets[key] = env[var]


def replay_mode(config: dict[str, Any]) -> bool:
    """REPLAY unless the config (or V13_REPLAY_MODE=0) says LIVE."""
    return bool(config.get("run", {}).get("replay_mode", True))


def redacted(config: dict[str, Any]) -> dict[str, Any]:
    """A deep copy with every secret value replaced; safe to write to any file."""
    out = copy.deepcopy(config)
    secrets = out.get("secrets") or {}
    for key, value in secrets.items():
        if value is not None:
            secrets[key] = REDACTED
    return out


def secret_values(config: dict[str, Any]) -> list[str]:
    """The secret strings in use (for tests and scrubbing)."""
    return [v for v in (config.get("secrets") or {}).values() if isinstance(v, str) and v]


def section(config: dict[str, Any], name: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """`config[name]` over `defaults`, one level of nested dicts merged too."""
    out = copy.deepcopy(defaults)
    for key, value in (config.get(name) or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
