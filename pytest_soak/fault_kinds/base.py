"""What a fault kind is: one object that says how a fault is applied, how the harness proves
it took effect, and what it expects and tolerates.

A kind (one module of this package, e.g. `kill_stage.py`, defining `KIND = KillStage()`):

- `name`, `windowed` (needs `until_*`), `target` ("required" | "optional" | None);
- `params`: name -> `Param` (type, default, choices); an unknown or wrongly typed parameter
  is a SoakUsageError naming `faults[i].params.<name>`;
- `clock`: "market" (the fault acts at market timestamps inside the feed; its window is event
  time) or "wall" (it acts on processes or services; its effect plays out in wall time);
- `applied_by`: "feed" (a control call of the replay feed, which needs a handler module of the
  same control name in pytest_soak/replay_feed/faults/) or "harness" (psutil, the store sidecar);
- `start` / `confirm` / `end`: apply it, prove its effect from what the *harness* sees (a new
  pid, the feed's own control state, a refused probe write; never the pipeline's counters),
  undo it;
- `expects`: what must happen because of it (alert rules that must fire, counters that must
  move inside its window, DoD items it proves), and `tolerates`: what it may cause (alert rules
  that may fire, counters that may move, stages whose unhealthy polls are excused) during its
  window and `for_s` market seconds after (None: the run's --soak-settle-s). Both are defaults;
  a schedule may replace or extend them (pytest_soak/faults.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_soak.faults import PlannedFault

CATEGORIES_EXPECTS = ("alerts", "counters", "items")
CATEGORIES_TOLERATES = ("alerts", "counters", "health")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: its type(s) and default (None: optional, no default)."""

    types: tuple[type, ...]
    default: Any = None
    required: bool = False
    choices: tuple | None = None
    help: str = ""


@dataclass(frozen=True)
class Expects:
    alerts: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()
    items: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {"alerts": list(self.alerts), "counters": list(self.counters),
                "items": list(self.items)}


@dataclass(frozen=True)
class Tolerates:
    alerts: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()
    health: tuple[str, ...] = ()
    for_s: float | None = None        # market s after the window; None: the run's settle_s

    def as_dict(self) -> dict[str, Any]:
        return {"alerts": list(self.alerts), "counters": list(self.counters),
                "health": list(self.health), "for_s": self.for_s}


@dataclass
class FaultContext:
    """What fault actions may touch; any part may be None (then faults needing it fail)."""

    feed: Any              # sidecars.FeedSidecar
    store: Any             # sidecars.StoreSidecar
    observer: Any          # observer.Observer
    read_status: Any       # callable(stage) -> status dict | None (the pipeline's claims)
    market_s: Any          # callable() -> market seconds since run start
    event_ms: Any          # callable() -> feed event time (ms) or None
    speed: float = 1.0     # the run's pacing (market seconds per wall second)
    start_event_ms: int | None = None   # the feed's event time at market second 0
    level: int = 2         # the pipeline's contract level (0: no health URL to ask)


@dataclass(frozen=True)
class FaultKind:
    name: str
    windowed: bool
    clock: str                                 # market | wall
    applied_by: str                            # feed | harness
    what: str                                  # what the harness does (docs table)
    proof: str                                 # its proof of effect (docs table)
    target: str | None = None                  # required | optional | None
    target_is: str = ""                        # what the target names (docs table)
    params: dict[str, Param] = field(default_factory=dict)
    expects: Expects = Expects()
    tolerates: Tolerates = Tolerates()
    heals_all: bool = False                    # the heal step: ends every active fault
    expects_doc: str = ""                      # the docs table's words for defaults that
    tolerates_doc: str = ""                    # depend on the target or the params

    # -- defaults that depend on the planned fault (overridden by kinds that need it) ------
    def default_expects(self, target: str | None, params: dict[str, Any]) -> Expects:
        return self.expects

    def default_tolerates(self, target: str | None, params: dict[str, Any]) -> Tolerates:
        return self.tolerates

    # -- the action ------------------------------------------------------------------------
    def start(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        return {}

    def confirm(self, f: PlannedFault, ctx: FaultContext, state: dict) -> dict | None:
        return {}

    def end(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        return {}

    def end_with(self, f: PlannedFault, ctx: FaultContext, state: dict) -> dict[str, Any]:
        """The end, for a kind that needs what its start did (`state`); default: end()."""
        return self.end(f, ctx)

    # -- what the runner records besides the fault itself ------------------------------------
    def on_confirmed(self, f: PlannedFault, state: dict, proof: dict, history: Any,
                     market_s: float) -> None:
        """Called once the effect is seen."""

    def on_never_confirmed(self, f: PlannedFault, state: dict, history: Any,
                           market_s: float) -> None:
        """Called at the run's end for a fault that started but whose effect was never seen."""


@dataclass(frozen=True)
class FeedFault(FaultKind):
    """A fault the replay feed performs (`control`, a handler of replay_feed/faults/), in event
    time: the runner hands every such fault to the feed up front (`plan_entry`, the feed's
    `POST /control/plan`) with its market start and end as the feed's session ms, and the
    feed applies it at exactly the first event at/after its start and ends it at the first
    event at/after its end. The harness's start and end only mark the planned moments; the
    proof (`applied_proof`) is the feed's own record of the application, by event."""

    control: str = ""

    def control_params(self, f: PlannedFault) -> dict[str, Any]:
        return dict(f.params)

    def plan_entry(self, f: PlannedFault, ctx: FaultContext, session0_ms: float) -> dict:
        """The fault as the feed's plan holds it (times: session ms, the feed's event time)."""
        return {"id": f.id, "control": self.control, "params": self.control_params(f),
                "start_ms": round(session0_ms + f.start_s * 1000),
                "end_ms": None if f.instant else round(session0_ms + f.end_s * 1000)}

    def start(self, f: PlannedFault, ctx: FaultContext) -> dict[str, Any]:
        if ctx.feed is None:
            raise RuntimeError("no replay feed in this run (--soak-feed exchange)")
        return {"control": self.control, "in_event_time": True}

    def confirm(self, f: PlannedFault, ctx: FaultContext, state: dict) -> dict | None:
        entry = next((e for e in ctx.feed.state().get("plan") or [] if e["id"] == f.id), None)
        start = (entry or {}).get("start")
        if start is None:
            return None
        if start.get("action") == "failed":
            raise RuntimeError(f"the feed could not apply it: {start.get('error')}")
        proof = self.applied_proof(f, start, entry.get("in_window") or {})
        return None if proof is None else {**proof, "applied": applied_of(entry)}

    def applied_proof(self, f: PlannedFault, start: dict, in_window: dict) -> dict | None:
        """The proof of effect from the feed's record of the start (its handler's answer) and
        the events delivered/skipped in the window so far; None: not (yet) proven."""
        return {}


def applied_of(entry: dict) -> dict[str, Any]:
    """Where the feed applied a planned fault: the exact events of its start and end."""
    def at(record: dict | None) -> dict[str, Any] | None:
        event = (record or {}).get("event")
        if record is None:
            return None
        return {"wall_ms": record.get("wall_ms"),
                "event_ms": None if event is None else event["event_ms"],
                "session_ms": None if event is None else event["session_ms"],
                "stream": None if event is None else event["stream"],
                "id": None if event is None else event["id"]}

    return {"planned_start_session_ms": entry["start_ms"],
            "planned_end_session_ms": entry["end_ms"], "phase": entry["phase"],
            "start": at(entry.get("start")), "end": at(entry.get("end")),
            "in_window": entry.get("in_window")}


def with_health(tolerates: Tolerates, *stages: str | None) -> Tolerates:
    """`tolerates` with these stages' health added (None entries skipped)."""
    extra = tuple(s for s in stages if s and s not in tolerates.health)
    return replace(tolerates, health=tolerates.health + extra)


def stage_fault_tolerates(tolerates: Tolerates, target: str | None) -> Tolerates:
    """What a fault on one stage's process tolerates: that stage's health, and
    reconnect_count only when the stage is harvest (only harvest holds the feed's
    connections, so a reconnect after a fault on any other stage is a stray)."""
    counters = ("reconnect_count",) if target == "harvest" else ()
    return with_health(replace(tolerates, counters=counters), target)


def live_stage_pid(f: Any, ctx: FaultContext) -> int:
    """The pid of the fault's target stage as the harness sees it now; RuntimeError if none."""
    pid = ctx.observer.tree.stage_pids().get(f.target)
    if pid is None:
        raise RuntimeError(f"no live process for stage {f.target!r}")
    return pid
