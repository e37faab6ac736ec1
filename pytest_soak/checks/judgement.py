"""Judge one run folder: every D-item over its evidence, dod.json written beside it, plots drawn.

The DoD suite calls `judge_run` once per run (a session fixture) and each D-test then asserts
its own item with `assert_item`, so dod.json always holds all twelve items, whichever tests
were selected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_soak import allure_support
from pytest_soak.checks import TITLES, judge
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import RunEvidence
from pytest_soak.verdict import ItemResult, build_dod, write_dod

DESCRIPTIONS = {
    "D1": "The harness asked for a number of market minutes; it reads the feed's event clock "
          "at the start and at the stop, and the supervisor's exit code after SIGINT.",
    "D2": "The harness polls /health itself every 10 market seconds. Outside the fault windows "
          "(plus a settle margin) each stage must be healthy in at least 98 % of the polls.",
    "D3": "Each of the five alert rules is provoked by one fault of the schedule. It must fire "
          "inside that window, resolve after it, and appear in the manifest and daily reports. "
          "Nothing may fire outside an induced window; every ratio lies in [0, 1].",
    "D4": "One export per closed minute, no export error outside the store outage, and the "
          "store, read back by the harness, holds the same totals as the sinks.",
    "D5": "Parity is recomputed from the JSONL and SQLite sinks themselves; the figures must "
          "differ by less than 0.5 % and both sinks must hold the same row_ids.",
    "D6": "run_manifest.json validates against its schema and holds every section of SPEC D6.",
    "D7": "Queue drops, sub-stream timeouts and reconnects are counted outside the windows in "
          "which the harness induced them.",
    "D8": "Max RSS and open files measured by the harness (psutil) and reported by the "
          "manifest stay under the ceilings and agree; RSS shows no leak after warm-up.",
    "D9": "A stage SIGKILLed mid-run must come back under a new pid and be healthy within 12 s, "
          "its restarts recorded and following the declared backoff, with no event lost.",
    "D10": "On SIGINT the stages stop report -> broker -> signal -> harvest, as the manifest "
           "says and as the harness saw; no orphan, no residual queue, nothing committed lost.",
    "D11": "Every evidence file exists and validates: run and source manifests (secrets "
           "redacted), parity diff, and a daily report (JSON + Markdown) per sink.",
    "D12": "ready/ holds every broker event exactly once, valid against executor_contract/v1, "
           "with no partial or leftover file.",
}


@dataclass
class Judgement:
    run: RunEvidence
    results: dict[str, ItemResult]
    dod: dict
    dod_path: Path | None
    problems: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # shown in pytest tracebacks: keep it one short line
        return f"Judgement(run_id={self.run.run_id!r}, verdict={self.dod['verdict']!r})"

    @property
    def failing(self) -> list[ItemResult]:
        return [r for r in self.results.values() if not r.ok]


def judge_run(run_dir: Path | str, settings: Any = None, interrupted: bool | None = None,
              draw: bool = True) -> Judgement:
    run = RunEvidence.load(run_dir, fresh=True)
    results = judge(run, Thresholds.from_settings(settings))
    obs = run.observations or {}
    cut = bool(obs.get("interrupted")) if interrupted is None else interrupted
    dod = build_dod(run.run_id, results, interrupted=cut,
                    harness_errors=list(obs.get("errors") or []), mode=obs.get("mode"),
                    sink=obs.get("sink"))
    problems: list[str] = []
    dod_path = None
    try:
        dod_path = write_dod(run.run_dir, dod)
    except Exception as exc:  # noqa: BLE001 -- reported, and the gate fails on it
        problems.append(f"could not write dod.json: {exc}")
    if draw:
        problems += _draw(run)
    return Judgement(run, results, dod, dod_path, problems)


def _draw(run: RunEvidence) -> list[str]:
    try:
        from pytest_soak import plots
        plots.draw_all(run)
    except Exception as exc:  # noqa: BLE001 -- plots are for people; a failure is noted only
        return [f"plots not drawn: {type(exc).__name__}: {exc}"]
    return []


class UnknownVerdict(Exception):
    """The harness could not decide an item (no data). It fails the test like a `fail` does,
    but Allure shows it as "broken", not "failed": the harness or set-up needs a look."""


def assert_item(judgement: Judgement, item: str) -> None:
    """Label, document and attach evidence for one D-test, then pass or fail it."""
    __tracebackhide__ = True
    result = judgement.results[item]
    allure_support.label_test(item, TITLES[item], DESCRIPTIONS[item])
    allure_support.history_steps(judgement.run)
    allure_support.attach_evidence(judgement.run, result)
    message = (f"{result.line()}\n  value: {result.value}\n  threshold: {result.threshold}"
               f"\n  run: {judgement.run.run_dir}")
    if result.status == "unknown":
        raise UnknownVerdict(message)
    if result.status == "fail":
        pytest.fail(message, pytrace=False)


EXIT_CODES = {None: 0, "pipeline": 1, "harness": 2, "interrupted": 3}


def main(argv: list[str] | None = None) -> int:
    """`python -m pytest_soak.checks.judgement RUN_DIR [--plots]`: judge a run folder without
    pytest, write its dod.json, print one line per item. Exit 0 pass, 1 the pipeline failed,
    2 the harness could not decide (unknown), 3 interrupted."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pytest_soak.checks.judgement",
                                     description=main.__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("--plots", action="store_true", help="also draw <run>/plots/*.png")
    args = parser.parse_args(argv)
    judgement = judge_run(args.run_dir, draw=args.plots)
    for result in judgement.results.values():
        print(result.line())
    for problem in judgement.problems:
        print(f"harness: {problem}")
    print(f"verdict: {judgement.dod['verdict']} ({judgement.dod['failure_kind'] or 'ok'}); "
          f"dod.json: {judgement.dod_path}")
    return EXIT_CODES[judgement.dod["failure_kind"]]


if __name__ == "__main__":
    raise SystemExit(main())
