"""Outbox events validated on several processes find exactly the bad ones, by index."""

from __future__ import annotations

from pytest_soak.checks import parallel_validation

from .factory import outbox_event


def test_parallel_and_serial_validation_agree(monkeypatch) -> None:
    docs = [outbox_event(n, f"r{n}") for n in range(30)]
    docs[7]["side"] = "sideways"
    del docs[22]["qty"]
    serial = parallel_validation.all_violations(docs, "executor_contract_v1")
    monkeypatch.setattr(parallel_validation, "MIN_PARALLEL", 10)
    monkeypatch.setattr(parallel_validation, "CHUNK", 4)
    parallel = parallel_validation.all_violations(docs, "executor_contract_v1")
    assert [i for i, _ in serial] == [i for i, _ in parallel] == [7, 22]
    assert "$.side" in parallel[0][1][0]


def test_validation_started_early_is_collected_later(monkeypatch) -> None:
    """The judgement starts D12's validation before the other checks and collects it at D12."""
    docs = [outbox_event(n, f"r{n}") for n in range(12)]
    docs[3]["event"] = "cancel"
    monkeypatch.setattr(parallel_validation, "MIN_PARALLEL", 10)
    monkeypatch.setattr(parallel_validation, "CHUNK", 4)
    collect = parallel_validation.start_violations(docs, "executor_contract_v1")
    docs.append(outbox_event(99, "late"))       # what was handed over is what is judged
    assert [i for i, _ in collect()] == [3]
