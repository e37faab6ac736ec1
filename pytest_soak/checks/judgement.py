"""Judge one run folder: every D-item over its evidence, dod.json written beside it, plots drawn.

The DoD suite calls `judge_run` once per run (a session fixture) and each D-test then asserts
its own item with `assert_item`, so dod.json always holds every registered item, whichever
tests were selected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_soak import allure_support, latency
from pytest_soak.checks import ITEMS, judge
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.evidence_loader import RunEvidence
from pytest_soak.verdict import ItemResult, build_dod, write_dod


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
        """Claimed items short of a pass."""
        return [r for r in self.results.values() if not r.ok and r.status != "not_claimed"]

    @property
    def unclaimed(self) -> list[str]:
        return [r.item for r in self.results.values() if r.status == "not_claimed"]


def judge_run(run_dir: Path | str, settings: Any = None, interrupted: bool | None = None,
              draw: bool = True) -> Judgement:
    run = RunEvidence.load(run_dir, fresh=True)
    results = judge(run, Thresholds.from_settings(settings))
    obs = run.observations or {}
    cut = bool(obs.get("interrupted")) if interrupted is None else interrupted
    dod = build_dod(run.run_id, results, interrupted=cut,
                    harness_errors=list(obs.get("errors") or []), mode=obs.get("mode"),
                    sink=obs.get("sink"), contract=run.contract.to_json())
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
    spec = ITEMS[item]
    allure_support.label_test(item, spec.title, spec.description)
    allure_support.history_steps(judgement.run)
    allure_support.attach_evidence(judgement.run, result)
    message = (f"{result.line()}\n  value: {result.value}\n  threshold: {result.threshold}"
               f"\n  run: {judgement.run.run_dir}")
    if result.status == "unknown":
        raise UnknownVerdict(message)
    if result.status == "not_claimed":
        # never a pass and no failure: the pipeline's contract leaves the item out
        pytest.skip(f"not_claimed: {result.reason}")
    if result.status != "pass":
        pytest.fail(message, pytrace=False)


def write_verdict(terminalreporter, judgement: Judgement) -> None:  # noqa: ANN001
    """The end of the pytest output: the run's verdict, one line per item short of a pass
    (a not_claimed item included: never a pass, shown, though it fails no gate)."""
    dod = judgement.dod
    kind = f" ({dod['failure_kind']} problem)" if dod["failure_kind"] else ""
    terminalreporter.section(f"DoD verdict of {dod['run_id']}: {dod['verdict'].upper()}"
                             f"{kind}", sep="=", bold=True)
    for result in judgement.failing:
        terminalreporter.write_line(result.line())
    if judgement.unclaimed:
        level = (judgement.dod.get("contract") or {}).get("level")
        terminalreporter.write_line(f"not_claimed (contract level {level}): "
                                    f"{', '.join(judgement.unclaimed)}")
    for problem in judgement.problems:
        terminalreporter.write_line(f"harness: {problem}")
    figures = latency.summary_line(judgement.run.file(latency.LATENCY_FILE).doc)
    if figures:                                   # a figure beside the verdict, not a gate
        terminalreporter.write_line(figures)
    terminalreporter.write_line(f"dod.json: {judgement.dod_path}")


EXIT_CODES = {None: 0, "pipeline": 1, "harness": 2, "interrupted": 3}


def main(argv: list[str] | None = None) -> int:
    """`python -m pytest_soak.checks.judgement RUN_DIR [--plots]`: judge a run folder without
    pytest, write its dod.json, print one line per item. Exit 0 every claimed item passed, 1
    the pipeline failed, 2 the harness could not decide (unknown), 3 interrupted."""
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
