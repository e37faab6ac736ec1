"""docs/report.md's alert table states each rule's level and hold as config/defaults.yaml does."""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.config import defaults
from orchestrator.report.alerts import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "report.md"


def test_the_alert_table_matches_the_configured_rules() -> None:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].strip("`") in RULES:
            rows[cells[0].strip("`")] = cells
    assert sorted(rows) == sorted(RULES), "docs/report.md's alert table lacks a rule"
    configured = defaults()["report"]["alerts"]
    for rule, (_, level, _, hold) in rows.items():
        assert level == configured[rule]["level"], rule
        assert int(re.match(r"\d+", hold).group()) == configured[rule]["hold_minutes"], rule
