"""D5 dual-sink parity: JSONL vs SQLite over the same window, total/confirm/strong_ratio
differ < 0.5 %, and parity_diff.json (with its window alignment) says what the sinks say.

The harness recomputes parity from the sinks themselves (pytest_soak_evidence.parity, the same
code the pipeline's parity tool runs), never trusting parity_diff.json's figures, and reconciles by
element: lost = row_ids in JSONL but not SQLite, unexpected = the reverse; both must be empty.
An empty common window is unknown.
"""

from __future__ import annotations

from typing import Any

from pytest_soak.checks._common import dig, interrupted, need
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import PARITY_DIFF, RunEvidence
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

FIGURES = ("total", "confirm", "strong_ratio")
SINK_FILES = ["sinks/signals.jsonl", "sinks/signals.sqlite"]


def check_D5(run: RunEvidence, t: Thresholds) -> ItemResult:
    stop = interrupted(run, "D5")
    if stop:
        return stop
    if run.sink_mode != "dual":
        return unknown("D5", f"parity needs --soak-sink dual (this run: {run.sink_mode})")
    diff_file, why = need(run, PARITY_DIFF, "D5", missing_fails=True)
    if why:
        return why
    recomputed = run.parity_recomputed
    if isinstance(recomputed, Exception):
        return unknown("D5", f"cannot recompute parity from the sinks: {recomputed!r}",
                       evidence=SINK_FILES)
    return combine("D5", [_figures(recomputed, t), _file_agrees(diff_file, recomputed),
                          _elements(run)])


def diff_pcts(doc: dict) -> dict[str, Any]:
    """{figure: diff in percent} over the common window, from a parity document."""
    found = doc.get("diff_pct") or {}
    return {f: found.get(f) for f in FIGURES}


def _figures(recomputed: dict, t: Thresholds) -> ItemResult:
    if not recomputed.get("comparable") or not _window_total(recomputed):
        return unknown("parity figures", "the common window of the two sinks is empty "
                       f"(window {recomputed.get('window')})", threshold=t.parity_max_pct,
                       evidence=SINK_FILES)
    pcts = diff_pcts(recomputed)
    missing = [f for f, v in pcts.items() if v is None]
    if missing:
        return unknown("parity figures", f"recomputed parity lacks {missing}",
                       evidence=SINK_FILES)
    worst = max(pcts, key=lambda f: pcts[f])
    value = {**pcts, "window_minutes": dig(recomputed, "window.minutes"),
             "max_minute_diff_pct": recomputed.get("max_diff_pct")}
    if pcts[worst] < t.parity_max_pct:
        return passed("parity figures", f"largest diff {worst} {pcts[worst]:.4f} % "
                      f"< {t.parity_max_pct} % over {value['window_minutes']} minutes", value,
                      t.parity_max_pct, SINK_FILES)
    return failed("parity figures", f"{worst} differs by {pcts[worst]:.4f} % between JSONL "
                  f"and SQLite (>= {t.parity_max_pct} %)", value, t.parity_max_pct, SINK_FILES)


def _window_total(doc: dict) -> int:
    return max(dig(doc, f"totals.{sink}.total") or 0 for sink in ("jsonl", "sqlite"))


def _file_agrees(diff_file: dict, recomputed: dict) -> ItemResult:
    claimed, actual = diff_pcts(diff_file), diff_pcts(recomputed)
    off = {f: (claimed[f], actual[f]) for f in FIGURES
           if claimed[f] != actual[f] and (None in (claimed[f], actual[f])
                                             or abs(claimed[f] - actual[f]) > 1e-6)}
    window = diff_file.get("window")
    if off:
        return failed("parity_diff.json", f"parity_diff.json disagrees with the sinks "
                      f"(claimed, recomputed): {off}", claimed, actual, [PARITY_DIFF])
    if not window:
        return failed("parity_diff.json", "parity_diff.json has no window alignment",
                      evidence=[PARITY_DIFF])
    return passed("parity_diff.json", "parity_diff.json matches the recomputation",
                  claimed, actual, [PARITY_DIFF])


def _elements(run: RunEvidence) -> ItemResult:
    rows = run.sink_rows
    bad = {s: r for s, r in rows.items() if not isinstance(r, list)}
    if bad:
        return unknown("row_id sets", f"cannot read sink(s): {bad}", evidence=SINK_FILES)
    jsonl = {r.get("row_id") for r in rows["jsonl"]}
    sqlite = {r.get("row_id") for r in rows["sqlite"]}
    if not jsonl and not sqlite:
        return unknown("row_id sets", "both sinks are empty", evidence=SINK_FILES)
    only_jsonl, only_sqlite = jsonl - sqlite, sqlite - jsonl
    value = {"jsonl": len(jsonl), "sqlite": len(sqlite), "only_jsonl": len(only_jsonl),
             "only_sqlite": len(only_sqlite)}
    if only_jsonl or only_sqlite:
        return failed("row_id sets", f"{len(only_jsonl)} row_id(s) only in JSONL (e.g. "
                      f"{sorted(map(str, only_jsonl))[:2]}), {len(only_sqlite)} only in SQLite",
                      value, 0, SINK_FILES)
    return passed("row_id sets", f"both sinks hold the same {len(jsonl)} row_ids", value, 0,
                  SINK_FILES)


ITEM = DodItem(
    id="D5", name="dual-sink parity", title="JSONL and SQLite sinks agree",
    description="Parity is recomputed from the JSONL and SQLite sinks themselves; the figures "
                "must differ by less than 0.5 % and both sinks must hold the same row_ids.",
    subchecks=(SubCheck("parity figures", "max"), SubCheck("parity_diff.json", "eq"),
               SubCheck("row_id sets")),
    # signal_latency.json: the sinks' latency figures, beside their parity (not judged)
    check=check_D5, evidence=(PARITY_DIFF, *SINK_FILES, "signal_latency.json"),
    plots=("events.png",))
