"""`pytest-soak` (or `python -m pytest_soak`): the plugin's own commands, with no checkout and
no bash needed.

  pytest-soak soak [--replay] [--alluredir DIR] [--no-report] [PYTEST_ARGS...]
      the DoD suite: LIVE by default (`-m live`), `--replay` for the time-compressed gate; other
      arguments go to pytest; then the Allure report. Exit code: pytest's.
  pytest-soak report [RESULTS_DIR] [--output DIR]
      the Allure HTML report (Allure Report 3 through npx: Node.js, no Java), one file that opens
      from disk.
  pytest-soak judge RUN_DIR [--plots]
      judge a recorded run folder without pytest (pytest_soak.checks.judgement).
  pytest-soak campaign-merge DIR [--seeds S1,S2,...]
      a folder of run folders (a campaign's, or the pods' of deploy/k8s/soak-campaign.yaml)
      merged into DIR/campaign.json and a table (pytest_soak.campaign). Exit code: 0 every run
      passed, 1 one failed, 2 unknown, 3 interrupted (a seed expected and not found, too).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS_DIR = Path("artifacts/allure-results")
REPORT_DIR = Path("artifacts/allure-report")
CHECKOUT_SUITE = Path("suites/soak")
PACKAGED_SUITE = "pytest_soak.suite"
REPORT_NAME = "pytest-soak: Definition of Done"
NODE_HINT = ("Node.js >= 20 with npm: nodejs.org, or `apt-get install nodejs npm` on "
             "Debian/Ubuntu")


def suite_target() -> list[str]:
    """What pytest runs as the DoD suite: this checkout's test files when run from one (so an
    edit to them counts), else the copy the plugin ships."""
    if CHECKOUT_SUITE.is_dir():
        return [CHECKOUT_SUITE.as_posix()]
    return ["--pyargs", PACKAGED_SUITE]


def pytest_argv(replay: bool, alluredir: Path, pytest_args: list[str]) -> list[str]:
    mode = [] if replay else ["-m", "live"]
    # --clean-alluredir (allure-pytest): the report shows this run only, never a stale result
    return [*suite_target(), *mode, f"--alluredir={alluredir}", "--clean-alluredir",
            *pytest_args]


def soak(replay: bool, alluredir: Path, build_report: bool, pytest_args: list[str]) -> int:
    import pytest  # only here: `report` and `--help` need no pytest start-up

    code = int(pytest.main(pytest_argv(replay, alluredir, pytest_args)))
    if build_report and report(alluredir, REPORT_DIR) != 0:
        print("soak: the Allure report could not be built (see above)", file=sys.stderr)
    return code


def allure_config(output: Path) -> str:
    """Allure Report 3's configuration (an ES module): one self-contained HTML file, so a
    browser opens it from disk with no web server. Written at run time, so an installed plugin
    needs no file from a checkout."""
    config = {
        "name": REPORT_NAME,
        "output": str(output.resolve()),
        "plugins": {"awesome": {"options": {
            "singleFile": True, "reportName": REPORT_NAME, "groupBy": ["epic", "feature"]}}},
    }
    return f"export default {json.dumps(config, indent=2)};\n"


def _clear_output(output: Path) -> str | None:
    """Remove the previous report; refuse (returning why) to delete a folder that is not one."""
    if output.is_dir() and any(output.iterdir()) and not (output / "index.html").is_file():
        return f"report: {output} exists and is not an Allure report: not overwriting it"
    shutil.rmtree(output, ignore_errors=True)
    return None


def report(results: Path, output: Path) -> int:
    npx = shutil.which("npx")       # npx.cmd on Windows: which() applies PATHEXT
    if npx is None:
        print(f"report: npx ({NODE_HINT}) is needed to build the report; install it and run "
              "`pytest-soak report` again", file=sys.stderr)
        return 1
    if not results.is_dir():
        print(f"report: no results in {results} (run pytest with --alluredir)", file=sys.stderr)
        return 1
    refused = _clear_output(output)
    if refused:
        print(refused, file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="pytest-soak-allure-") as tmp:
        config = Path(tmp, "allurerc.mjs")
        config.write_text(allure_config(output), encoding="utf-8")
        done = subprocess.run([npx, "-y", "allure@3", "generate", str(results.resolve()),
                               "--config", str(config)], stdout=subprocess.DEVNULL)
    if done.returncode != 0:
        print(f"report: allure generate failed (exit {done.returncode})", file=sys.stderr)
        return 1
    print(f"report: open {output / 'index.html'}")
    return 0


def judge(run_dir: str, plots: bool) -> int:
    from pytest_soak.checks import judgement

    return judgement.main([run_dir, *(["--plots"] if plots else [])])


def campaign_merge(directory: str, seeds: str | None) -> int:
    from pytest_soak import campaign

    return campaign.main([directory, *(["--seeds", seeds] if seeds else [])])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # allow_abbrev=False: a pytest option must never be taken for a prefix of one of ours
    run = commands.add_parser("soak", allow_abbrev=False,
                              help="run the DoD suite, then build its report",
                              description="Other arguments go to pytest (see pytest --help).")
    run.add_argument("--replay", action="store_true",
                     help="the time-compressed gate (default: the LIVE soak, -m live)")
    run.add_argument("--alluredir", type=Path, default=RESULTS_DIR,
                     help=f"Allure results folder, cleared first (default {RESULTS_DIR})")
    run.add_argument("--no-report", action="store_true", help="do not build the HTML report")
    rep = commands.add_parser("report", help="build the Allure HTML report")
    rep.add_argument("results", nargs="?", type=Path, default=RESULTS_DIR,
                     help=f"Allure results folder (default {RESULTS_DIR})")
    rep.add_argument("--output", type=Path, default=REPORT_DIR,
                     help=f"report folder, replaced (default {REPORT_DIR})")
    jud = commands.add_parser("judge", help="judge a recorded run folder, write its dod.json",
                              description="Exit 0 pass, 1 the pipeline failed, 2 unknown, "
                                          "3 interrupted, 4 only unclaimed items short.")
    jud.add_argument("run_dir")
    jud.add_argument("--plots", action="store_true", help="also draw <run>/plots/*.png")
    mer = commands.add_parser("campaign-merge", help="merge a folder of run folders into "
                              "campaign.json", description="Exit 0 every run passed, 1 one "
                              "failed, 2 unknown, 3 interrupted.")
    mer.add_argument("dir", help="a folder of run folders (at any depth)")
    mer.add_argument("--seeds", default=None, metavar="S1,S2,...",
                     help="the seeds expected: one without a run folder counts as interrupted")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "soak":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "soak":
        return soak(args.replay, args.alluredir, not args.no_report, rest)
    if args.command == "report":
        return report(args.results, args.output)
    if args.command == "campaign-merge":
        return campaign_merge(args.dir, args.seeds)
    return judge(args.run_dir, args.plots)
