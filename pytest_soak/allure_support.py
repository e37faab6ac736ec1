"""Allure for the DoD suite: every D-test carries its DoD id as a label, a plain-words title and
description, the session's phases as steps (rebuilt from the one fault history), and its
evidence as attachments; the run's parameters become the Allure environment.

Every function here is a no-op without `--alluredir` (allure-pytest then records nothing), so
the suite runs the same with or without a report.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import allure

from pytest_soak.checks import ITEMS
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence
from pytest_soak.verdict import ItemResult

# evidence attached to every D-test, besides the files its spec and its result name
COMMON = (OBSERVATIONS, MANIFEST)
MAX_ATTACH_BYTES = 5 << 20


def label_test(item: str, title: str, description: str) -> None:
    allure.dynamic.label("dod", item)
    allure.dynamic.tag(item)
    allure.dynamic.title(f"{item}: {title}")
    allure.dynamic.description(description)


def history_steps(run: RunEvidence) -> None:
    """The session's phases as Allure steps: start, each fault with its proof, stop."""
    obs = run.observations or {}
    pipe = obs.get("pipeline") or {}
    with allure.step(f"start the pipeline: {' '.join(pipe.get('command') or [])}"):
        pass
    for fault in run.faults:
        proof = "effect confirmed" if fault.get("effect_confirmed") else "effect NOT confirmed"
        span = f"market s {fault.get('planned_start_s')}..{fault.get('planned_end_s')}"
        with allure.step(f"fault {fault.get('id')} ({fault.get('kind')}"
                         f"{' ' + fault['target'] if fault.get('target') else ''}), {span}: "
                         f"{proof}"):
            allure.attach(json.dumps(fault, indent=2), "fault record",
                          allure.attachment_type.JSON)
    alert_notification_steps(run)
    shutdown = obs.get("shutdown") or {}
    with allure.step(f"stop with {shutdown.get('signal')}: exit code {pipe.get('exit_code')}, "
                     f"order seen {' -> '.join(shutdown.get('observed_order') or [])}"):
        pass


def alert_notification_steps(run: RunEvidence) -> None:
    """The live alert path's Alertmanager notifications (pytest_soak/alert_path.py), one step
    per alert in each, in the order received; the JSONL itself is attached."""
    rel = ((run.observations or {}).get("alert_path") or {}).get("notifications_file")
    if not rel:
        return
    rows = run.jsonl(rel)[0]
    with allure.step(f"live alert path: {len(rows)} Alertmanager notification(s)"):
        for row in rows:
            at = datetime.fromtimestamp(row.get("received_ms", 0) / 1000, UTC)
            for alert in row.get("alerts") or []:
                labels = alert.get("labels") or {}
                with allure.step(f"{at:%H:%M:%S} UTC {labels.get('alertname')} "
                                 f"({labels.get('rule')}) {str(alert.get('status')).upper()}: "
                                 f"{(alert.get('annotations') or {}).get('summary', '')}"):
                    pass
        attach_file(run, rel, "alert notifications (Alertmanager -> harness webhook)")


def attach_file(run: RunEvidence, rel: str, name: str | None = None) -> None:
    path = run.run_dir / rel
    if not path.is_file() or path.stat().st_size > MAX_ATTACH_BYTES:
        return
    kind = {".json": allure.attachment_type.JSON, ".md": allure.attachment_type.TEXT,
            ".png": allure.attachment_type.PNG, ".jsonl": allure.attachment_type.TEXT,
            ".yml": allure.attachment_type.YAML, ".yaml": allure.attachment_type.YAML,
            ".out": allure.attachment_type.TEXT}
    allure.attach.file(str(path), name=name or rel, attachment_type=kind.get(path.suffix))


def _expand(run: RunEvidence, rel: str) -> list[str]:
    """A run-dir relative file, or every file a glob in an item's spec matches."""
    if any(c in rel for c in "*?["):
        return sorted(p.relative_to(run.run_dir).as_posix() for p in run.run_dir.glob(rel))
    return [rel]


def attach_evidence(run: RunEvidence, result: ItemResult) -> None:
    """The verdict, the fault history and the evidence files behind one item."""
    allure.attach(json.dumps({result.item: result.to_json()}, indent=2, default=str),
                  f"{result.item} verdict", allure.attachment_type.JSON)
    allure.attach(json.dumps(run.faults, indent=2), "fault history",
                  allure.attachment_type.JSON)
    wanted: list[str] = []
    spec = ITEMS.get(result.item)
    for rel in (*COMMON, *result.evidence, *(spec.evidence if spec else ())):
        for name in _expand(run, rel):
            if name and name not in wanted:
                wanted.append(name)
    for rel in wanted:
        attach_file(run, rel)
    attach_plots(run, result.item)


def attach_plots(run: RunEvidence, item: str) -> None:
    """The item's plots from <run>/plots/, drawn once per run by pytest_soak.plots."""
    for name in ITEMS[item].plots if item in ITEMS else ():
        attach_file(run, f"plots/{name}", name)


def write_environment(alluredir: str | Path | None, params: dict[str, Any]) -> None:
    """Allure's environment.properties: the run's parameters on the report's front page."""
    if not alluredir:
        return
    path = Path(alluredir)
    path.mkdir(parents=True, exist_ok=True)
    lines = [f"{key}={str(value).replace(chr(10), ' ')}" for key, value in params.items()]
    (path / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
