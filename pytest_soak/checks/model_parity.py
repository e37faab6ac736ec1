"""D13 the fault-free model: the soak's signals are the model's (pytest_soak/model_run.py: the
same market and feed faults, no process or store faults), element by element.

From the durable handoff on, the process and store faults must not change any output: every
signal of the model outside the lossy feed faults' reach is present in each of the run's sinks
with the same decision (score, confirm, strong, gating), and no sink holds a row the model has
not or holds one twice. A lossy feed fault (burst, dropped connections, gap, stalled stream)
loses data in both runs at wall-clock moments, so rows from its start to its kind's memory
(the spec's `model_memory_s`, 0 for a kind not named) after its end are left out, by the
event times the feed applied it at, and so are the rows after the earlier of the two stops. Lost,
unexpected, duplicated and changed rows are counted and the first of each shown.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pytest_soak.checks._common import interrupted, need
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import MODEL, OBSERVATIONS, RunEvidence
from pytest_soak.verdict import ItemResult, combine, failed, not_claimed, passed, unknown
from pytest_soak_evidence.sinks import jsonl_path, read_jsonl_signals

DECISION = ("score", "confirm", "strong", "gating")
LOSSY = ("burst", "drop_connections", "gap", "stall_substream")
SINK_FILES = ["sinks/signals.jsonl", "sinks/signals.sqlite"]


def check_D13(run: RunEvidence, t: Thresholds) -> ItemResult:
    stop = interrupted(run, "D13")
    if stop:
        return stop
    if run.file(MODEL).state == "missing":
        return not_claimed("D13", "no model run to compare with: soak with --soak-model")
    record, why = need(run, MODEL, "D13")
    if why:
        return why
    model_dir = Path(record["run_dir"])
    model_dir = model_dir if model_dir.is_absolute() else run.run_dir / model_dir
    try:
        model_rows = read_jsonl_signals(jsonl_path(model_dir)).rows
    except Exception as exc:  # noqa: BLE001 - the model is the harness's: unknown, not fail
        return unknown("D13", f"cannot read the model's sink in {model_dir}: {exc!r}",
                       evidence=[MODEL])
    if not model_rows:
        return unknown("D13", f"the model run {model_dir.name} wrote no signal", evidence=[MODEL])
    model_rows, end_ms = _in_run_time(model_rows, run.observations or {}, model_dir)
    spans = lossy_spans(run.faults, dict(record["memory_s"]))
    if end_ms is not None:            # the stop is a wall-clock act: after it, tails differ
        spans.append((end_ms + 1, 2 ** 62, "after the stop"))
    parts = [_compare(sink, rows, model_rows, spans) for sink, rows in run.sink_rows.items()]
    if not parts:
        parts = [unknown("signals equal the model's", "the run wrote no sink",
                         evidence=SINK_FILES)]
    return combine("D13", [_model_part(run, record, model_dir, len(model_rows), spans), *parts])


def _in_run_time(rows: list[dict], obs: dict, model_dir: Path
                 ) -> tuple[list[dict], int | None]:
    """The model's rows with their event times moved into this run's (whole days apart when
    the model was cached on another day), so the spans leave out the same rows in both; and
    the earlier of the two stops, in this run's event time."""
    try:
        model_obs = json.loads((model_dir / OBSERVATIONS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return rows, None
    mine, theirs = clock_start(obs), clock_start(model_obs)
    shift = 0 if mine is None or theirs is None else mine - theirs
    ends = [e for e in ((obs.get("market_clock") or {}).get("end_event_ms"),
                        _shifted((model_obs.get("market_clock") or {}).get("end_event_ms"),
                                 shift)) if e is not None]
    if shift:
        rows = [{**r, "ts_ms": r["ts_ms"] + shift} if r.get("ts_ms") is not None else r
                for r in rows]
    return rows, min(ends) if ends else None


def _shifted(ms: int | None, shift: int) -> int | None:
    return None if ms is None else ms + shift


def lossy_spans(faults: list[dict], memory_s: dict[str, float]) -> list[tuple[int, int, str]]:
    """(start, end, id) in event ms: each lossy feed fault from its start to its kind's
    memory (the spec's model_memory_s) after its end."""
    out = []
    for f in faults:
        start, end = f.get("start_event_ms"), f.get("end_event_ms") or f.get("start_event_ms")
        if f.get("kind") in LOSSY and start is not None:
            memory = float(memory_s.get(str(f.get("kind")), 0.0))
            out.append((int(start), int(end) + int(memory * 1000), str(f.get("id"))))
    return out


def _outside(row: dict, spans: list[tuple[int, int, str]]) -> bool:
    ts = row.get("ts_ms")
    return ts is not None and not any(a <= ts <= b for a, b, _ in spans)


def _decision(row: dict) -> tuple:
    return tuple(row.get(k) for k in DECISION)


def diff_rows(rows: list[dict], model_rows: list[dict], spans: list[tuple[int, int, str]]
              ) -> dict:
    """Lost, unexpected, duplicated and changed row ids, outside the spans."""
    counts = Counter(str(r.get("row_id")) for r in rows)
    mine = {str(r.get("row_id")): r for r in rows if _outside(r, spans)}
    model = {str(r.get("row_id")): r for r in model_rows if _outside(r, spans)}
    changed = sorted(i for i in set(mine) & set(model) if _decision(mine[i]) != _decision(model[i]))
    return {"compared": len(model), "lost": sorted(set(model) - set(mine)),
            "unexpected": sorted(set(mine) - set(model)),
            "duplicated": sorted(i for i in mine if counts[i] > 1),
            "changed": [{"row_id": i, "run": _decision(mine[i]), "model": _decision(model[i])}
                        for i in changed]}


def _compare(sink: str, rows, model_rows: list[dict], spans) -> ItemResult:
    if not isinstance(rows, list):
        return unknown("signals equal the model's", f"cannot read the {sink} sink: {rows!r}",
                       evidence=SINK_FILES, subject=sink)
    found = diff_rows(rows, model_rows, spans)
    bad = {k: found[k] for k in ("lost", "unexpected", "duplicated", "changed") if found[k]}
    value = {"sink": sink, "compared": found["compared"],
             **{k: len(found[k]) for k in ("lost", "unexpected", "duplicated", "changed")}}
    if not bad:
        return passed("signals equal the model's", f"{sink}: all {found['compared']} signals "
                      f"outside the lossy faults equal the model's", value, 0, SINK_FILES,
                      subject=sink)
    text = "; ".join(f"{len(v)} {k} (first {v[0]})" for k, v in bad.items())
    return failed("signals equal the model's", f"{sink}: {text}", value, 0, SINK_FILES,
                  subject=sink)


def clock_start(obs: dict) -> int | None:
    """Market second 0 in event ms (two runs of one seed differ by whole days at most)."""
    return (obs.get("market_clock") or {}).get("start_event_ms")


def _feed_faults(obs: dict) -> list[tuple]:
    """What makes two runs' markets the same: each feed fault's id, kind and event times from
    market second 0."""
    zero = clock_start(obs) or 0

    def rel(ms: int | None) -> int | None:
        return None if ms is None else ms - zero
    return sorted((f.get("id"), f.get("kind"), rel(f.get("start_event_ms")),
                   rel(f.get("end_event_ms")))
                  for f in obs.get("faults") or [] if f.get("applied_by") == "feed")


def _model_part(run: RunEvidence, record: dict, model_dir: Path, rows: int, spans
                ) -> ItemResult:
    """The model is this run's: the same seed and market, the same feed faults at the same
    event times, and it ran to its end."""
    try:
        model_obs = json.loads((model_dir / OBSERVATIONS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return unknown("model run", f"the model's {OBSERVATIONS} is unreadable: {exc!r}",
                       evidence=[MODEL])
    obs = run.observations or {}
    mine, theirs = _feed_faults(obs), _feed_faults(model_obs)
    problems = []
    if model_obs.get("seed") != obs.get("seed"):
        problems.append(f"seed {model_obs.get('seed')} is not this run's {obs.get('seed')}")
    if mine != theirs:
        problems.append(f"its feed faults {theirs} are not this run's {mine}")
    if model_obs.get("interrupted"):
        problems.append("it was interrupted")
    where = f"{model_dir.name} ({'cached' if record['cached'] else 'run now'}, key " \
            f"{record['key']}, feed faults {', '.join(record['faults']) or 'none'})"
    if problems:
        return failed("model run", f"model {where} is not this run's model: "
                      + "; ".join(problems), evidence=[MODEL])
    left_out = ", ".join(f"{i} {a}-{b}" for a, b, i in spans) or "nothing"
    return passed("model run", f"model {where}: {rows} signals; left out (event ms): "
                  f"{left_out}", rows, None, [MODEL])


ITEM = DodItem(
    id="D13", name="fault-free model", title="the soak's signals are the fault-free model's",
    description="A model run (same seed, market and feed faults, no process or store faults, "
                "the pipeline's own command, cached by code and config) is compared with the "
                "soak's sinks by row: outside the lossy feed faults' reach every model signal "
                "is present once, with the same score, confirm, strong and gating, and nothing "
                "else is.",
    subchecks=(SubCheck("model run"), SubCheck("signals equal the model's", "eq", per="sink")),
    check=check_D13, evidence=(MODEL, *SINK_FILES))
