"""D10 graceful shutdown: on SIGINT the stages stop in the order report -> broker -> signal ->
harvest (the harness's configured order, not the pipeline's own config: a pipeline cannot
pass by declaring a different order), as recorded in the manifest AND as the harness saw the
processes exit; no orphan process (the harness's own sweep: one that raised is unknown); no
residual in-memory queue (every stage's status file present and readable, else fail);
nothing committed lost.

"Nothing committed lost" is reconciled by element: every signal committed to the durable
handoff (handoff/signals) must be in each sink, by row_id.
"""

from __future__ import annotations

import json

from pytest_soak.checks._common import interrupted, need, need_manifest
from pytest_soak.checks.manifest import processes
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence, read_jsonl
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown


def manifest_order(manifest: dict) -> list[str] | None:
    entries = manifest.get("shutdown_order")
    if isinstance(entries, dict):
        entries = entries.get("observed") or entries.get("order") or entries.get("stages")
    if not isinstance(entries, list):
        return None
    names = [e if isinstance(e, str) else (e or {}).get("stage") for e in entries]
    return [n for n in names if n]


def observed_order(obs: dict, manifest: dict) -> list[str] | None:
    """The stop order as the harness saw it: each stage's final process (the last pid the
    manifest lists for the stage, so a post-run helper started under a stage's name is not
    taken for it), ordered by the exit time the harness's own pid tracker recorded. Falls
    back to the observations' own order (each stage's first exit after the stop signal) when
    the manifest lists no pids, or below contract level 2 (no manifest)."""
    exits = {e["pid"]: e.get("exit_ms") for entries in (obs.get("pids") or {}).values()
             for e in entries}
    if not processes(manifest):
        return obs["shutdown"].get("observed_order")
    order: list[tuple[int, str]] = []
    for stage, proc in processes(manifest).items():
        pids = proc.get("pids") or []
        if not pids:
            return obs["shutdown"].get("observed_order")
        exit_ms = exits.get(pids[-1])
        if exit_ms is not None:
            order.append((exit_ms, stage))
    return [stage for _ms, stage in sorted(order)]


def _order(name: str, seen: list[str] | None, want: list[str], rel: str,
           unseen_is_unknown: bool = False) -> ItemResult:
    if seen is None:
        return failed(name, f"{rel} records no shutdown order", None, want, [rel])
    if not seen:
        return unknown(name, f"{rel} shows no stage stopping", seen, want, [rel])
    relevant = [s for s in seen if s in want]
    expected = [s for s in want if s in relevant]
    missing = [s for s in want if s not in relevant]
    if relevant != expected:
        return failed(name, f"stages stopped as {' -> '.join(relevant)}, expected "
                      f"{' -> '.join(want)}", seen, want, [rel])
    if missing:
        verdict = unknown if unseen_is_unknown else failed
        return verdict(name, f"{', '.join(missing)} never seen stopping (order seen: "
                       f"{' -> '.join(relevant)})", seen, want, [rel])
    return passed(name, f"{' -> '.join(relevant)}", seen, want, [rel])


def _not_forced(manifest: dict) -> ItemResult:
    entries = [e for e in manifest.get("shutdown_order") or [] if isinstance(e, dict)]
    forced = [e.get("stage") for e in entries if e.get("forced")]
    if forced:
        return failed("graceful stops", f"{forced} did not stop within the grace period and "
                      "were SIGKILLed", forced, [], [MANIFEST])
    return passed("graceful stops", "every stage stopped within its grace period", [], [],
                  [MANIFEST])


def _orphans(obs: dict) -> ItemResult:
    """No process of the run outlived the supervisor, as the harness's own sweep found. A
    sweep that raised (or observations that do not say it ran) proves nothing: unknown, the
    harness's failure, never a pass."""
    shutdown = obs["shutdown"]
    if "sweep_error" not in shutdown:
        return unknown("orphans", "the observations do not say whether the orphan sweep ran",
                       evidence=[OBSERVATIONS])
    if shutdown["sweep_error"]:
        return unknown("orphans", f"the harness's orphan sweep raised: "
                       f"{shutdown['sweep_error']}", evidence=[OBSERVATIONS])
    orphans = [o for o in shutdown.get("orphans") or [] if o.get("status") != "zombie"]
    if orphans:
        desc = ", ".join(f"{o['pid']} {o['name']}" for o in orphans[:3])
        return failed("orphans", f"{len(orphans)} process(es) outlived the supervisor: {desc}",
                      len(orphans), 0, [OBSERVATIONS])
    return passed("orphans", "no process of the run outlived it", 0, 0, [OBSERVATIONS])


def is_residual(key: str, value: object) -> bool:
    """A stage metric naming something still held in memory (a queue's length, a pending
    batch, an export backlog) with a non-zero / true value."""
    holds = key.endswith(("_len", "_depth", "_size", "backlog")) or key.startswith("pending")
    return holds and isinstance(value, int | float) and bool(value)


def _residual_queues(run: RunEvidence, obs: dict, manifest: dict) -> ItemResult:
    """Every stage of the run (the harness saw it, or the manifest lists it) left a readable
    status/<stage>.json saying it stopped with nothing held in memory. A status file the
    pipeline should have written and did not, or wrote unreadable, fails: the pipeline's
    evidence is broken, and a residual queue could hide behind it."""
    written = {p.stem for p in (run.run_dir / "status").glob("*.json")}  # post-run helpers too
    stages = sorted(set(obs.get("pids") or {}) | set(processes(manifest)) | written)
    if not stages:
        return unknown("residual queues", "neither the harness nor the manifest names a stage")
    residual: dict[str, int] = {}
    not_stopped, broken = [], []
    for stage in stages:
        path = run.run_dir / "status" / f"{stage}.json"
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            broken.append(f"{stage}: missing")
            continue
        except (OSError, ValueError) as exc:
            broken.append(f"{stage}: unreadable ({type(exc).__name__})")
            continue
        if not isinstance(status, dict):
            broken.append(f"{stage}: not a JSON object")
            continue
        if status.get("state") != "stopped":
            not_stopped.append(f"{stage}={status.get('state')}")
        for key, value in (status.get("metrics") or {}).items():
            if is_residual(key, value):
                residual[f"{stage}.{key}"] = value
    if broken or residual or not_stopped:
        what = [f"status file(s) {broken}" if broken else "",
                f"residual in-memory queue(s) {residual}" if residual else "",
                f"state(s) {not_stopped}" if not_stopped else ""]
        return failed("residual queues", "; ".join(w for w in what if w),
                      len(broken) + len(residual) + len(not_stopped), 0, ["status/"])
    return passed("residual queues", f"{len(stages)} stages stopped with empty queues", 0, 0,
                  ["status/"])


def committed_row_ids(run: RunEvidence) -> set | None:
    segments = sorted((run.run_dir / "handoff" / "signals").glob("*.jsonl"))
    if not segments:
        return None
    ids = set()
    for seg in segments:
        ids |= {r.get("row_id") for r in read_jsonl(seg)[0] if r.get("row_id") is not None}
    return ids


def _nothing_lost(run: RunEvidence) -> ItemResult:
    committed = committed_row_ids(run)
    if committed is None:
        return unknown("nothing committed lost", "no handoff/signals log to reconcile with")
    if not committed:
        return unknown("nothing committed lost", "no signal was ever committed")
    lost: dict[str, int] = {}
    for sink, rows in run.sink_rows.items():
        if not isinstance(rows, list):
            return unknown("nothing committed lost", f"cannot read the {sink} sink: {rows!r}")
        missing = committed - {r.get("row_id") for r in rows}
        if missing:
            lost[sink] = len(missing)
    if not run.sink_rows:
        return unknown("nothing committed lost", "no sink to reconcile")
    if lost:
        return failed("nothing committed lost", f"committed signals missing from sinks: {lost}",
                      lost, 0, ["handoff/signals", "sinks/"])
    return passed("nothing committed lost", f"all {len(committed)} committed signals in every "
                  "sink", len(committed), len(committed), ["handoff/signals", "sinks/"])


def check_D10(run: RunEvidence, t: Thresholds) -> ItemResult:
    obs, why = need(run, OBSERVATIONS, "D10")
    if why:
        return why
    stop = interrupted(run, "D10")
    if stop:
        return stop
    manifest: dict = {}
    if run.level >= 2:
        manifest, why = need_manifest(run, "D10", ("shutdown_order",))
        if why:
            return why
    want = list(run.contract.shutdown_order or t.shutdown_order)
    return combine("D10", ITEM.at_level(run.level, [
        ("manifest order", lambda: _order("manifest order", manifest_order(manifest), want,
                                          MANIFEST)),
        ("observed order", lambda: _order("observed order", observed_order(obs, manifest), want,
                                          OBSERVATIONS, unseen_is_unknown=True)),
        ("graceful stops", lambda: _not_forced(manifest)),
        ("orphans", lambda: _orphans(obs)),
        ("residual queues", lambda: _residual_queues(run, obs, manifest)),
        ("nothing committed lost", lambda: _nothing_lost(run))]))


ITEM = DodItem(
    id="D10", name="graceful shutdown",
    title="shutdown goes in order, leaves no orphan and loses nothing",
    description="On SIGINT the stages stop report -> broker -> signal -> harvest, as the "
                "manifest says and as the harness saw; no orphan, no residual queue, nothing "
                "committed lost.",
    subchecks=(SubCheck("manifest order", "eq"), SubCheck("observed order", "eq", level=0),
               SubCheck("graceful stops", "eq"), SubCheck("orphans", "max", level=0),
               SubCheck("residual queues", "max"), SubCheck("nothing committed lost")),
    check=check_D10, evidence=(MANIFEST, OBSERVATIONS, "status/*.json"), plots=("rss.png",))
