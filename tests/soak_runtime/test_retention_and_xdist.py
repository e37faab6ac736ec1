"""Earlier passing runs are removed unless --soak-keep; one soak per sink on one xdist worker."""

from __future__ import annotations

import json

import pytest

from pytest_soak.retention import prune_passed_runs

pytest_plugins = ["pytester"]


def _run(folder, verdict: str | None) -> None:  # noqa: ANN001
    folder.mkdir(parents=True)
    (folder / "harness_observations.json").write_text("{}")
    if verdict:
        (folder / "dod.json").write_text(json.dumps({"verdict": verdict}))


def test_earlier_passing_runs_are_removed_the_rest_kept(tmp_path) -> None:  # noqa: ANN001
    _run(tmp_path / "a-pass", "pass")
    _run(tmp_path / "b-fail", "fail")
    _run(tmp_path / "c-interrupted", "interrupted")
    _run(tmp_path / "d-unjudged", None)
    (tmp_path / "e-not-a-run").mkdir()
    (tmp_path / "e-not-a-run" / "dod.json").write_text(json.dumps({"verdict": "pass"}))
    assert prune_passed_runs(tmp_path) == ["a-pass"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "b-fail", "c-interrupted", "d-unjudged", "e-not-a-run"]


def test_soak_keep_leaves_earlier_runs_alone(pytester: pytest.Pytester) -> None:
    runs = pytester.path / "runs"
    _run(runs / "old-pass", "pass")
    # soak_run is asked for but the test is deselected: the session would soak, nothing starts
    pytester.makepyfile(test_k="import pytest\n\ndef test_k(soak_settings):\n    pass\n\n"
                               "@pytest.mark.live\ndef test_live(soak_run):\n    pass\n")
    pytester.runpytest(f"--soak-run-dir={runs}", "--soak-keep", "-k", "test_k")
    assert (runs / "old-pass").exists()
    pytester.runpytest(f"--soak-run-dir={runs}", "-k", "test_k")   # no soak in this session
    assert (runs / "old-pass").exists()
    pytester.runpytest(f"--soak-run-dir={runs}", "--co")  # live test deselected: no soak
    assert (runs / "old-pass").exists()
    _run(runs / "new-fail", "fail")
    soaking = pytester.runpytest(f"--soak-run-dir={runs}", "--co", "-m", "live")
    soaking.stdout.fnmatch_lines(["*test_live*"])           # a session that would soak
    assert not (runs / "old-pass").exists() and (runs / "new-fail").exists()


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
