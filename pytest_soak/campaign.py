"""A campaign's verdict: a folder of run folders merged into campaign.json and a table.

One code path for both places a campaign ends: the pytest session of `--soak-campaign` (its
controller, once every xdist worker is done) and `pytest-soak campaign-merge DIR` (run folders
from anywhere: the pods of deploy/k8s/soak-campaign.yaml on one shared volume). Only the run
folders are read, each one's dod.json (validated), harness_observations.json and replay.json:
nothing is judged again here.

A run's verdict: `pass`; `fail` (an item failed on the pipeline's evidence); `unknown` (no item
failed, some could not be decided: dod.json's failure_kind "harness", or no dod.json at all);
`interrupted` (cut short, or no evidence of an end). The campaign's verdict is the worst run's:
fail over interrupted over unknown over pass (a fail is a finding about the pipeline; an
interrupted run leaves the campaign incomplete; an unknown one is complete but undecided). A
seed the campaign expected and no folder holds counts as interrupted.

    python -m pytest_soak campaign-merge DIR [--seeds 11,12,13]
    exit 0 every run passed, 1 a run failed, 2 unknown, 3 interrupted (as `pytest-soak judge`)
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_soak.campaign_plan import REPLAY_FILE
from pytest_soak.settings import parse_campaign
from pytest_soak_evidence.schemas import SchemaViolation, load_validated, write_validated

CAMPAIGN_FILE = "campaign.json"
OBSERVATIONS = "harness_observations.json"
DOD = "dod.json"
VERDICTS = ("pass", "unknown", "interrupted", "fail")          # best first
EXIT_CODES = {"pass": 0, "fail": 1, "unknown": 2, "interrupted": 3}
SHOWN_CHECKS = 3            # failed sub-checks per table row (campaign.json has all)


def worst(verdicts: Iterable[str]) -> str:
    return max(verdicts, key=VERDICTS.index, default="pass")


def is_run_folder(folder: Path) -> bool:
    return any((folder / name).exists() for name in (OBSERVATIONS, DOD, REPLAY_FILE, "harness"))


def find_runs(root: Path) -> list[Path]:
    """Every run folder under `root` (at any depth: a pod may nest its own run dir)."""
    if is_run_folder(root):
        return [root]
    found = []
    for top, dirs, _files in os.walk(root):
        here = Path(top)
        runs = [d for d in dirs if is_run_folder(here / d)]
        found += [here / d for d in runs]
        dirs[:] = sorted(d for d in dirs if d not in runs)   # no descent into a run folder
    return sorted(found)


def _read(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def failed_checks(dod: dict) -> list[dict]:
    """Each claimed sub-check short of a pass, as {item, check, subject, status}."""
    out = []
    for item, result in (dod.get("items") or {}).items():
        if result["status"] not in ("fail", "unknown"):
            continue
        parts = [p for p in result.get("parts") or [] if p["status"] in ("fail", "unknown")]
        out += [{"item": item, "check": p["name"], "subject": p["subject"],
                 "status": p["status"]} for p in parts] or [
            {"item": item, "check": None, "subject": None, "status": result["status"]}]
    return out


def check_label(check: dict) -> str:
    """`D9 new pid alive [kill-compute]`: what the table and a replay comparison show."""
    label = check["item"] + (f" {check['check']}" if check["check"] else "")
    return label + (f" [{check['subject']}]" if check["subject"] else "")


def _verdict(folder: Path, obs: dict | None) -> tuple[str, str | None, dict | None, str]:
    """(verdict, failure_kind, dod, reason) of one run folder."""
    if (folder / DOD).is_file():
        try:
            dod = load_validated(folder / DOD, "dod")
        except (OSError, ValueError, SchemaViolation) as exc:
            return "unknown", "harness", None, f"dod.json unreadable: {exc}"
        kind = dod["failure_kind"]
        verdict = {"pass": "pass", "interrupted": "interrupted"}.get(
            dod["verdict"], "fail" if kind == "pipeline" else "unknown")
        short = [i for i, r in dod["items"].items() if r["status"] in ("fail", "unknown")]
        why = f"{kind}: {', '.join(short) or 'no item short'}"
        return verdict, kind, dod, "" if verdict == "pass" else why
    if obs is None:
        return "interrupted", "interrupted", None, "no harness_observations.json: it never ended"
    if obs.get("interrupted"):
        return ("interrupted", "interrupted", None,
                f"interrupted: {obs.get('interrupt_reason') or 'reason not recorded'}")
    return ("unknown", "harness", None,
            f"not judged (no dod.json): `pytest-soak judge {folder}` judges it")


def _wall_s(obs: dict | None) -> float | None:
    """The pipeline's wall seconds, start to exit (else to the evidence written)."""
    pipeline, harness = (obs or {}).get("pipeline") or {}, (obs or {}).get("harness") or {}
    if pipeline.get("duration_s") is not None:
        return round(float(pipeline["duration_s"]), 1)
    start, end = pipeline.get("started_ms"), harness.get("ended_ms")
    return round((end - start) / 1000, 1) if start and end else None


def run_entry(folder: Path, root: Path) -> dict[str, Any]:
    obs, replay = _read(folder / OBSERVATIONS), _read(folder / REPLAY_FILE) or {}
    verdict, kind, dod, reason = _verdict(folder, obs)
    seed = (obs or {}).get("seed", replay.get("seed"))
    rel = folder.relative_to(root).as_posix() if folder != root else "."
    return {"seed": seed, "sink": (obs or {}).get("sink", replay.get("sink")),
            "run_id": (dod or obs or {}).get("run_id") or folder.name, "run_dir": rel,
            "verdict": verdict, "failure_kind": kind,
            "failed": failed_checks(dod) if dod else [], "wall_s": _wall_s(obs),
            "replay": replay.get("command"), "replay_cwd": replay.get("cwd"), "reason": reason}


def merge(root: Path | str, seeds: Iterable[int] | None = None) -> dict[str, Any]:
    """campaign.json's document for the run folders under `root`; `seeds` are the ones
    expected (a missing one makes the campaign interrupted)."""
    root = Path(root).resolve()
    runs = [run_entry(f, root) for f in find_runs(root)]
    runs.sort(key=lambda r: (r["seed"] is None, r["seed"] or 0, str(r["sink"]), r["run_id"]))
    seen = {r["seed"] for r in runs}
    missing = [s for s in (seeds or []) if s not in seen]
    verdicts = [r["verdict"] for r in runs] + ["interrupted"] * bool(missing or not runs)
    return {"schema_version": 1, "campaign": root.name, "dir": str(root),
            "verdict": worst(verdicts),
            "counts": {v: sum(r["verdict"] == v for r in runs) for v in VERDICTS},
            "seeds": sorted({r["seed"] for r in runs if r["seed"] is not None} | set(missing)),
            "missing_seeds": missing, "runs": runs}


def write_campaign(root: Path | str, doc: dict) -> Path:
    """Validate against schemas/campaign.schema.json, then write `<root>/campaign.json`."""
    return write_validated(Path(root) / CAMPAIGN_FILE, doc, "campaign")


def _cell(run: dict) -> str:
    labels = [check_label(c) for c in run["failed"]]
    if not labels:
        return run["reason"] if run["verdict"] != "pass" else "-"
    more = len(labels) - SHOWN_CHECKS
    return "; ".join(labels[:SHOWN_CHECKS]) + (f"; +{more} more" if more > 0 else "")


def table(doc: dict) -> list[str]:
    """The campaign as lines: a title, one row per run (seed, sink, verdict, wall time, failed
    sub-checks, replay command), one per missing seed."""
    counts = ", ".join(f"{n} {v}" for v, n in doc["counts"].items() if n)
    rows = [("seed", "sink", "verdict", "wall s", "failed sub-checks", "replay")]
    for run in doc["runs"]:
        wall = "-" if run["wall_s"] is None else f"{run['wall_s']:g}"
        rows.append((str(run["seed"]), str(run["sink"]), run["verdict"], wall, _cell(run),
                     run["replay"] or f"(no {REPLAY_FILE}) --soak-seed {run['seed']}"))
    rows += [(str(s), "-", "interrupted", "-", "no run folder: the seed never ran", "-")
             for s in doc["missing_seeds"]]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"soak campaign {doc['campaign']}: {doc['verdict'].upper()} "
             f"({len(doc['runs'])} run(s){': ' + counts if counts else ''})"]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[5]
              for r in rows]
    return lines


def summarize(root: Path | str, seeds: Iterable[int] | None = None) -> tuple[dict, list[str]]:
    """Merge, write campaign.json, and return it with its table (plus where it went)."""
    doc = merge(root, seeds)
    path = write_campaign(root, doc)
    return doc, [*table(doc), f"campaign.json: {path}"]


def _seed_list(text: str) -> list[int]:
    seeds = parse_campaign(text if "," in text else text + ",")
    return list(seeds or ())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytest-soak campaign-merge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, help="a folder of run folders (at any depth)")
    parser.add_argument("--seeds", default=None, metavar="S1,S2,...",
                        help="the seeds expected: one without a run folder counts as "
                             "interrupted")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        parser.error(f"DIR {args.dir}: no such folder")
    try:
        seeds = _seed_list(args.seeds) if args.seeds else None
    except ValueError as exc:
        parser.error(f"--seeds {args.seeds!r}: {exc}")
    if not seeds and not find_runs(args.dir):
        parser.error(f"DIR {args.dir}: no run folder in it (and no --seeds expected)")
    doc, lines = summarize(args.dir, seeds)
    print("\n".join(lines))
    return EXIT_CODES[doc["verdict"]]


if __name__ == "__main__":
    raise SystemExit(main())
