"""A sweep that raised is recorded, so D10 says unknown instead of 'no orphan'."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_soak import session as session_mod


def test_a_sweep_that_raises_is_recorded_and_the_teardown_hears_of_it(monkeypatch) -> None:
    def boom(run_id, pgid):  # noqa: ANN001, ANN202
        raise PermissionError("process table unreadable")
    monkeypatch.setattr(session_mod, "sweep", boom)
    fake = SimpleNamespace(proc=None, run_id="r", orphans=[], sweep_error=None,
                           history=SimpleNamespace(record=lambda *a, **k: None))
    with pytest.raises(PermissionError):       # the teardown logs it as a harness error
        session_mod.SoakSession._sweep(fake)
    assert fake.sweep_error == "PermissionError: process table unreadable"
    assert fake.orphans == []


def test_a_sweep_that_ran_leaves_no_error(monkeypatch) -> None:
    monkeypatch.setattr(session_mod, "sweep", lambda run_id, pgid: [])
    fake = SimpleNamespace(proc=None, run_id="r", orphans=None, sweep_error=None,
                           history=SimpleNamespace(record=lambda *a, **k: None))
    session_mod.SoakSession._sweep(fake)
    assert fake.sweep_error is None and fake.orphans == []
