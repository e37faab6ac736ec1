"""D6 manifest: run_manifest.json validates against its schema and holds harvester_metrics,
resource_usage, shutdown_order, timeseries_export, alerts, status.processes[*].restart_count
and restart_backoff_pattern (a process record for every stage the harness saw running).
Present *and* filled: a section that is null or empty when the
run had data for it is a failure, named by its JSON path."""

from __future__ import annotations

from pytest_soak.checks._common import dig, interrupted, need
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import MANIFEST, FileState, RunEvidence
from pytest_soak.verdict import ItemResult, combine, failed, passed

REQUIRED = ("harvester_metrics", "resource_usage", "shutdown_order", "timeseries_export",
            "alerts", "restart_backoff_pattern")
SECTIONS = "sections present"
SCHEMA = "schema valid"


def processes(manifest: dict) -> dict[str, dict]:
    """status.processes as {stage: record}, whether the manifest keeps a list or a mapping."""
    procs = dig(manifest, "status.processes")
    if isinstance(procs, dict):
        return {str(k): v for k, v in procs.items() if isinstance(v, dict)}
    if isinstance(procs, list):
        return {str(p.get("stage", p.get("name", i))): p for i, p in enumerate(procs)
                if isinstance(p, dict)}
    return {}


def check_D6(run: RunEvidence, t: Thresholds) -> ItemResult:
    state = run.file(MANIFEST)
    if state.state != "invalid" or not isinstance(state.doc, dict):
        _manifest, why = need(run, MANIFEST, "D6", missing_fails=True)
        if why:
            return why
    stop = interrupted(run, "D6")
    if stop:
        return stop
    return combine("D6", [_schema_valid(state), _sections(run, state.doc)])


def _schema_valid(state: FileState) -> ItemResult:
    if state.ok:
        return passed(SCHEMA, "run_manifest.json validates against its schema", 0, 0,
                      [MANIFEST])
    return failed(SCHEMA, state.describe(), len(state.problems), 0, [MANIFEST])


def _sections(run: RunEvidence, manifest: dict) -> ItemResult:
    missing = [f"$.{key}" for key in REQUIRED if manifest.get(key) is None]
    empty = [f"$.{key}" for key in ("harvester_metrics", "resource_usage", "timeseries_export",
                                    "shutdown_order") if manifest.get(key) in ({}, [])]
    procs = processes(manifest)
    if not procs:
        missing.append("$.status.processes")
    missing += [f"$.status.processes.{name}.restart_count" for name, p in procs.items()
                if not isinstance(p.get("restart_count"), int)]
    # every stage the harness saw running (or the manifest says it enabled) has its record
    seen = set((run.observations or {}).get("pids") or {}) | set(manifest.get("enabled") or [])
    missing += [f"$.status.processes.{name}" for name in sorted(seen - set(procs)) if procs]
    if missing or empty:
        what = (f"missing {missing}" if missing else "") + (f" empty {empty}" if empty else "")
        return failed(SECTIONS, f"run_manifest.json {what.strip()}", len(missing) + len(empty),
                      0, [MANIFEST])
    return passed(SECTIONS, f"run_manifest.json holds {', '.join(REQUIRED)} and "
                  f"restart_count for {len(procs)} processes", 0, 0, [MANIFEST])


ITEM = DodItem(
    id="D6", name="manifest", title="the run manifest is valid and complete",
    description="run_manifest.json validates against its schema and holds every section of "
                "SPEC D6.",
    subchecks=(SubCheck(SCHEMA, "max"), SubCheck(SECTIONS, "max")), check=check_D6,
    evidence=(MANIFEST,))
