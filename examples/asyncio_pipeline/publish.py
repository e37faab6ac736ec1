"""publish: bars in, appended to `<run_dir>/out/bars.jsonl` (one JSON object per line).

Each bar is written and flushed as it arrives, so a killed publish loses at most the line it
was writing; at the stop the file is fsynced and closed. A restarted publish appends to the
same file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os

from examples.asyncio_pipeline.stage import StageIO

log = logging.getLogger("asyncio_pipeline.publish")
BAR_KEYS = ("symbol", "minute_ms", "trades", "volume", "vwap")


async def run(io: StageIO, args: argparse.Namespace) -> None:
    out_dir = args.run_dir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "bars.jsonl", "a", encoding="utf-8") as out:
        io.ready = True
        async for msg in io.messages():
            if msg.get("t") != "bar" or any(k not in msg for k in BAR_KEYS):
                io.malformed.note("not a bar", msg)
                continue
            out.write(json.dumps({k: v for k, v in msg.items() if k != "t"}) + "\n")
            out.flush()
            io.count("bars_written")
        out.flush()
        os.fsync(out.fileno())
    log.info("%s closed", out_dir / "bars.jsonl")
