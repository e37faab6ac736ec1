"""The fault schedule: a YAML timeline in market time, loaded, validated and seeded.

A schedule file looks like::

    name: default
    seed: 7                      # optional; --soak-seed overrides it
    faults:
      - id: kill-signal
        kind: kill_stage         # a module of pytest_soak/fault_kinds/
        target: signal
        at_min: 19               # market minutes from the run start (or at_s)
      - id: feed-pause
        kind: pause_feed
        at_min: 23
        until_min: 26.5          # a window; instant faults have none
        jitter_s: 20             # optional: start shifted by a seeded uniform [0, jitter_s)
        expects: {alerts: [no_data]}                 # optional: replaces the kind's list
        tolerates: {extend: true, alerts: [low_consistency], for_s: 120}   # adds to it

`expects` / `tolerates` default to the kind's own (pytest_soak/fault_kinds/); a list given
for a category replaces the kind's list of that category, or adds to it under `extend: true`.
expects: `alerts` (report rule names), `counters` (harvester_metrics counters), `items` (DoD
ids); tolerates: `alerts`, `counters`, `health` (stage names), `for_s` (market seconds after the
window's end the toleration lasts; null = the run's --soak-settle-s). Names are canonical only
(pytest_soak/fault_kinds/vocabulary.py): an alias or unknown name is a usage error naming the
key. The resolved lists are recorded with each fault, so the checks read them from the run.

Times are market seconds from the run start (SPEC: every per-minute figure is keyed on event
time). A fault planned past the run's end is an error, not silently dropped: a schedule that
does not fit the run would leave DoD items unproven.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from pytest_soak.fault_kinds import KINDS, Expects, FaultKind, Tolerates, vocabulary
from pytest_soak.replay_feed.market import PROFILES
from pytest_soak.settings import SoakUsageError

KNOWN_KEYS = {"id", "kind", "target", "at_s", "at_min", "until_s", "until_min", "params",
              "expects", "tolerates", "jitter_s", "description"}
WORDS = {"alerts": "an alert rule", "counters": "a harvester_metrics counter",
         "items": "a DoD item", "health": "a stage name"}


@dataclass(frozen=True)
class PlannedFault:
    id: str
    kind: str
    start_s: float                     # market seconds
    end_s: float                       # == start_s for an instant fault
    target: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    expects: Expects = Expects()
    tolerates: Tolerates = Tolerates()
    description: str = ""

    @property
    def instant(self) -> bool:
        return self.end_s == self.start_s

    @property
    def spec(self) -> FaultKind:
        return KINDS[self.kind]


@dataclass(frozen=True)
class Schedule:
    name: str
    seed: int
    faults: tuple[PlannedFault, ...]
    source: str | None = None
    # the generator profile the schedule is sized for (its burst against the market's rate limit);
    # --soak-market-profile overrides it (pytest_soak/market_source.py, soak_profile)
    market_profile: str | None = None


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


def _params(kind: FaultKind, given: Any, source: str, where: str) -> dict[str, Any]:
    """The fault's params checked against its kind's, with the kind's defaults filled in."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise _err(source, where, "must be a mapping")
    out: dict[str, Any] = {}
    for key, value in given.items():
        spec = kind.params.get(key)
        if spec is None:
            raise _err(source, f"{where}.{key}", f"kind {kind.name} has no parameter {key!r}; "
                       f"known: {sorted(kind.params) or 'none'}")
        if isinstance(value, bool) != (bool in spec.types) or not isinstance(value, spec.types):
            wanted = " or ".join(t.__name__ for t in spec.types)
            raise _err(source, f"{where}.{key}", f"must be {wanted}, got {value!r}")
        if spec.choices and value not in spec.choices:
            raise _err(source, f"{where}.{key}", f"must be one of {list(spec.choices)}, "
                       f"got {value!r}")
        out[key] = value
    for key, spec in kind.params.items():
        if key not in out and spec.required:
            raise _err(source, f"{where}.{key}", f"kind {kind.name} needs this parameter "
                       f"({spec.help})")
        if key not in out and spec.default is not None:
            out[key] = spec.default
    return out


def _names(value: Any, category: str, source: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _err(source, where, "must be a list of names")
    known = vocabulary.known(category)
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name:
            raise _err(source, f"{where}[{i}]", f"must be a name, got {name!r}")
        if known is not None and name not in known:
            raise _err(source, f"{where}[{i}]", f"{name!r} is not {WORDS[category]}; known: "
                       f"{', '.join(known)}")
    return tuple(value)


def _effects(default: Any, given: Any, categories: tuple[str, ...], source: str,
             where: str) -> Any:
    """The kind's default Expects/Tolerates with the schedule's lists applied."""
    if given is None:
        return default
    if not isinstance(given, dict):
        raise _err(source, where, "must be a mapping of " + ", ".join(categories)
                   + f" (e.g. {{{categories[0]}: [...]}})")
    extra = {"extend"} | ({"for_s"} if isinstance(default, Tolerates) else set())
    unknown = set(given) - set(categories) - extra
    if unknown:
        raise _err(source, where, f"unknown key(s) {sorted(unknown)}; known: "
                   f"{sorted(set(categories) | extra)}")
    extend = given.get("extend", False)
    if not isinstance(extend, bool):
        raise _err(source, f"{where}.extend", f"must be true or false, got {extend!r}")
    changes: dict[str, Any] = {}
    for category in categories:
        if category in given:
            names = _names(given[category], category, source, f"{where}.{category}")
            old = getattr(default, category)
            changes[category] = old + tuple(n for n in names if n not in old) if extend else names
    if "for_s" in given:
        for_s = given["for_s"]
        if for_s is not None and (isinstance(for_s, bool) or not isinstance(for_s, (int, float))
                                  or for_s < 0):
            raise _err(source, f"{where}.for_s", f"must be a number >= 0 or null, got {for_s!r}")
        changes["for_s"] = None if for_s is None else float(for_s)
    return replace(default, **changes)


def _parse_fault(entry: Any, index: int, rng: random.Random, source: str) -> PlannedFault:
    where = f"faults[{index}]"
    if not isinstance(entry, dict):
        raise _err(source, where, "each fault must be a mapping")
    unknown = set(entry) - KNOWN_KEYS
    if unknown:
        raise _err(source, where, f"unknown key(s) {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}")
    kind = KINDS.get(entry.get("kind"))  # type: ignore[arg-type]
    if kind is None:
        raise _err(source, f"{where}.kind", f"{entry.get('kind')!r} is not one of {sorted(KINDS)}")
    start = _time(entry, "at", source, where)
    if start is None:
        raise _err(source, where, "needs at_s or at_min")
    end = _time(entry, "until", source, where)
    if kind.windowed and (end is None or end <= start):
        raise _err(source, where, f"kind {kind.name} needs until_s/until_min after its start")
    if not kind.windowed and end is not None:
        raise _err(source, where, f"kind {kind.name} is instant; remove until_s/until_min")
    target = entry.get("target")
    if kind.target == "required" and not target:
        raise _err(source, f"{where}.target", f"kind {kind.name} needs a target "
                   f"({kind.target_is})")
    if kind.target is None and target is not None:
        raise _err(source, f"{where}.target", f"kind {kind.name} takes no target")
    params = _params(kind, entry.get("params"), source, f"{where}.params")
    expects = _effects(kind.default_expects(target, params), entry.get("expects"),
                       ("alerts", "counters", "items"), source, f"{where}.expects")
    tolerates = _effects(kind.default_tolerates(target, params), entry.get("tolerates"),
                         ("alerts", "counters", "health"), source, f"{where}.tolerates")
    jitter = float(entry.get("jitter_s") or 0)
    shift = rng.uniform(0, jitter) if jitter > 0 else 0.0   # drawn in file order: reproducible
    length = (end - start) if end is not None else 0.0
    start += shift
    return PlannedFault(
        id=str(entry.get("id") or f"{kind.name}-{index}"), kind=kind.name, start_s=start,
        end_s=start + length, target=target, params=params, expects=expects,
        tolerates=tolerates, description=str(entry.get("description") or ""),
    )


def parse_schedule(doc: Any, *, seed: int | None = None, source: str = "<schedule>") -> Schedule:
    """Validate a loaded schedule document; `seed` (from --soak-seed) overrides the file's."""
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise _err(source, "top level", "must be a mapping with a 'faults' list")
    unknown = set(doc) - {"name", "seed", "faults", "description", "market_profile"}
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
    profile = doc.get("market_profile")
    if profile is not None and profile not in PROFILES:
        raise _err(source, "market_profile", f"{profile!r} is not a generator profile; known: "
                   f"{', '.join(sorted(PROFILES))}")
    return Schedule(name=str(doc.get("name") or Path(source).stem), seed=int(chosen),
                    faults=tuple(faults), source=source, market_profile=profile)


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
