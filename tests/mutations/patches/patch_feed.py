"""harvest broken in its own process, against the replay feed's own account (D7, D9 "no event
lost"): the harness must see it from the feed's deliveries, whatever harvest reports.

- `harvest_drops_every_50th_aggtrade`: one aggTrade in 50 is dropped before the queue and
  the handoff, with no counter moved (its accepted ids and events_in stay consistent with the
  handoff: only the feed's delivered ids show the loss);
- `harvest_reconnects_uncounted`: harvest closes its market connection once, mid-run (after
  its 5 000th frame), reopens it, and never counts a reconnect (reconnect_count stays 0, the
  value a schedule without connection faults declares).
"""

from __future__ import annotations

import asyncio
from types import ModuleType

EVERY = 50
CLOSE_AFTER_FRAMES = 5_000


def _drop_every_nth(module: ModuleType) -> None:
    original = module.Harvester._on_agg_trade
    seen = [0]

    def on_agg_trade(self, event, now_ms: int) -> None:  # noqa: ANN001 -- patched method
        seen[0] += 1
        if seen[0] % EVERY == 0:
            self.last_agg_id[event.symbol] = event.agg_id       # as if accepted: no gap seen
            return
        original(self, event, now_ms)

    module.Harvester._on_agg_trade = on_agg_trade


def _reconnect_uncounted(module: ModuleType) -> None:
    count, handle = module.Harvester._count, module.Harvester._handle_frame
    frames = [0]

    def quiet_count(self, name: str, now_ms: int, n: int = 1) -> None:
        if name != "reconnect_count":
            count(self, name, now_ms, n)

    def handle_frame(self, conn, raw) -> None:  # noqa: ANN001 -- patched method
        handle(self, conn, raw)
        frames[0] += 1
        if frames[0] == CLOSE_AFTER_FRAMES and conn.ws is not None:
            asyncio.ensure_future(conn.ws.close(1000, "patched: reconnect behind the counter"))

    module.Harvester._count = quiet_count
    module.Harvester._handle_frame = handle_frame


HARVESTER = "orchestrator.harvest.harvester"
PATCHES = {
    "harvest_drops_every_50th_aggtrade": (HARVESTER, _drop_every_nth),
    "harvest_reconnects_uncounted": (HARVESTER, _reconnect_uncounted),
}
