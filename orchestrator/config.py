"""Load the pipeline configuration: YAML -> schema validation -> defaults -> environment.

The supervisor and every stage call `load_config(path)` so they all see the same settings.
config/defaults.yaml is the one owner of every setting's default: a file that leaves a key out
gets its value from there (`with_defaults`), and no Python module keeps a copy (the stages read
`section(config, name)`; tests/orchestrator/test_defaults.py fails on a second copy).
Secrets come from the environment; `redacted(config)` is what any file a run writes may hold.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import yaml

from pytest_soak_evidence.schemas import violations

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
    "TIMESERIES_API": ("timeseries", "api"),
    "REPORT_TZ": ("report", "tz"),
}
TIMESERIES_TYPES = ("prometheus", "influxdb", "none")
INFLUXDB_APIS = ("v1", "v2")
DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "config" / "defaults.yaml"
# mappings a config file names whole: its instruments are exactly the ones it lists
REPLACED_WHOLE = {("broker", "instruments")}


class ConfigError(ValueError):
    """Bad configuration; the message names the offending key or value in one line."""


def load_config(path: Path | str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Read, validate and apply environment overrides. Raises ConfigError."""
    env = dict(os.environ) if env is None else env
    doc = _read_yaml(Path(path))
    _raise_on_violations(doc, "config", str(path))
    config = with_defaults(doc)
    _apply_env(config, env)
    return config


@functools.cache
def _defaults_doc() -> dict[str, Any]:
    doc = _read_yaml(DEFAULTS_FILE)
    _raise_on_violations(doc, "config", str(DEFAULTS_FILE))
    return doc


def defaults() -> dict[str, Any]:
    """A fresh copy of config/defaults.yaml (validated once per process)."""
    return copy.deepcopy(_defaults_doc())


def with_defaults(config: dict[str, Any] | None) -> dict[str, Any]:
    """`config` deep-merged over config/defaults.yaml: every key the file leaves out is the
    default's (nested mappings merged key by key, except those in REPLACED_WHOLE)."""
    return _merge(defaults(), config or {}, ())


def _merge(base: dict[str, Any], over: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key, value in over.items():
        here = (*path, key)
        if (isinstance(value, dict) and isinstance(base.get(key), dict)
                and here not in REPLACED_WHOLE):
            base[key] = _merge(base[key], value, here)
        else:
            base[key] = copy.deepcopy(value)
    return base


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
    _check_choice(config, "type", "TIMESERIES_TYPE", TIMESERIES_TYPES)
    _check_choice(config, "api", "TIMESERIES_API", INFLUXDB_APIS)
    replay = env.get("V13_REPLAY_MODE")
    if replay is not None and replay != "":
        if replay not in ("0", "1"):
            raise ConfigError(f"V13_REPLAY_MODE: {replay!r} must be 0 (LIVE) or 1 (REPLAY)")
        config.setdefault("run", {})["replay_mode"] = replay == "1"
    secrets = config.setdefault("secrets", {})
    for key, var in SECRET_ENV.items():
        if env.get(var):
            secrets[key] = env[var]
    # the InfluxDB 2.x token's variable is named by the config, so a team keeps its own name
    token_var = config["timeseries"]["token_env"]       # with_defaults: always there
    if env.get(token_var):
        secrets["influxdb_token"] = env[token_var]


def _check_choice(config: dict[str, Any], key: str, var: str, allowed: tuple[str, ...]) -> None:
    """An environment override is checked as the schema checks the file (exit 2 naming it)."""
    value = config.get("timeseries", {}).get(key)
    if value is not None and value not in allowed:
        raise ConfigError(f"{var} / timeseries.{key}: {value!r} is not one of "
                          f"{', '.join(allowed)}")


def replay_mode(config: dict[str, Any]) -> bool:
    """REPLAY or LIVE as `run.replay_mode` (or V13_REPLAY_MODE) says."""
    return bool(section(config, "run")["replay_mode"])


def redacted(config: dict[str, Any]) -> dict[str, Any]:
    """A deep copy with every secret value replaced; safe to write to any file."""
    out = copy.deepcopy(config)
    secrets = out.get("secrets") or {}
    for key, value in secrets.items():
        if value is not None:
            secrets[key] = REDACTED
    return out


def section(config: dict[str, Any], name: str) -> dict[str, Any]:
    """`config[name]` over the section's defaults from config/defaults.yaml."""
    return _merge(defaults().get(name, {}), config.get(name) or {}, (name,))
