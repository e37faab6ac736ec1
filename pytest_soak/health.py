"""The harness's own health polls of the pipeline's health URL (D2).

The health contract (docs/soak.md): `GET <health_url>` answers JSON with a `stages` mapping,
each stage either a boolean or an object carrying `healthy: bool` or a `state`/`status` word
(`healthy`/`ok`; anything else, `degraded` included, is unhealthy). The
HTTP status alone is not trusted: a stage counts as healthy only when the body says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests

HEALTHY_WORDS = {"ok", "healthy", "up", "pass"}   # "degraded", "starting": not healthy


def stage_healthy(entry: Any) -> bool:
    """Read one stage's health out of a health document entry."""
    if isinstance(entry, bool):
        return entry
    if isinstance(entry, dict):
        if "healthy" in entry:
            return entry["healthy"] is True
        for key in ("state", "status"):
            value = entry.get(key)
            if isinstance(value, str):
                return value.lower() in HEALTHY_WORDS
    return False


def parse_health(doc: Any) -> dict[str, bool]:
    """{stage: healthy} from a health document; {} when it has no stage list."""
    if not isinstance(doc, dict):
        return {}
    stages = doc.get("stages")
    if isinstance(stages, dict):
        return {str(name): stage_healthy(entry) for name, entry in stages.items()}
    if isinstance(stages, list):
        return {str(e.get("name")): stage_healthy(e) for e in stages if isinstance(e, dict)}
    return {}


def stage_pids(doc: Any) -> dict[str, int]:
    """Stage pids if the health document reports them (`stages.<name>.pid`)."""
    out: dict[str, int] = {}
    stages = doc.get("stages") if isinstance(doc, dict) else None
    if isinstance(stages, dict):
        for name, entry in stages.items():
            if isinstance(entry, dict) and isinstance(entry.get("pid"), int):
                out[str(name)] = entry["pid"]
    return out


@dataclass
class HealthPoll:
    t_ms: int
    ok: bool                       # got a JSON answer at all
    http_status: int | None
    stages: dict[str, bool] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    doc: Any = None

    def all_healthy(self, expected: list[str]) -> bool:
        return self.ok and all(self.stages.get(s) is True for s in expected)


def poll_health(session: requests.Session, url: str, t_ms: int,
                timeout_s: float = 2.0) -> HealthPoll:
    """One poll; never raises (a failed poll is a data point: every stage unhealthy)."""
    try:
        resp = session.get(url, timeout=timeout_s)
    except requests.RequestException as exc:
        return HealthPoll(t_ms, False, None, error=type(exc).__name__)
    try:
        doc = resp.json()
    except (ValueError, json.JSONDecodeError):
        return HealthPoll(t_ms, False, resp.status_code, error="body is not JSON")
    return HealthPoll(t_ms, True, resp.status_code, parse_health(doc), stage_pids(doc), doc=doc)
