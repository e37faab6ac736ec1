"""The repository's own dev tasks as Python, runnable in any shell from the checkout's root:
`python -m scripts.setup`, `python -m scripts.test`, `python -m scripts.soak` (on Windows
`py -m scripts.test`). The bash scripts beside them are thin wrappers around these."""

from __future__ import annotations

import subprocess
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def run(argv: list[str]) -> int:
    """Run a child to its end and return its exit code. Ctrl-C reaches the child as well (same
    terminal): keep waiting while it stops gracefully (a soak still writes its verdict) instead
    of returning early and losing its exit code."""
    proc = subprocess.Popen(argv)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue
