"""The fault schedule: a YAML timeline in market time, loaded, validated and seeded.

A schedule file looks like::

    name: default
    seed: 7                      # optional; --soak-seed overrides it
    faults:
      - id: kill-signal
        kind: kill_stage         # see KINDS
        target: signal
        at_min: 19               # market minutes from the run start (or at_s)
        expects: [D9]
      - id: feed-pause
        kind: pause_feed
        at_min: 23
        until_min: 26.5          # a window; instant faults have none
        jitter_s: 20             # optional: start shifted by a seeded uniform [0, jitter_s)
        expects: ["alert:total_zero"]

Times are market seconds from the run start (SPEC: every per-minute figure is keyed on event
time). A fault planned past the run's end is an error, not silently dropped: a schedule that
does not fit the run would leave DoD items unproven.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_soak.settings import SoakUsageError

# kind -> (needs a window, needs a target)
KINDS: dict[str, tuple[bool, bool]] = {
    "kill_stage": (False, True),         # SIGKILL one stage's process (D9)
    "drop_connections": (False, False),  # feed closes every WebSocket (reconnect)
    "regime": (True, False),             # feed switches market regime (params.regime)
    "pause_feed": (True, False),         # feed sends nothing (alert: total == 0)
    "store_down": (True, False),         # the time-series store refuses writes (alert: export)
    "burst": (True, False),              # feed's clock runs params.factor x faster (alert: drop)
    "stall_substream": (True, True),     # one stream goes silent (target: stream name)
    "heal": (False, False),              # undo everything still active
}
KNOWN_KEYS = {"id", "kind", "target", "at_s", "at_min", "until_s", "until_min", "params",
              "expects", "jitter_s", "description"}


@dataclass(frozen=True)
class PlannedFault:
    id: str
    kind: str
    start_s: float                     # market seconds
    end_s: float                       # == start_s for an instant fault
    target: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    expects: tuple[str, ...] = ()
    description: str = ""

    @property
    def instant(self) -> bool:
        return self.end_s == self.start_s


@dataclass(frozen=True)
class Schedule:
    name: str
    seed: int
    faults: tuple[PlannedFault, ...]
    source: str | None = None

    @property
    def last_end_s(self) -> float:
        return max((f.end_s for f in self.faults), default=0.0)

    def windows(self) -> list[tuple[str, float, float]]:
        return [(f.id, f.start_s, f.end_s) for f in self.faults]


def _err(source: str, where: str, text: str) -> SoakUsageError:
    return SoakUsageError(f"fault schedule {source}: {where}: {text}")


def _time(entry: dict, base: str, source: str, where: str) -> float | None:
    secs, mins = entry.get(f"{base}_s"), entry.get(f"{base}_min")
    if secs is not None and mins is not None:
        raise _err(source, where, f"give either {base}_s or {base}_min, not both")
    value = secs if secs is not None else (None if mins is None else mins * 60)
    if value is not None and (not isinstance(value, (int, float)) or value < 0):
        raise _err(source, where, f"{base}_s/{base}_min must be a number >= 0, got {value!r}")
    return None if value is None else float(value)


def _parse_fault(entry: Any, index: int, rng: random.Random, source: str) -> PlannedFault:
    where = f"faults[{index}]"
    if not isinstance(entry, dict):
        raise _err(source, where, "each fault must be a mapping")
    unknown = set(entry) - KNOWN_KEYS
    if unknown:
        raise _err(source, where, f"unknown key(s) {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise _err(source, f"{where}.kind", f"{kind!r} is not one of {sorted(KINDS)}")
    windowed, targeted = KINDS[kind]
    start = _time(entry, "at", source, where)
    if start is None:
        raise _err(source, where, "needs at_s or at_min")
    end = _time(entry, "until", source, where)
    if windowed and (end is None or end <= start):
        raise _err(source, where, f"kind {kind} needs until_s/until_min after its start")
    if not windowed and end is not None:
        raise _err(source, where, f"kind {kind} is instant; remove until_s/until_min")
    if targeted and not entry.get("target"):
        raise _err(source, f"{where}.target", f"kind {kind} needs a target")
    jitter = float(entry.get("jitter_s") or 0)
    shift = rng.uniform(0, jitter) if jitter > 0 else 0.0   # drawn in file order: reproducible
    length = (end - start) if end is not None else 0.0
    start += shift
    return PlannedFault(
        id=str(entry.get("id") or f"{kind}-{index}"), kind=kind, start_s=start,
        end_s=start + length, target=entry.get("target"), params=dict(entry.get("params") or {}),
        expects=tuple(str(e) for e in entry.get("expects") or ()),
        description=str(entry.get("description") or ""),
    )


def parse_schedule(doc: Any, *, seed: int | None = None, source: str = "<schedule>") -> Schedule:
    """Validate a loaded schedule document; `seed` (from --soak-seed) overrides the file's."""
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise _err(source, "top level", "must be a mapping with a 'faults' list")
    unknown = set(doc) - {"name", "seed", "faults", "description"}
    if unknown:
        raise _err(source, "top level", f"unknown key(s) {sorted(unknown)}")
    entries = doc.get("faults") or []
    if not isinstance(entries, list):
        raise _err(source, "faults", "must be a list")
    chosen = seed if seed is not None else doc.get("seed")
    if chosen is None:
        chosen = random.SystemRandom().randrange(1, 2**31)
    rng = random.Random(int(chosen))
    faults = [_parse_fault(e, i, rng, source) for i, e in enumerate(entries)]
    ids = [f.id for f in faults]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise _err(source, "faults", f"duplicate id(s) {dupes}")
    faults.sort(key=lambda f: f.start_s)
    return Schedule(name=str(doc.get("name") or Path(source).stem), seed=int(chosen),
                    faults=tuple(faults), source=source)


def load_schedule(path: Path | None, *, seed: int | None = None) -> Schedule:
    """Read a schedule YAML; None means 'no faults' (a plain soak)."""
    if path is None:
        return parse_schedule({"name": "none"}, seed=seed if seed is not None else 0)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SoakUsageError(f"fault schedule {path}: cannot read it ({exc.strerror}); "
                             "check --soak-schedule") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SoakUsageError(f"fault schedule {path}: not valid YAML: {exc}") from None
    return parse_schedule(doc, seed=seed, source=str(path))


def check_fits(schedule: Schedule, minutes: float, settle_s: float = 0.0) -> None:
    """Every fault must end (plus a settle margin) before the run's end."""
    limit = minutes * 60
    late = [f.id for f in schedule.faults if f.end_s + settle_s > limit]
    if late:
        raise SoakUsageError(
            f"fault schedule {schedule.source}: fault(s) {late} end after the run's "
            f"{minutes:g} market minutes (minus a {settle_s:g} s settle); raise --soak-minutes "
            "or use a shorter --soak-schedule")
