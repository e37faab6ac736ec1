"""The fault-kind registry is the one source: every kind is in the observations schema's enum
and in the docs table, every feed-applied kind has a feed handler, every name a kind expects
or tolerates is canonical, and adding a kind is adding a module."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_soak.fault_kinds import KINDS, FeedFault, docs_table, vocabulary
from pytest_soak.replay_feed.faults import HANDLERS
from pytest_soak_evidence.schemas import SCHEMA_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_the_observations_schema_lists_exactly_the_registered_kinds() -> None:
    schema = json.loads((SCHEMA_DIR / "harness_observations.schema.json").read_text())
    assert sorted(schema["$defs"]["fault_kind"]["enum"]) == sorted(KINDS)


def test_the_docs_table_is_the_registrys() -> None:
    docs = (ROOT / "docs" / "soak.md").read_text(encoding="utf-8")
    assert docs_table() in docs, "run: python -m pytest_soak.generated --write"


def test_every_feed_applied_kind_has_a_feed_handler_and_the_others_none() -> None:
    for kind in KINDS.values():
        assert kind.applied_by in ("feed", "harness") and kind.clock in ("market", "wall")
        if kind.applied_by == "feed":
            assert isinstance(kind, FeedFault) and kind.control in HANDLERS, kind.name
        else:
            assert not isinstance(kind, FeedFault), kind.name


def test_every_default_name_is_canonical() -> None:
    for kind in KINDS.values():
        exp, tol = kind.expects, kind.tolerates
        assert set(exp.alerts) | set(tol.alerts) <= set(vocabulary.alert_rules()), kind.name
        assert set(exp.counters) | set(tol.counters) <= set(vocabulary.counters()), kind.name
        assert set(exp.items) <= set(vocabulary.items()), kind.name


def test_the_vocabulary_is_read_from_the_schemas() -> None:
    alerts = json.loads((SCHEMA_DIR / "manifest" / "alerts.schema.json").read_text())
    assert vocabulary.alert_rules() == tuple(alerts["items"]["properties"]["rule"]["enum"])
    assert {"queue_dropped", "substream_timeout_detected", "reconnect_count"} <= set(
        vocabulary.counters())
    assert "events_out" not in vocabulary.counters()           # a plain integer, no counter


def test_every_kind_module_is_found_by_its_name() -> None:
    modules = {p.stem for p in (ROOT / "pytest_soak" / "fault_kinds").glob("*.py")
               if not p.stem.startswith("_")} - {"base", "vocabulary"}
    assert modules == set(KINDS)
