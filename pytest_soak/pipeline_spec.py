"""The pipeline under test, described by data (`--soak-config FILE`).

The harness reaches a pipeline only through its CLI, its health URL and its evidence files, so
another team's pipeline honouring the contract (docs/soak.md) is soaked by pointing
--soak-config at its own YAML. Keys:

    name: text
    extends: PATH                   # another spec this one changes (relative to this file)
    level: 0 | 1 | 2                # the contract level it provides (pytest_soak/contract.py)
    claims: [D1, D2, ...] | all     # the DoD items it claims (needed with `level`); the rest
                                    # are not_claimed. Without `level`: level 2, claims all
    shutdown_order: [stages]        # the stop order D10 expects (default: the thresholds')
    command: [argv template]        # placeholders below, e.g. "{python}", "{config}"
    cwd: PATH                       # the command's working folder, relative to this file
                                    # (default: this file's folder)
    base_config: PATH | null        # YAML the overlay is merged into (relative to this file)
    config_overlay: {mapping}       # deep-merged; string leaves may hold placeholders
    env: {NAME: template}           # added to the environment
    stages: [names]                 # what the harness expects healthy (order irrelevant)
    stage_regex: REGEX              # names a process by stage from its command line (?P<stage>)
    health: {url: template | null, discovery_file: NAME, url_key: KEY}
    self_stop_margin_min: 2         # {pipeline_minutes} = minutes + margin: the harness's
                                    # SIGINT, not the pipeline's own timer, ends the run
    model_memory_s: {KIND: S}       # D13: market s after a lossy feed fault of KIND (burst,
                                    # drop_connections, gap, stall_substream) in which signals
                                    # may differ from the model's (windows hold its holes)
    progress: {events: "stage.metrics.key", signals: "stage.metrics.key"}   # status counters
    alerts_from: run_manifest.json  # file with an `alerts` section (firing alerts for progress)

A string that is exactly one placeholder keeps the value's type; if that value is None (no feed
with --soak-feed exchange, no store with --soak-timeseries none) the key is left out, so the
base config's value stays.

`"{speed*N}"` (a whole string) becomes the number speed x N: a rate per market second turned
into a rate per wall second; `"{N/speed}"` becomes N / speed: a duration in market seconds
turned into wall seconds.

Placeholders: {python} {config} {run_dir} {sink} {minutes} {pipeline_minutes} {run_id}
{health_port} {feed_ws_url} {feed_rest_url} {feed_control_url} {timeseries_type}
{timeseries_url} {timeseries_api} {timeseries_token} {replay_flag} (1|0) {replay_mode_bool}
{mode} {speed} {spec_dir} {report_tz}
(the harness also sets REPORT_TZ in the environment itself, whatever `env` says).
{timeseries_type} is the store's protocol (influxdb for --soak-timeseries influxdb and
influxdb-v2), {timeseries_api} its version (v1 | v2; none for other stores), and
{timeseries_token} a fresh InfluxDB 2.x token per run (influxdb-v2 only): put it in `env`, never
in the config overlay, which the harness writes to the run folder.
"""

from __future__ import annotations

import copy
import re
import string
import sys
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from pytest_soak.contract import Contract, parse_contract
from pytest_soak.resources import DEFAULT_STAGE_REGEX
from pytest_soak.settings import NO_PIPELINE, SoakUsageError
from pytest_soak_evidence.schemas import validator, violations

SCALED = re.compile(r"\{speed\*(\d+(?:\.\d+)?)\}")
PER_SPEED = re.compile(r"\{(\d+(?:\.\d+)?)/speed\}")
SPEC_SCHEMA = "pipeline_spec"    # schemas/pipeline_spec.schema.json: the shipped format


def known_keys() -> set[str]:
    """The spec's keys: the shipped format's (read when a spec is, not at import)."""
    return set(validator(SPEC_SCHEMA).schema["properties"])


@dataclass
class PipelineSpec:
    name: str
    command: list[str]
    stages: list[str]
    source: Path
    cwd: Path | None = None            # None: the spec file's folder
    base_config: Path | None = None
    config_overlay: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    stage_regex: str = DEFAULT_STAGE_REGEX
    health: dict[str, Any] = field(default_factory=dict)
    self_stop_margin_min: float = 2.0
    # D13: per lossy feed fault kind, how long it sways the signals (market s; absent: 0)
    model_memory_s: dict[str, float] = field(default_factory=dict)
    progress: dict[str, str] = field(default_factory=dict)
    alerts_from: str | None = "run_manifest.json"
    evidence: dict[str, Any] = field(default_factory=dict)
    contract: Contract = field(default_factory=Contract)

    @property
    def spec_dir(self) -> Path:
        return Path(self.source).resolve().parent

    @property
    def workdir(self) -> Path:
        return self.cwd or self.spec_dir

    def render_command(self, values: dict[str, Any]) -> list[str]:
        return [fill(part, values, self.source, "command") for part in self.command]

    def render_env(self, values: dict[str, Any]) -> dict[str, str]:
        return {k: fill(str(v), values, self.source, f"env.{k}") for k, v in self.env.items()}

    def render_config(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """Base config merged with the rendered overlay; None if the pipeline takes none."""
        if self.base_config is None:
            return None
        try:
            base = yaml.safe_load(self.base_config.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SoakUsageError(f"{self.source}: base_config {self.base_config}: {exc}") from None
        return deep_merge(base, render_tree(self.config_overlay, values, self.source))


def fill(template: str, values: dict[str, Any], source: Path, where: str) -> str:
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    missing = [n for n in names if n not in values]
    if missing:
        raise SoakUsageError(f"{source}: {where}: unknown placeholder(s) {missing}; known: "
                             f"{sorted(values)}")
    return template.format(**{k: "" if v is None else v for k, v in values.items()})


def render_tree(node: Any, values: dict[str, Any], source: Path, where: str = "overlay") -> Any:
    """Fill placeholders in string leaves; a leaf that is exactly one placeholder keeps the
    value's type (so "{speed}" stays a number and "{timeseries_url}" may become null)."""
    if isinstance(node, dict):
        out = {k: render_tree(v, values, source, f"{where}.{k}") for k, v in node.items()}
        # a lone placeholder without a value (no feed, no store) leaves the base value alone
        return {k: v for k, v in out.items() if not (v is None and _lone(node[k], values))}
    if isinstance(node, list):
        return [render_tree(v, values, source, f"{where}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str):
        inner = node[1:-1]
        if node.startswith("{") and node.endswith("}") and inner in values:
            return values[inner]
        scaled = SCALED.fullmatch(node)
        if scaled:                       # "{speed*85}": a rate per market second, in wall terms
            value = float(values["speed"]) * float(scaled.group(1))
            return int(value) if value.is_integer() else value   # fits an integer key too
        per_speed = PER_SPEED.fullmatch(node)
        if per_speed:                    # "{60/speed}": market seconds, in wall terms
            return float(per_speed.group(1)) / float(values["speed"])
        return fill(node, values, source, where)
    return node


def _lone(template: Any, values: dict[str, Any]) -> bool:
    return (isinstance(template, str) and template.startswith("{") and template.endswith("}")
            and template[1:-1] in values)


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _field_default(name: str) -> Any:
    """A key the spec file leaves out takes PipelineSpec's own default (one owner)."""
    return next(f.default for f in fields(PipelineSpec) if f.name == name
                and f.default is not MISSING)


def _read_spec(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """The spec file as a mapping, with the spec it `extends` (a path relative to it) merged
    under it: mappings deep-merged, any other value replaced; the base's relative paths
    (`cwd`, `base_config`) made absolute first, so they keep meaning what they meant there."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SoakUsageError(f"--soak-config {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SoakUsageError(f"--soak-config {path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise SoakUsageError(f"--soak-config {path}: must be a mapping")
    parent = doc.pop("extends", None)
    if parent is None:
        return doc
    base_path = _resolve(str(parent), Path(path).resolve().parent)
    if base_path in seen:
        raise SoakUsageError(f"--soak-config {path}: extends {parent} in a loop")
    base = _read_spec(base_path, (*seen, base_path))
    for key in ("cwd", "base_config"):
        if isinstance(base.get(key), str):
            base[key] = str(_resolve(base[key], base_path.parent))
    return deep_merge(base, doc)


def load_pipeline_spec(path: Path | None) -> PipelineSpec:
    if path is None:
        raise SoakUsageError(NO_PIPELINE)
    doc = _read_spec(Path(path))
    unknown = set(doc) - known_keys()
    if unknown:
        raise SoakUsageError(f"--soak-config {path}: unknown key(s) {sorted(unknown)}")
    for key in ("command", "stages"):
        if not isinstance(doc.get(key), list) or not doc[key]:
            raise SoakUsageError(f"--soak-config {path}: '{key}' must be a non-empty list")
    bad = violations(doc, SPEC_SCHEMA)
    if bad:
        raise SoakUsageError(f"--soak-config {path}: " + "; ".join(bad[:3]))
    base = doc.get("base_config")
    here = Path(path).resolve().parent
    health = dict(doc.get("health") or {})
    contract = parse_contract(doc, path, has_health=bool(health.get("url")
                                                         or health.get("discovery_file")))
    return PipelineSpec(
        name=str(doc.get("name") or Path(path).stem), command=[str(c) for c in doc["command"]],
        stages=[str(s) for s in doc["stages"]], source=Path(path),
        cwd=None if doc.get("cwd") is None else _resolve(str(doc["cwd"]), here),
        base_config=None if base is None else _resolve(base, here),
        config_overlay=dict(doc.get("config_overlay") or {}),
        env={str(k): str(v) for k, v in (doc.get("env") or {}).items()},
        stage_regex=str(doc.get("stage_regex") or _field_default("stage_regex")),
        health=health, contract=contract,
        self_stop_margin_min=float(doc.get("self_stop_margin_min",
                                           _field_default("self_stop_margin_min"))),
        model_memory_s={str(k): float(v) for k, v in (doc.get("model_memory_s") or {}).items()},
        progress=dict(doc.get("progress") or {}),
        alerts_from=doc.get("alerts_from", _field_default("alerts_from")),
        evidence=dict(doc.get("evidence") or {}),
    )


def _resolve(path: str, here: Path) -> Path:
    """Relative to the spec file's folder."""
    p = Path(path)
    return p if p.is_absolute() else (here / p).resolve()


def base_values(spec: PipelineSpec) -> dict[str, Any]:
    return {"python": sys.executable, "spec_dir": str(spec.spec_dir)}
