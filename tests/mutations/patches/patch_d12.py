"""D12 breakages, in the broker's own process (tests/mutations/behavioural_d12.py):

- `outbox writes ready in place`: the outbox publishes a file by writing it straight into
  ready/ in two chunks with a pause between, instead of one rename from spool/: a reader of
  ready/ sees a torn file that then grows. What the outbox leaves at the end is whole and
  every count is right; only the harness's watch of ready/ sees it.
- `broker skips every 50th eligible signal`: the broker marks one eligible signal in 50 done
  without writing any decision for it; its counts say honestly what it wrote.
"""

from __future__ import annotations

import os
import time
from types import ModuleType

PAUSE_S = 0.4     # four of the watch's 100 ms polls see the torn half
SKIP_EVERY = 50


def _write_in_place(module: ModuleType) -> None:
    def publish(self, name: str) -> bool:
        src = self.spool / (name + module.PART_SUFFIX)
        data = src.read_bytes()
        half = max(1, len(data) // 2)
        while half > 1 and data[half - 1:half] == b"\n":
            half -= 1                            # mid-line: the first write ends torn
        with open(self.ready / (name + module.READY_SUFFIX), "wb") as out:
            out.write(data[:half])
            out.flush()
            os.fsync(out.fileno())
            time.sleep(PAUSE_S)
            out.write(data[half:])
        src.unlink()
        return True

    module.Outbox._publish = publish


def _skip_every_nth(module: ModuleType) -> None:
    handle = module.Broker.handle
    seen = {"eligible": 0}

    def skipping(self, signal):  # noqa: ANN001, ANN202 -- the patched method's own signature
        if isinstance(signal, dict) and self.precheck.eligible(signal):
            coid = module.client_order_id(signal)
            if coid not in self.done:
                seen["eligible"] += 1
                if seen["eligible"] % SKIP_EVERY == 0:
                    self.done.add(coid)          # "decided", but nothing is written
                    return []
        return handle(self, signal)

    module.Broker.handle = skipping


PATCHES = {
    "outbox writes ready in place": ("orchestrator.outbox", _write_in_place),
    "broker skips every 50th eligible signal": ("orchestrator.broker.core", _skip_every_nth),
}
