"""config/defaults.yaml is the one owner of every pipeline default.

Two ways a default drifts: a module keeps its own copy of a setting (a DEFAULTS dict, a
parameter default, a `.get(key, fallback)`), or the code uses something else than the file
when a key is left out. The first test finds copies in the source, the others build each
stage's settings from an empty config and compare them with the file.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from orchestrator.broker.config import broker_section, outbox_section
from orchestrator.broker.core import BrokerSettings
from orchestrator.config import DEFAULTS_FILE, defaults, load_config, section, with_defaults
from orchestrator.harvest.settings import HarvestSettings
from orchestrator.outbox import outbox_settings
from orchestrator.report.engine import ReportEngine
from orchestrator.restart import RestartPolicy
from orchestrator.signal.config import SignalConfig
from orchestrator.sinks import sink_settings

REPO = Path(__file__).resolve().parents[2]
# names that are config keys somewhere but mean something else where the scan meets them
UNRELATED = {"level", "type", "url", "prefix", "symbols", "stages", "streams", "executor",
             "latency", "fraction", "factor", "signal", "feed", "harvest", "alerts", "sinks",
             "broker", "report", "run", "secrets", "timeseries", "outbox", "supervisor",
             "restart", "resources", "freshness", "retry", "record", "job", "database",
             "username", "maker", "taker", "instruments",
             # alert rule names (keys of report.alerts, counters elsewhere); secret names
             "no_data", "low_consistency", "strong_ratio_collapse", "export_failing",
             "data_drop", "binance_api_key", "binance_api_secret", "influxdb_password"}
# a default of the same name that owns something the file does not configure
NOT_CONFIGURED = {
    # the signals topic's fsync cadence has no config key (harvest passes harvest.fsync_every)
    ("orchestrator/handoff.py", "fsync_every"),
    # the reader thread's join at stop, not timeseries.timeout_s
    ("orchestrator/harvest/harvester.py", "timeout_s"),
}
UNITS = ("_s", "_ms", "_mb", "_bytes")


def _leaf_keys(node: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for key, value in node.items():
        out.add(key)
        if isinstance(value, dict):
            out |= _leaf_keys(value)
    return out


def _stem(name: str) -> str:
    for unit in UNITS:
        if name.endswith(unit):
            return name[: -len(unit)]
    return name


CONFIG_STEMS = {_stem(k) for k in _leaf_keys(defaults())} - UNRELATED


def _is_config_name(name: str, exact: bool = False) -> bool:
    """`lateness_ms` is `report.lateness_s` in other units; a parameter `busy_timeout_ms` is
    `sinks.sqlite_busy_timeout_ms` without its section prefix (names of two words or more)."""
    stem = _stem(name)
    if stem in UNRELATED:
        return False
    return stem in CONFIG_STEMS or (not exact and "_" in stem and any(
        key.endswith("_" + stem) for key in CONFIG_STEMS))


def _literal(node: ast.AST | None) -> bool:
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Constant) and node.value is not None


def _copies(tree: ast.AST) -> list[tuple[str, str]]:
    """(name, where) of every literal default bound to a name the config file owns."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arguments):
            args = node.posonlyargs + node.args
            pairs = list(zip(args[len(args) - len(node.defaults):], node.defaults, strict=True))
            pairs += [(a, d) for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True)]
            found += [(a.arg, f"{a.arg}={ast.unparse(d)} (line {d.lineno})") for a, d in pairs
                      if _literal(d) and _is_config_name(a.arg)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id                                         # dataclass field
            if _literal(node.value) and _is_config_name(name, exact=True):
                found.append((name, f"{name} = {ast.unparse(node.value)} (line {node.lineno})"))
        elif isinstance(node, ast.Dict):
            keys = [k.value for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                    and _is_config_name(k.value, exact=True) and _literal(v)]
            if len(keys) >= 2:
                found.append((keys[0], f"dict of {', '.join(keys)} (line {node.lineno})"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and len(node.args) == 2
              and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and _is_config_name(node.args[0].value)
              and _literal(node.args[1])):
            found.append((node.args[0].value, f".get({ast.unparse(node.args[0])}, "
                          f"{ast.unparse(node.args[1])}) (line {node.lineno})"))
    return found


def test_no_module_keeps_its_own_copy_of_a_configured_default() -> None:
    copies = {}
    for path in sorted((REPO / "orchestrator").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        found = [where for name, where in _copies(ast.parse(path.read_text(encoding="utf-8")))
                 if (rel, name) not in NOT_CONFIGURED]
        if found:
            copies[rel] = found
    assert not copies, ("defaults owned by config/defaults.yaml are copied here (take them "
                        f"from the loaded config instead): {copies}")


def test_the_scan_finds_a_copy() -> None:
    planted = ("class A:\n    def __init__(self, lateness_ms: int = 5_000) -> None: ...\n"
               "X = {'queue_max': 1, 'fsync_every': 2}\n"
               "def f(c):\n    return c.get('tz', 'UTC')\n")
    assert len(_copies(ast.parse(planted))) == 3


def test_a_file_that_names_nothing_gets_every_default() -> None:
    assert with_defaults({}) == defaults()
    assert with_defaults({"report": {"lateness_s": 3}})["report"]["tz"] == \
        defaults()["report"]["tz"]


def test_load_config_fills_what_a_file_leaves_out(tmp_path: Path) -> None:
    path = tmp_path / "partial.yaml"
    path.write_text("run: {symbols: [BTCUSDT]}\nsupervisor: {}\n"
                    "report:\n  lateness_s: 3\nbroker:\n  instruments:\n"
                    "    BTCUSDT: {tick_size: 0.5, lot_size: 0.01}\n", encoding="utf-8")
    config = load_config(path, env={})
    assert config["report"]["lateness_s"] == 3
    assert config["report"]["alerts"] == defaults()["report"]["alerts"]
    assert config["signal"] == defaults()["signal"]
    # a file that names its instruments trades exactly those
    assert list(config["broker"]["instruments"]) == ["BTCUSDT"]
    assert load_config(DEFAULTS_FILE, env={}) == defaults()


def test_signal_sinks_broker_outbox_use_the_file_when_not_overridden() -> None:
    file = defaults()
    assert SignalConfig.from_section(None).__dict__ == file["signal"]
    assert sink_settings(None) == file["sinks"]
    assert broker_section({}) == file["broker"]
    settings = BrokerSettings.from_config(broker_section({}))
    assert (settings.order_notional_usd, settings.maker_fee_bps, settings.latency.jitter_ms,
            settings.retry.attempts, settings.validate_every_n) == (
        file["broker"]["order_notional_usd"], file["broker"]["fees_bps"]["maker"],
        file["broker"]["latency"]["jitter_ms"], file["broker"]["retry"]["attempts"],
        file["broker"]["validate_every_n"])
    kwargs = outbox_settings(outbox_section({}))
    assert (kwargs["fsync_every"], kwargs["max_file_bytes"]) == (
        file["outbox"]["fsync_every"], file["outbox"]["max_file_mb"] * 1024 * 1024)


def test_supervisor_restart_policy_uses_the_file() -> None:
    restart = section({}, "supervisor")["restart"]
    assert RestartPolicy.from_config(restart).as_dict() == defaults()["supervisor"]["restart"]


def test_report_uses_the_file_when_not_overridden(tmp_path: Path) -> None:
    file = defaults()
    engine = ReportEngine({}, tmp_path, "r1")
    assert engine.cfg == file["report"] and engine.ts_cfg == file["timeseries"]
    assert engine.aggregator.lateness_ms == file["report"]["lateness_s"] * 1000
    assert engine.alerts.cfg == file["report"]["alerts"]
    assert (engine.export.backoff_initial_s, engine.export.backoff_max_s,
            engine.export.max_backlog) == (file["timeseries"]["backoff_initial_s"],
                                           file["timeseries"]["backoff_max_s"],
                                           file["timeseries"]["max_backlog"])
    assert sorted(engine.aggregator.symbols) == file["run"]["symbols"]


def test_harvest_defaults_equal_the_file() -> None:
    file = defaults()
    settings = HarvestSettings.from_config({})
    for name in ("feed", "harvest"):
        used = getattr(settings, name)
        assert {k: used[k] for k in file[name]} == file[name]


def test_harvest_symbols_default_is_the_files() -> None:
    assert list(HarvestSettings.from_config({}).symbols) == defaults()["run"]["symbols"]
