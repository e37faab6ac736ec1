"""Many outbox events validated at once find exactly the bad ones, by index, with jsonschema's
errors; the compiled validator and jsonschema agree on each of them."""

from __future__ import annotations

import copy

from pytest_soak_evidence.schemas import _compiled, violations, violations_many

from .factory import outbox_event

BREAKS = [("side", "sideways"), ("event", "cancel"), ("qty", -1), ("qty", "1.0"),
          ("client_order_id", None), ("extra_field", 1)]


def test_many_find_exactly_the_bad_ones_with_named_paths() -> None:
    docs = [outbox_event(n, f"r{n}") for n in range(30)]
    docs[7]["side"] = "sideways"
    del docs[22]["qty"]
    found = violations_many(docs, "executor_contract_v1")
    assert [i for i, _ in found] == [7, 22]
    assert "$.side" in found[0][1][0] and "qty" in found[1][1][0]


def test_the_compiled_validator_agrees_with_jsonschema() -> None:
    is_valid = _compiled("executor_contract_v1")
    assert is_valid is not None
    base = outbox_event(1, "r1")
    docs = [base]
    for key, value in BREAKS:
        doc = copy.deepcopy(base)
        doc[key] = value
        docs.append(doc)
    missing = copy.deepcopy(base)
    del missing["client_order_id"]
    docs.append(missing)
    verdicts = [(is_valid(d), not violations(d, "executor_contract_v1")) for d in docs]
    assert all(fast == slow for fast, slow in verdicts), verdicts
    assert sum(not slow for _, slow in verdicts) >= 5          # most breaks do break it


def test_a_schema_that_refers_to_other_files_is_left_to_jsonschema() -> None:
    assert _compiled("run_manifest") is None
    assert _compiled("executor_contract_v1") is not None
