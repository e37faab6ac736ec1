"""harvest patched to lose aggTrades and to reconnect behind its counter, run for real on the
short honesty schedule (tests/mutations/patches/patch_feed.py): only the replay feed's own
account of its deliveries and connections shows either. Control: `intact`."""

from __future__ import annotations

from .catalogue import Mutation
from .soaks import Group

GROUP = "harvest behind the feed's back"
GROUPS = [Group(GROUP, patches=("harvest_drops_every_50th_aggtrade",
                                "harvest_reconnects_uncounted"))]

MUTATIONS = [
    Mutation("harvest silently drops every 50th aggTrade", "behavioural",
             (("D9", "no event lost"),), disguise="declared", hole="no event lost", group=GROUP),
    Mutation("harvest reconnects without counting it", "behavioural",
             (("D7", "reconnects seen by the feed"),), disguise="declared",
             hole="D7 feed counts", group=GROUP),
]
