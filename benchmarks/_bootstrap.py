"""Imported first by every benchmark: `import _bootstrap`.

`python benchmarks/NAME.py` puts benchmarks/ at sys.path[0], where `signal.py` (the name the
signal benchmark must have) shadows the standard library's `signal` for every later import,
subprocess and asyncio included. This swaps that entry for the repository root.
"""

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != BENCHMARKS]

