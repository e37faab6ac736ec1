"""D12 execution outbox: after a graceful stop every broker event is in ready/*.jsonl exactly
once, nothing is left in spool/, no partial or stray file is visible in ready/, and every line
validates against executor_contract/v1 (read with pytest_soak_evidence.outbox, the shared reader).

Reconciled by element both ways: each event's signal_row_id must be a signal the sinks hold
(unexpected = outbox - sinks), every signal the declared broker config makes eligible must have
exactly one terminal decision (outbox_decisions.py), and the broker's own count of events
written must equal the lines found (lost = claimed - found). The harness's own watch of ready/
during the run shows no file torn or changed after it appeared (outbox_watch.py). No event at
all is unknown.
"""

from __future__ import annotations

from pytest_soak.checks._common import interrupted, need_manifest
from pytest_soak.checks.outbox_decisions import check_decisions
from pytest_soak.checks.outbox_watch import check_watch
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, SOURCE_MANIFEST, RunEvidence
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

READY = "outbox/ready/"
# outbox event type -> the executor_metrics counter of events of that type written
CLAIM_KEYS = {"submit": "orders", "fill": "fills", "reject": "rejects"}


def check_D12(run: RunEvidence, t: Thresholds) -> ItemResult:
    stop = interrupted(run, "D12")
    if stop:
        return stop
    scan = run.outbox
    if isinstance(scan, Exception):
        return unknown("D12", f"cannot read the outbox: {scan!r}", evidence=[READY])
    if not scan.events and not scan.invalid:
        return unknown("D12", "the outbox holds no event (was any signal confirmed?)",
                       0, None, [READY])
    manifest, _why = need_manifest(run, "D12", ("executor_metrics",))
    return combine("D12", [_clean(scan), _claimed(scan, manifest), _known_signals(run, scan),
                           check_decisions(run, scan, t), check_watch(run, scan)])


def _clean(scan) -> ItemResult:
    s = scan.summary()
    problems = []
    if scan.invalid:
        bad = scan.invalid[0]
        problems.append(f"{len(scan.invalid)} invalid line(s), first {bad.file}:{bad.line} "
                        f"{bad.errors[:1]}")
    if scan.duplicates:
        problems.append(f"{len(scan.duplicates)} duplicate event(s) e.g. {scan.duplicates[0]}")
    if scan.partial_files:
        problems.append(f"partial file(s) visible in ready/: {scan.partial_files[:3]}")
    if scan.stray_files:
        problems.append(f"stray file(s) in ready/: {scan.stray_files[:3]}")
    if scan.spool_files:
        problems.append(f"unpublished spool file(s) after the stop: {scan.spool_files[:3]}")
    if problems:
        return failed("ready/ clean", "; ".join(problems), s, 0, [READY])
    return passed("ready/ clean", f"{s['events']} events in {s['files']} files, all valid, "
                  "none twice, spool empty", s, 0, [READY])


def _claimed(scan, manifest: dict | None) -> ItemResult:
    """The broker's own counts per event type against the lines found in ready/."""
    metrics = (manifest or {}).get("executor_metrics") or {}
    claim = {event: metrics.get(key) for event, key in CLAIM_KEYS.items()}
    found = {event: sum(1 for e in scan.events if e.get("event") == event) for event in claim}
    if any(not isinstance(v, int) for v in claim.values()):
        return unknown("broker count", "executor_metrics gives no count of events written "
                       f"(looked for {list(CLAIM_KEYS.values())})", found, claim, [MANIFEST])
    if claim != found:
        return failed("broker count", f"broker wrote {claim}, ready/ holds {found}", found,
                      claim, [MANIFEST, READY])
    return passed("broker count", f"ready/ holds every event the broker wrote {claim}", found,
                  claim, [MANIFEST, READY])


def _known_signals(run: RunEvidence, scan) -> ItemResult:
    rows = next((r for r in run.sink_rows.values() if isinstance(r, list)), None)
    if rows is None:
        return unknown("signal ids", "cannot read a sink to reconcile signal_row_ids")
    known = {r.get("row_id") for r in rows}
    strays = {e.get("signal_row_id") for e in scan.events} - known - {None}
    if strays:
        return failed("signal ids", f"{len(strays)} outbox event(s) name signals no sink holds, "
                      f"e.g. {sorted(map(str, strays))[:2]}", len(strays), 0, [READY, "sinks/"])
    return passed("signal ids", "every outbox event names a signal the sinks hold", 0, 0,
                  [READY, "sinks/"])


ITEM = DodItem(
    id="D12", name="execution outbox",
    title="the execution outbox holds every event exactly once",
    description="ready/ holds every broker event exactly once, valid against "
                "executor_contract/v1, with no partial or leftover file; every signal the "
                "declared broker config makes eligible has exactly one terminal decision "
                "(a fill, or a reject with a reason); the harness's watch of ready/ during "
                "the run saw no file torn or changed after it appeared.",
    subchecks=(SubCheck("ready/ clean"), SubCheck("broker count", "eq"),
               SubCheck("signal ids", "max"), SubCheck("terminal decisions", "max"),
               SubCheck("ready/ never torn", "max")),
    check=check_D12, evidence=(MANIFEST, "outbox/ready/*.jsonl", SOURCE_MANIFEST,
                               OBSERVATIONS))
