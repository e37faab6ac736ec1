"""Small helpers every check shares: fetching evidence or saying why not, times, paths."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence
from pytest_soak.verdict import ItemResult, failed, unknown


def need(run: RunEvidence, rel: str, item: str, missing_fails: bool = False
         ) -> tuple[Any, ItemResult | None]:
    """The validated document `rel`, or the ItemResult explaining why it cannot be used.

    An invalid file fails the item (the pipeline wrote broken evidence, and the reason names
    the JSON path). A missing one is unknown -- unless the item is about the file existing.
    The harness's own observations missing or broken is always unknown: the harness broke.
    """
    state = run.file(rel)
    if state.ok:
        return state.doc, None
    harness_side = rel == OBSERVATIONS or state.state == "no_schema"
    if state.state == "missing" and not missing_fails or harness_side:
        return None, unknown(item, state.describe(), evidence=[rel])
    return None, failed(item, state.describe(), evidence=[rel])


def need_manifest(run: RunEvidence, item: str, sections: tuple[str, ...]
                  ) -> tuple[Any, ItemResult | None]:
    """run_manifest.json for an item that reads only `sections` of it.

    A violation inside one of those sections fails the item (naming the JSON path); one
    elsewhere is D6's business and does not hide this item's own evidence.
    """
    state = run.file(MANIFEST)
    if state.state != "invalid" or not isinstance(state.doc, dict):
        return need(run, MANIFEST, item)
    mine = [p for p in state.problems if _about(p, sections)]
    if mine:
        return None, failed(item, f"{MANIFEST} is invalid: " + "; ".join(mine[:3]),
                            evidence=[MANIFEST])
    return state.doc, None


def _about(problem: str, sections: tuple[str, ...]) -> bool:
    path, _, message = problem.partition(": ")
    if path == "$":
        return any(f"'{s}'" in message for s in sections)
    return any(path == f"$.{s}" or path.startswith((f"$.{s}.", f"$.{s}[")) for s in sections)


def dig(doc: Any, path: str, default: Any = None) -> Any:
    """doc['a']['b'][0] for 'a.b.0'; `default` when any step is absent."""
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return default
    return cur


def to_ms(value: Any) -> int | None:
    """Epoch milliseconds from an int/float ms, or an ISO-8601 string (any zone)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return None
    return None


def interrupted(run: RunEvidence, item: str) -> ItemResult | None:
    obs = run.observations
    if obs and obs.get("interrupted"):
        why = obs.get("interrupt_reason") or "run interrupted"
        return unknown(item, f"run was interrupted ({why}); nothing to judge",
                       evidence=[OBSERVATIONS])
    return None
