"""D3 alert windows, behavioural: the report stage's alert engine patched for real
(tests/mutations/patches/patch_d3_alerts.py) in one short soak of the honesty schedule
(choppy regime at 1-3 min, the only alert-inducing fault, then a SIGKILL of signal at 4).
The report itself evaluates, logs, persists and reports the broken alerts; only the
harness's windows and the declared rule timing can tell them from healthy ones. The control
is `intact` (behavioural_honesty.py): the same schedule with nothing patched."""

from __future__ import annotations

from .catalogue import Mutation
from .soaks import Group

GROUP = "report alerts flap and stray"
GROUPS = [Group(GROUP, patches=("d3_flap_low_consistency", "d3_stray_data_drop"))]

MUTATIONS = [
    Mutation("the report's low_consistency fires again the minute it resolved (flap)",
             "behavioural", (("D3", "no flapping"), ("D3", "low_consistency")),
             hole="D3 alert windows", group=GROUP),
    Mutation("the report fires data_drop with no fault to cause it", "behavioural",
             (("D3", "no stray alerts"),), hole="D3 alert windows", group=GROUP),
]
