"""Child process for the crash test: writes numbered batches into a dual sink, forever.

usage: python sink_writer.py SINKS_DIR PROGRESS_FILE BATCH_ROWS FIRST_BATCH LAST_BATCH
After each batch is committed (write_batch returned) its number is appended to PROGRESS_FILE.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from signal_rows import make_rows  # noqa: E402

from orchestrator.sinks import open_sink  # noqa: E402


def main() -> None:
    sinks_dir, progress, batch_rows, first, last = sys.argv[1:6]
    batch_rows, first, last = int(batch_rows), int(first), int(last)
    sink = open_sink("dual", sinks_dir)
    with open(progress, "a", encoding="utf-8") as out:
        for batch in range(first, last + 1):
            sink.write_batch(make_rows(batch_rows, start=batch * batch_rows))
            out.write(f"{batch}\n")
            out.flush()
            os.fsync(out.fileno())
    sink.close()


if __name__ == "__main__":
    main()
