"""`python -m scripts.soak [--replay] [PYTEST_ARGS...]`: the main job from a checkout. Set-up,
then the plugin's `soak` command (pytest_soak/cli.py): the DoD suite, LIVE by default or
`--replay` time-compressed, then its Allure report. Exit code: pytest's."""

from __future__ import annotations

import os
import sys

from scripts import CHECKOUT, run, setup


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    os.chdir(CHECKOUT)
    code = setup.main([])
    # a child process: set-up may just have installed the package this one could not import
    return code or run([sys.executable, "-m", "pytest_soak", "soak", *args])


if __name__ == "__main__":
    raise SystemExit(main())
