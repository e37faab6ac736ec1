"""A passing run drops only its bulk; one soak per sink stays on one xdist worker."""

from __future__ import annotations

import pytest

from pytest_soak.retention import prune_passing_run

pytest_plugins = ["pytester"]


def test_a_passing_run_keeps_its_evidence_and_drops_the_handoff_logs(tmp_path) -> None:  # noqa: ANN001
    run = tmp_path / "run"
    for rel in ("handoff/market/00000001.jsonl", "recordings/a.jsonl.gz", "run_manifest.json",
                "sinks/signals.jsonl", "observer/health.jsonl", "outbox/ready/x.jsonl"):
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        (run / rel).write_text("{}\n")
    assert sorted(prune_passing_run(run)) == ["handoff", "recordings"]
    assert not (run / "handoff").exists() and not (run / "recordings").exists()
    for rel in ("run_manifest.json", "sinks/signals.jsonl", "observer/health.jsonl",
                "outbox/ready/x.jsonl"):
        assert (run / rel).exists()


def test_each_sinks_tests_share_one_xdist_group(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        def pytest_collection_finish(session):
            for item in session.items:
                group = item.get_closest_marker("xdist_group")
                print("GROUP", item.name, group.args[0] if group else None)
    """)
    pytester.makepyfile(test_x="def test_a(soak_sink):\n    pass\n"
                               "def test_b(soak_sink):\n    pass\n")
    result = pytester.runpytest("--co", "-s", "--soak-sink=jsonl,sqlite")
    groups = {line.split()[1]: line.split()[2] for line in result.outlines
              if line.startswith("GROUP")}
    assert groups == {"test_a[sink=jsonl]": "soak-sink-jsonl", "test_b[sink=jsonl]":
                      "soak-sink-jsonl", "test_a[sink=sqlite]": "soak-sink-sqlite",
                      "test_b[sink=sqlite]": "soak-sink-sqlite"}
