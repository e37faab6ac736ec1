"""D12 broken for real (patches/patch_d12.py), both breakages in one short soak: the outbox
writes its files into ready/ in place (torn, then growing: only the harness's watch of
ready/ can see it, every file is whole by the end) and the broker leaves one eligible signal
in 50 without a decision (its counts honest). Control: the honesty groups' `intact`."""

from __future__ import annotations

from .catalogue import Mutation
from .soaks import Group

GROUP = "D12 broken outbox"
GROUPS = [Group(GROUP, patches=("outbox writes ready in place",
                                "broker skips every 50th eligible signal"))]

MUTATIONS = [
    Mutation("the outbox writes ready/ files in place, in two writes", "behavioural",
             (("D12", "ready/ never torn"),), disguise="declared", hole="D12 ready/",
             group=GROUP),
    Mutation("the broker leaves every 50th eligible signal undecided", "behavioural",
             (("D12", "terminal decisions"),), disguise="wrong", hole="D12 decisions",
             group=GROUP),
]
