"""D12 "ready/ never torn": the SPEC's "no partial file is ever visible in ready/", judged on
the harness's own watch of the folder during the run (pytest_soak/ready_watch.py, recorded as
`ready_watch` in harness_observations.json): a file seen torn, or changed or removed after it
appeared, fails; a file in ready/ at the end that the watch never saw fails (nobody vouched
for it); no watch record, or a watch that never polled, is unknown.
"""

from __future__ import annotations

from pytest_soak.evidence_loader import OBSERVATIONS, RunEvidence
from pytest_soak.verdict import ItemResult, failed, passed, unknown

NAME = "ready/ never torn"
EVIDENCE = [OBSERVATIONS, "outbox/ready/"]


def _first(records: list[dict]) -> str:
    r = records[0]
    return f"e.g. {r.get('file')}: {r.get('why')}"


def check_watch(run: RunEvidence, scan) -> ItemResult:
    watch = (run.observations or {}).get("ready_watch")
    if not isinstance(watch, dict):
        return unknown(NAME, "no ready_watch record in harness_observations.json: the harness "
                       "did not watch ready/ during the run", evidence=EVIDENCE)
    if not watch.get("polls"):
        return unknown(NAME, "the ready/ watch never polled", 0, None, EVIDENCE)
    torn, changed = watch.get("torn") or [], watch.get("changed") or []
    n_torn = max(len(torn), int(watch.get("torn_count") or 0))
    n_changed = max(len(changed), int(watch.get("changed_count") or 0))
    unseen = sorted(set(scan.files) - set(watch.get("files") or {}))
    problems = []
    if n_torn:
        problems.append(f"{n_torn} file(s) seen torn in ready/ ({_first(torn)})")
    if n_changed:
        problems.append(f"{n_changed} file(s) changed after they appeared ({_first(changed)})")
    if unseen:
        problems.append(f"{len(unseen)} file(s) in ready/ the watch never saw: {unseen[:3]}")
    value = n_torn + n_changed + len(unseen)
    if problems:
        return failed(NAME, "; ".join(problems), value, 0, EVIDENCE)
    return passed(NAME, f"{len(watch.get('files') or {})} file(s) watched every "
                  f"{watch.get('poll_ms')} ms over {watch['polls']} polls: none torn, none "
                  "changed after it appeared", 0, 0, EVIDENCE)
