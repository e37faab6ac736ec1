"""D11's time zone: the daily reports are in the REPORT_TZ the harness set, by their offsets.

The harness gives the pipeline REPORT_TZ itself (--soak-report-tz, a non-UTC zone by default)
and records it in harness_observations.report_tz; the pipeline's own config snapshot is never
the reference. A report passes when its `tz` names that zone AND every ISO-8601 time in it
carries that zone's UTC offset at that instant AND, where the same instant is also given in
epoch ms (`<key>_ms` beside `<key>`), both say the same instant: a report that names the zone
while writing UTC offsets, or that stamps UTC clock digits with the zone's offset, fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
TWIN_TOLERANCE_MS = 1          # an ISO time printed to the millisecond


def iso_times(doc: Any, path: str = "$") -> Iterator[tuple[str, str, Any]]:
    """(JSON path, ISO string, its `<key>_ms` twin or None) for every ISO time in `doc`."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{path}.{key}"
            if isinstance(value, str) and ISO.match(value):
                yield here, value, doc.get(f"{key}_ms")
            else:
                yield from iso_times(value, here)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from iso_times(value, f"{path}[{i}]")


def zone_problems(doc: dict, want: str) -> tuple[list[str], int]:
    """What in the report contradicts zone `want` (empty: nothing), and how many times were
    checked."""
    try:
        zone = ZoneInfo(want)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"the harness's REPORT_TZ {want!r} is not a known zone"], 0
    problems = []
    said = doc.get("tz") or doc.get("timezone") or doc.get("report_tz")
    if said != want:
        problems.append(f"$.tz is {said!r}, the harness set REPORT_TZ={want}")
    checked = 0
    for path, text, twin in iso_times(doc):
        checked += 1
        problem = _time_problem(path, text, twin, zone)
        if problem:
            problems.append(problem)
    if not checked:
        problems.append("the report gives no time at all to show its zone")
    return problems, checked


def _time_problem(path: str, text: str, twin: Any, zone: ZoneInfo) -> str | None:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return f"{path} {text!r} is not an ISO-8601 time"
    if at.tzinfo is None:
        return f"{path} {text!r} has no UTC offset"
    want = at.astimezone(zone).utcoffset()
    if at.utcoffset() != want:
        return f"{path} {text!r} has offset {_offset(at.utcoffset())}, {zone.key} has " \
               f"{_offset(want)} then"
    if isinstance(twin, int | float) and not isinstance(twin, bool) and \
            abs(at.timestamp() * 1000 - twin) > TWIN_TOLERANCE_MS:
        return f"{path} {text!r} is not the instant its _ms twin {int(twin)} gives"
    return None


def _offset(delta: Any) -> str:
    if delta is None:
        return "none"
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
