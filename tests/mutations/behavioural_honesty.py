"""The first broken pipelines (formerly tests/soak/test_honesty.py): the real supervisor
misconfigured (a stage that never restarts, a shutdown in the wrong order), and evidence
damaged after the supervisor exits (tests/soak/broken/wrap.py). The short honesty schedule
(8 market minutes at 30x: one choppy regime, one SIGKILL of signal) gives each something to
get wrong. `intact` is every group's control: the same wrapper with nothing damaged."""

from __future__ import annotations

from .catalogue import Mutation
from .soaks import Group

GROUPS = [
    Group("intact", damage=("intact",)),
    Group("never restarts", supervisor={"restart": {"max_restarts": 0}}),
    Group("wrong shutdown order",
          supervisor={"shutdown_order": ["harvest", "signal", "broker", "report"]}),
    Group("damaged evidence", damage=("under_report_rss", "lose_rows", "unresolved_alert")),
    Group("more damaged evidence", damage=(
        "exit_nonzero", "under_report_exports", "hide_restart_count", "drop_in_calm_water",
        "no_markdown_report", "duplicate_outbox_event")),
]


def _b(name: str, group: str, *fails: tuple[str, str], disguise: str = "wrong",
       hole: str | None = None) -> Mutation:
    return Mutation(name, "behavioural", fails, disguise=disguise, hole=hole, group=group)


MUTATIONS = [
    _b("a killed stage is never restarted", "never restarts", ("D9", "restart"),
       ("D2", "stage health")),
    _b("the supervisor stops harvest first", "wrong shutdown order",
       ("D10", "manifest order"), ("D10", "observed order")),
    _b("the manifest under-reports RSS tenfold", "damaged evidence", ("D8", "RSS agreement")),
    _b("the SQLite sink loses committed rows", "damaged evidence", ("D5", "row_id sets")),
    _b("alerts never resolve", "damaged evidence", ("D3", "low_consistency")),
    _b("a non-zero exit after the graceful stop", "more damaged evidence",
       ("D1", "graceful exit")),
    _b("one export claimed for the whole run", "more damaged evidence", ("D4", "export_count")),
    _b("the manifest hides harvest's restart_count", "more damaged evidence",
       ("D6", "schema valid"), ("D6", "sections present")),
    _b("drops in calm water", "more damaged evidence", ("D7", "queue_dropped")),
    _b("a daily report without its Markdown", "more damaged evidence", ("D11", "daily report")),
    _b("an execution event published twice", "more damaged evidence", ("D12", "ready/ clean")),
]
