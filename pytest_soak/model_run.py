"""The fault-free model of a soak (issue 14, D13): the same market, the same market-time feed
faults, no process or store faults, run by the pipeline's own command through the same
SoakSession, so it serves another team's pipeline too.

A model is cached under `<run dir>/models/<key>/` by a key over everything that decides its
sinks: the seed, the feed faults, the speed, minutes, mode, sink and recording, the spec and its
base config, and the pipeline's code (the git commit and working-tree changes of the spec's
working folder, else its files' sizes and times). The faulted run records which model it is
compared with in `model.json` (schemas/model.schema.json).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_soak.fault_kinds.base import FeedFault
from pytest_soak.faults import Schedule
from pytest_soak.pipeline_spec import PipelineSpec
from pytest_soak.session import SoakSession
from pytest_soak.settings import SoakSettings
from pytest_soak_evidence.schemas import write_validated

MODEL_FILE = "model.json"
MODELS_DIR = "models"


def model_schedule(schedule: Schedule) -> Schedule:
    """The schedule's feed faults alone (what the market looks like), under the same seed."""
    kept = tuple(f for f in schedule.faults if isinstance(f.spec, FeedFault))
    return replace(schedule, name=f"{schedule.name} (model)", faults=kept)


def _fault_identity(schedule: Schedule) -> list[dict[str, Any]]:
    return [{"id": f.id, "kind": f.kind, "start_s": f.start_s, "end_s": f.end_s,
             "target": f.target, "params": f.params} for f in schedule.faults]


def _file_digest(path: Path | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def code_fingerprint(folder: Path) -> str:
    """The pipeline's code: its git commit and uncommitted changes, else its files' stats."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                              text=True, timeout=20, check=True).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD"], cwd=folder, capture_output=True,
                              timeout=60, check=True).stdout
        return f"git:{head}:{hashlib.sha256(diff).hexdigest()}"
    except (OSError, subprocess.SubprocessError):
        stats = sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                       for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts
                       and p.suffix in (".py", ".yaml", ".yml", ".json", ".toml"))
        return "files:" + hashlib.sha256(json.dumps(stats).encode()).hexdigest()


def model_key(settings: SoakSettings, spec: PipelineSpec, schedule: Schedule, sink: str) -> str:
    parts = {"seed": schedule.seed, "faults": _fault_identity(model_schedule(schedule)),
             "speed": settings.speed, "minutes": settings.minutes, "mode": settings.mode,
             "sink": sink, "feed": settings.feed,
             "recording": _file_digest(settings.recording), "report_tz": settings.report_tz,
             "spec": _file_digest(spec.source), "base_config": _file_digest(spec.base_config),
             "code": code_fingerprint(spec.workdir)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cached_model(folder: Path) -> Path | None:
    """The finished model run in a cache folder (its observations written), if any."""
    runs = sorted(p.parent for p in folder.glob("*/harness_observations.json"))
    return runs[-1] if runs else None


def ensure_model(settings: SoakSettings, spec: PipelineSpec, schedule: Schedule, sink: str,
                 say: Any = print) -> tuple[Path, str, bool]:
    """(the model's run folder, its key, whether it came from the cache); runs it if needed."""
    key = model_key(settings, spec, schedule, sink)
    folder = settings.run_dir / MODELS_DIR / key
    found = cached_model(folder)
    if found is not None:
        return found, key, True
    say(f"model run {key}: the same market and feed faults, no process or store faults")
    model_settings = replace(settings, run_dir=folder, campaign=None, campaign_seeds=[],
                             campaign_id=None)
    result = SoakSession(model_settings, sink, spec=spec,
                         schedule=model_schedule(schedule)).run()
    return result.run_dir, key, False


def write_model_record(run_dir: Path, model_dir: Path, key: str, cached: bool,
                       schedule: Schedule, spec: PipelineSpec) -> None:
    write_validated(run_dir / MODEL_FILE, {
        "schema_version": 1, "key": key, "run_dir": str(model_dir), "cached": cached,
        "faults": [f.id for f in model_schedule(schedule).faults],
        "memory_s": spec.model_memory_s}, "model")
