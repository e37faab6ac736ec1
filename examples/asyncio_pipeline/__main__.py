"""`python -m examples.asyncio_pipeline --run-dir DIR --feed-ws-url URL [options]` (the
supervisor; `--help` lists the options). Exit codes: 0 clean stop, 1 a stage did not end
cleanly (killed at the stop, or dead and not restarted), 2 a bad option (named)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from examples.asyncio_pipeline import cli
from examples.asyncio_pipeline.supervisor import Supervisor, UsageError


def main(argv: list[str] | None = None) -> int:
    cfg = cli.parse(argv)
    try:
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"asyncio_pipeline: --run-dir {cfg.run_dir}: cannot create it ({exc.strerror})",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s supervisor[{os.getpid()}] %(levelname)s "
                               f"%(message)s")
    try:
        return asyncio.run(Supervisor(cfg).run())
    except UsageError as exc:
        print(f"asyncio_pipeline: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
