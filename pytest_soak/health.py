"""The harness's own health polls of the pipeline's health URL (D2).

The health contract (docs/soak.md): `GET <health_url>` answers JSON with a `stages` mapping,
each stage either a boolean or an object carrying `healthy: bool` or a `state`/`status` word
(`healthy`/`ok`; anything else, `degraded` included, is unhealthy), and the `pid` of its
process. The HTTP status alone is not trusted, and neither is the body alone: a stage counts
as healthy only when the body says so *and* the pid it names is a live process of that stage
as the harness itself sees it (psutil, right after the answer: a descendant of the
pipeline's root whose command line matches `stage_regex` for that stage, running, not a
zombie). A body naming the pid of a killed stage, a zombie, another stage's process or no
pid at all does not make that stage healthy. Each poll records what the harness saw
(`live_pids`, `pid_check`), so the checks recompute the verdict from the record
(`harness_healthy`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psutil
import requests

from pytest_soak.resources import ProcessTree, alive

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
    # what the harness saw itself right after the answer: the live pids per stage, and per
    # stage of the body "ok" or why the pid the body names is not one of them
    live_pids: dict[str, list[int]] = field(default_factory=dict)
    pid_check: dict[str, str] = field(default_factory=dict)

    def healthy(self, stage: str) -> bool:
        """The harness's verdict on one stage (the body's word and the pid it names)."""
        return self.ok and harness_healthy(self.record(), stage)

    def all_healthy(self, expected: list[str]) -> bool:
        return all(self.healthy(s) for s in expected)

    def record(self) -> dict[str, Any]:
        """The fields of a poll's line in observer/health.jsonl that judge its stages."""
        return {"ok": self.ok, "stages": self.stages, "pids": self.pids,
                "live_pids": self.live_pids, "pid_check": self.pid_check}


def harness_healthy(poll: dict, stage: str) -> bool:
    """A recorded poll counts `stage` healthy: an answer whose body says so and names a pid
    the harness saw as a live process of that stage (a poll without the harness's own pid
    view counts as unhealthy: missing data never passes)."""
    if not poll.get("ok", True) or (poll.get("stages") or {}).get(stage) is not True:
        return False
    pid = (poll.get("pids") or {}).get(stage)
    live = (poll.get("live_pids") or {}).get(stage) or []
    return pid is not None and pid in live


def body_only(poll: dict, stage: str) -> bool:
    """The body said `stage` is healthy but the harness did not see the pid it names."""
    return ((poll.get("stages") or {}).get(stage) is True and poll.get("ok", True)
            and not harness_healthy(poll, stage))


def verify_pids(poll: HealthPoll, tree: ProcessTree, stages: list[str]) -> None:
    """Fill `poll.live_pids` and `poll.pid_check` from the harness's own psutil view."""
    live: dict[str, list[int]] = {}
    for name, proc in tree.processes():
        if name != "supervisor" and not name.startswith("other:"):
            live.setdefault(name, []).append(proc.pid)
    poll.live_pids = live
    for stage in stages:
        pid = poll.pids.get(stage)
        poll.pid_check[stage] = ("ok" if pid in live.get(stage, [])
                                 else why_not_live(pid, stage, tree))


def why_not_live(pid: int | None, stage: str, tree: ProcessTree) -> str:
    """Why `pid` is not a live `stage` process, in a few words for the check's reason."""
    if pid is None:
        return "the body names no pid"
    try:
        proc = psutil.Process(pid)
        if not alive(proc):
            return "a zombie" if proc.status() == psutil.STATUS_ZOMBIE else "gone"
        root = tree.root()
        if root is None or pid == root.pid:
            return "the supervisor itself" if root is not None else "the pipeline is gone"
        if pid not in {p.pid for p in root.children(recursive=True)}:
            return "not a process of the pipeline"
        name = tree.name_of(proc)
    except psutil.Error:
        return "gone"
    if name == "gone":
        return "gone"
    return "not a stage process" if name.startswith("other:") else f"a {name} process"


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
