"""The live alert path's two servers (Debian packages), as `services` servers: Prometheus with
the shipped rules and Alertmanager, each on a free 127.0.0.1 port with its own temp storage
(deleted at cleanup), its config rendered into its work dir from a fixture template, its log
beside it. And the scaled copy of the shipped rules a time-compressed run needs.

Every duration in a rule (its group's `interval:`, its `for:`, an `offset`, and the push-age
threshold of `time() - ... >= N`) is wall time to Prometheus; at speed S a market minute lasts
60/S wall seconds, so the copy divides each by S. The shipped file is never edited.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from string import Template
from typing import Any

import yaml

from pytest_soak import services
from pytest_soak_evidence.carried import carried

PROMETHEUS_DIR = carried(__file__, "fixtures/prometheus")
RULES_FILE = PROMETHEUS_DIR / "soak_alerts.rules.yml"
PROMETHEUS_TEMPLATE = PROMETHEUS_DIR / "prometheus.template.yml"
ALERTMANAGER_TEMPLATE = PROMETHEUS_DIR / "alertmanager.template.yml"

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")


def seconds(duration: str) -> float:
    """A simple Prometheus duration ("1m", "15s", "500ms") in seconds."""
    found = _DURATION.match(str(duration).strip())
    if not found:
        raise ValueError(f"not a simple duration: {duration!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def duration(secs: float) -> str:
    """Seconds as a Prometheus / Alertmanager duration, in whole milliseconds."""
    ms = max(1, round(secs * 1000))
    if ms % 60_000 == 0:
        return f"{ms // 60_000}m"
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def scale_expr(expr: str, speed: float) -> str:
    def offset(m: re.Match) -> str:
        return f"offset {duration(seconds(m.group(1)) / speed)}"

    def push_age(m: re.Match) -> str:
        return f"{m.group(1)}{float(m.group(2)) / speed:g}"

    expr = re.sub(r"offset (\d+(?:\.\d+)?(?:ms|s|m|h))\b", offset, expr)
    return re.sub(r"(time\(\) - [^\n]*?>= )(\d+(?:\.\d+)?)", push_age, expr)


def scaled_rules(speed: float, source: Path = RULES_FILE) -> dict[str, Any]:
    """The shipped rules with every duration divided by `speed` (see the module's doc)."""
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    for group in doc.get("groups") or []:
        if "interval" in group:
            group["interval"] = duration(seconds(group["interval"]) / speed)
        for rule in group.get("rules") or []:
            if "for" in rule:
                rule["for"] = duration(seconds(rule["for"]) / speed)
            rule["expr"] = scale_expr(str(rule["expr"]), speed)
    return doc


def evaluation_interval_s(speed: float, source: Path = RULES_FILE) -> float:
    """The wall seconds between evaluations of the (scaled) rule group."""
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    groups = doc.get("groups") or [{}]
    return seconds(groups[0].get("interval", "1m")) / speed


def render(template: Path, target: Path, values: dict[str, Any]) -> Path:
    """A fixture template with its $name placeholders filled (a missing value raises KeyError)."""
    text = Template(template.read_text(encoding="utf-8")).substitute(
        {k: str(v) for k, v in values.items()})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


class _TempStorage(services._Server):     # the shared start / ready check / stop
    """A server whose storage is a temp dir of its own, removed at cleanup (its config and
    log stay in the work dir, which is the run folder's)."""

    config_name = ""

    def __init__(self, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        super().__init__(workdir=workdir, extra_env=extra_env)
        self.storage = Path(tempfile.mkdtemp(prefix=f"soak-{self.binary}-"))
        self.config_path = self.workdir / self.config_name

    def cleanup(self) -> None:
        super().cleanup()
        shutil.rmtree(self.storage, ignore_errors=True)


class PrometheusServer(_TempStorage):
    binary = "prometheus"
    ready_path = "/-/ready"
    config_name = "prometheus.yml"

    def command(self) -> list[str]:
        return [self.binary, f"--config.file={self.config_path}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={self.storage}"]


class AlertmanagerServer(_TempStorage):
    binary = "prometheus-alertmanager"
    ready_path = "/-/ready"
    config_name = "alertmanager.yml"

    def command(self) -> list[str]:
        # an empty cluster address turns gossip off: else it binds 9094 on every interface
        return [self.binary, f"--config.file={self.config_path}",
                f"--storage.path={self.storage}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="]
