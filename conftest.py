"""Top-level conftest: the soak plugin is loaded through its pytest11 entry point.

The reference pipeline (orchestrator/) is checkout-only, not installed: the tests' child
processes that import it (a stage, a crash writer started as a script) find it through
PYTHONPATH, as `python -m orchestrator.run` from the checkout's root does through its cwd.
"""

import os
from pathlib import Path

CHECKOUT = str(Path(__file__).resolve().parent)
if CHECKOUT not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [CHECKOUT] + [p for p in [os.environ.get("PYTHONPATH")] if p])

# pytester drives the DoD suite in the judge-only tests (tests/soak/test_judge_only.py)
pytest_plugins = ["pytester"]
