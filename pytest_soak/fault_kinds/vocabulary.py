"""The names a fault's `expects` / `tolerates` may use, each read from where it is defined.

- alert rules: the report's rule names, the `rule` enum of schemas/manifest/alerts.schema.json;
- counters: harvest's counters, the properties of schemas/manifest/harvester_metrics.schema.json
  that are counters (`$ref: #/$defs/counter`);
- items: the DoD item ids of the check registry (pytest_soak.checks);
- health: stage names (the pipeline's own; any name is accepted here, a stage the pipeline does
  not have simply never appears in a health poll).
"""

from __future__ import annotations

import json
from functools import cache

from pytest_soak_evidence.schemas import SCHEMA_DIR


def _schema(rel: str) -> dict:
    return json.loads((SCHEMA_DIR / rel).read_text(encoding="utf-8"))


@cache
def alert_rules() -> tuple[str, ...]:
    """The report's alert rule names, in the schema's order."""
    return tuple(_schema("manifest/alerts.schema.json")["items"]["properties"]["rule"]["enum"])


@cache
def counters() -> tuple[str, ...]:
    """harvester_metrics' counters, in the schema's order."""
    props = _schema("manifest/harvester_metrics.schema.json")["properties"]
    return tuple(k for k, v in props.items() if v.get("$ref") == "#/$defs/counter")


@cache
def items() -> tuple[str, ...]:
    """The DoD item ids (imported late: the check registry imports a lot)."""
    from pytest_soak.checks import CHECKS
    return tuple(CHECKS)


def known(category: str) -> tuple[str, ...] | None:
    """The names allowed in one category (None: any name)."""
    return {"alerts": alert_rules, "counters": counters, "items": items}.get(
        category, lambda: None)()
