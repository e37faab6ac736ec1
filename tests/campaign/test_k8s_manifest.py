"""deploy/k8s/: the campaign's Indexed Job and its merge Job, validated against the Kubernetes
API schemas (kubernetes-validate), and their shell steps run with a stand-in `python` that
records its arguments: each pod soaks BASE_SEED + JOB_COMPLETION_INDEX into its own folder on
the shared volume, and the merge expects exactly the campaign's seeds."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from pytest_soak import campaign, cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())   # backoffLimitPerIndex: 1.29


def docs(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")) if d]


def by_kind(name: str, kind: str, metadata_name: str) -> dict:
    return next(d for d in docs(name) if d["kind"] == kind
                and d["metadata"]["name"] == metadata_name)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["soak-campaign.yaml", "soak-campaign-merge.yaml"])
def test_every_document_is_valid_kubernetes(name: str, version: str) -> None:
    for doc in docs(name):
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_would_refuse_a_broken_job() -> None:
    job = copy.deepcopy(by_kind("soak-campaign.yaml", "Job", "soak-campaign"))
    job["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []    # a typo'd key
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, VERSIONS[0], strict=True)


def test_the_campaign_is_an_indexed_job_on_a_shared_volume() -> None:
    job = by_kind("soak-campaign.yaml", "Job", "soak-campaign")
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert spec["completionMode"] == "Indexed"
    assert 1 <= spec["parallelism"] <= spec["completions"]
    assert spec["backoffLimitPerIndex"] == 0            # a failed seed is a verdict, not retried
    assert pod["restartPolicy"] == "Never"
    claim = pod["volumes"][0]["persistentVolumeClaim"]["claimName"]
    pvc = by_kind("soak-campaign.yaml", "PersistentVolumeClaim", claim)
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]
    merge = by_kind("soak-campaign-merge.yaml", "Job", "soak-campaign-merge")
    assert merge["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"][
        "claimName"] == claim
    env = {e["name"]: e.get("value") for e in merge["spec"]["template"]["spec"]["containers"][0][
        "env"]}
    pod_env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert int(env["SEEDS"]) == spec["completions"] and env["BASE_SEED"] == pod_env["BASE_SEED"]


def run_step(container: dict, tmp_path: Path, **env: str) -> list[str]:
    """The container's shell step with /runs moved to tmp_path and `python` a stand-in that
    prints its arguments, one per line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n', encoding="utf-8")
    fake.chmod(0o755)
    script = container["args"][0].replace("/runs", str(tmp_path / "runs"))
    values = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    done = subprocess.run([*container["command"], script], capture_output=True, text=True,
                          env={**os.environ, **values, **env,
                               "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
                          check=True, timeout=30)
    return done.stdout.splitlines()


needs_sh = pytest.mark.skipif(shutil.which("sh") is None, reason="the pods' steps are POSIX sh")


@needs_sh
def test_each_pod_soaks_the_seed_of_its_index_into_its_own_folder(tmp_path: Path) -> None:
    pod = by_kind("soak-campaign.yaml", "Job", "soak-campaign")["spec"]["template"]["spec"]
    argv = run_step(pod["containers"][0], tmp_path, JOB_COMPLETION_INDEX="2",
                    JOB_NAME="soak-campaign", JOB_UID="0f1e2d3c-aaaa-bbbb")
    out = tmp_path / "runs" / "soak-campaign-0f1e2d3c" / "seed-20260103"
    assert out.is_dir()
    assert argv[:4] == ["-m", "pytest_soak", "soak", "--replay"]
    assert argv[argv.index("--soak-seed") + 1] == "20260103"
    assert argv[argv.index("--soak-run-dir") + 1] == str(out)
    args, rest = cli.build_parser().parse_known_args(argv[2:])    # what the CLI makes of it
    assert (args.command, args.replay, args.no_report) == ("soak", True, True)
    assert "--soak-keep" in rest     # the campaign's passing runs stay for the merge


@needs_sh
def test_the_merge_expects_exactly_the_campaigns_seeds(tmp_path: Path) -> None:
    merge = by_kind("soak-campaign-merge.yaml", "Job", "soak-campaign-merge")
    argv = run_step(merge["spec"]["template"]["spec"]["containers"][0], tmp_path,
                    CAMPAIGN_JOB_UID="0f1e2d3c-aaaa-bbbb")
    assert argv[:3] == ["-m", "pytest_soak", "campaign-merge"]
    assert argv[3] == str(tmp_path / "runs" / "soak-campaign-0f1e2d3c")
    assert argv[4:] == ["--seeds", "20260101,20260102,20260103,20260104"]
    assert campaign._seed_list(argv[5]) == [20260101, 20260102, 20260103, 20260104]
