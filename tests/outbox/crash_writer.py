"""Writer process for the crash-consistency test: appends numbered events until killed.

usage: crash_writer.py OUTBOX_DIR PROGRESS_FILE FSYNC_EVERY MAX_FILE_BYTES
After each fsync it appends the number of durable events to PROGRESS_FILE (unbuffered), so the
test knows which events must survive a SIGKILL.
"""

import os
import sys
import time

from contract_events import BASE_TS_MS, make_event, make_outbox


def main() -> None:
    root, progress, fsync_every, max_bytes = sys.argv[1:5]
    fd = os.open(progress, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    outbox = make_outbox(root, fsync_every=int(fsync_every), max_file_bytes=int(max_bytes),
                    on_durable=lambda n: os.write(fd, f"{n}\n".encode()))
    os.write(fd, b"0\n")  # started
    seq = 0
    while True:
        outbox.append(make_event(seq, BASE_TS_MS + seq * 20))  # a new minute every 3000 events
        seq += 1
        if seq % 5 == 0:
            time.sleep(0.001)  # a few thousand events per trial keeps validation quick


if __name__ == "__main__":
    main()
