"""`python -m scripts.test [PYTEST_ARGS...]`: the project's tests and the CI gate. Set-up, then
pytest with JUnit XML in artifacts/junit.xml; extra arguments go to pytest. A run that collects
no test fails (pytest's exit code 5)."""

from __future__ import annotations

import os
import sys

from scripts import CHECKOUT, run, setup

JUNIT = "artifacts/junit.xml"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    os.chdir(CHECKOUT)
    code = setup.main([])
    if code:
        return code
    (CHECKOUT / "artifacts").mkdir(exist_ok=True)
    code = run([sys.executable, "-m", "pytest", f"--junitxml={JUNIT}", *args])
    if code == 5:
        print("scripts/test: no tests were collected: failing", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
