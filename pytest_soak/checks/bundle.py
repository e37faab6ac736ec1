"""D11 evidence bundle: run_manifest.json, source_manifest.json (run_id, session_start/end,
symbols, ws_endpoint, ws_region, config_snapshot with secrets redacted, input_mode,
replay_mode), parity_diff.json (dual runs), and per sink a daily report JSON + Markdown with
runtime_state, alerts, harvester SLO and export status, in REPORT_TZ. Each file must exist
and validate against its schema; a violation names the JSON path. What the harness knows
itself it checks the bundle against: the source manifest's run_id, replay_mode, ws_endpoint
(the harness's feed), session times (inside the pipeline's life) and config snapshot's
report.tz; and each report's time zone, by its offsets, against the REPORT_TZ the harness set
(report_zone.py), never the pipeline's own config."""

from __future__ import annotations

import re
from typing import Any

from pytest_soak.checks._common import dig, interrupted, need, to_ms
from pytest_soak.checks.report_zone import zone_problems
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import (
    MANIFEST,
    OBSERVATIONS,
    PARITY_DIFF,
    SOURCE_MANIFEST,
    RunEvidence,
)
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

SOURCE_FIELDS = ("run_id", "session_start", "session_end", "symbols", "ws_endpoint",
                 "ws_region", "config_snapshot", "input_mode", "replay_mode")
# report section -> accepted key spellings
REPORT_SECTIONS = {"runtime_state": ("runtime_state",), "alerts": ("alerts",),
                   "harvester SLO": ("harvester_slo", "harvester", "harvester_metrics"),
                   "export status": ("export_status", "timeseries_export", "export")}
SECRET_WORDS = ("secret", "password", "api_key", "token", "passphrase")
REDACTED = (None, "", "***", "***REDACTED***", "<redacted>", "REDACTED", "[redacted]")
# `timeseries.token_env: INFLUX_TOKEN` names the variable that holds a secret, not the secret
NAMES_A_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]*")
# the supervisor writes the source manifest while it lives; this covers timer rounding
SESSION_SLACK_MS = 2000


def _file(run: RunEvidence, rel: str, name: str) -> ItemResult:
    _doc, why = need(run, rel, name, missing_fails=True)
    if why:
        return why
    return passed(name, run.file(rel).describe(), evidence=[rel])


def unredacted(obj: Any, path: str = "$") -> list[str]:
    """JSON paths of secret-named keys whose value is not redacted."""
    out: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            here = f"{path}.{key}"
            if any(w in str(key).lower() for w in SECRET_WORDS) and not isinstance(
                    value, dict | list) and value not in REDACTED and value is not False \
                    and not _names_a_variable(key, value):
                out.append(here)
            else:
                out.extend(unredacted(value, here))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out.extend(unredacted(value, f"{path}[{i}]"))
    return out


def _names_a_variable(key: Any, value: Any) -> bool:
    return str(key).endswith("_env") and isinstance(value, str) and bool(
        NAMES_A_VARIABLE.fullmatch(value))


def _source_fields(run: RunEvidence) -> ItemResult:
    doc, why = need(run, SOURCE_MANIFEST, "source fields", missing_fails=True)
    if why:
        return why
    missing = [f"$.{k}" for k in SOURCE_FIELDS if doc.get(k) is None]
    if missing:
        return failed("source fields", f"source_manifest.json lacks {missing}", missing, [],
                      [SOURCE_MANIFEST])
    leaks = unredacted(doc.get("config_snapshot"), "$.config_snapshot")
    if leaks:
        return failed("source fields", f"secrets not redacted at {leaks}", leaks, [],
                      [SOURCE_MANIFEST])
    wrong = _snapshot_agrees(run, doc)
    if wrong:
        return failed("source fields", "source_manifest.json contradicts the harness: "
                      + "; ".join(wrong[:3]), wrong, [], [SOURCE_MANIFEST, OBSERVATIONS])
    return passed("source fields", "source_manifest.json complete, secrets redacted",
                  evidence=[SOURCE_MANIFEST])


def _report(run: RunEvidence, sink: str) -> ItemResult:
    name = "daily report"
    report = run.reports.get(sink)
    if report is None or report.json_file.state == "missing":
        return failed(name, f"no reports/{sink}/summary_*.json",
                      evidence=[f"reports/{sink}/"], subject=sink)
    if not report.json_file.ok:
        result = failed if report.json_file.state != "no_schema" else unknown
        return result(name, report.json_file.describe(), evidence=[report.json_file.path],
                      subject=sink)
    if not report.markdown:
        return failed(name, f"no Markdown beside {report.json_file.path}",
                      evidence=[report.json_file.path], subject=sink)
    doc = report.json_file.doc
    absent = [s for s, keys in REPORT_SECTIONS.items()
              if all(doc.get(k) is None for k in keys)]
    if absent:
        return failed(name, f"{report.json_file.path} lacks {absent}", absent, [],
                      [report.json_file.path], subject=sink)
    return passed(name, f"{report.json_file.path} + .md complete",
                  evidence=[report.json_file.path, report.md_path or ""], subject=sink)


def _zone(run: RunEvidence, sink: str) -> ItemResult:
    """The report's times are in the zone the harness set (report_zone.py)."""
    name = "report time zone"
    want = (run.observations or {}).get("report_tz")
    if not want:
        return unknown(name, "the harness recorded no REPORT_TZ it set (harness_observations."
                       "report_tz)", evidence=[OBSERVATIONS], subject=sink)
    report = run.reports.get(sink)
    if report is None or not report.json_file.ok:
        return unknown(name, f"no readable reports/{sink}/summary_*.json to read times from "
                       "(see daily report)", None, want, [f"reports/{sink}/"], subject=sink)
    problems, checked = zone_problems(report.json_file.doc, want)
    evidence = [report.json_file.path, OBSERVATIONS]
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        return failed(name, "; ".join(problems[:3]) + more, len(problems), 0, evidence,
                      subject=sink)
    return passed(name, f"{checked} times in {want} with its offsets, as the harness set",
                  0, 0, evidence, subject=sink)


def _snapshot_agrees(run: RunEvidence, doc: dict) -> list[str]:
    """What the source manifest claims against what the harness itself knows of the run."""
    obs = run.observations or {}
    out = []
    tz = dig(doc, "config_snapshot.report.tz")
    if tz is not None and obs.get("report_tz") and tz != obs["report_tz"]:
        out.append(f"$.config_snapshot.report.tz {tz!r}, the harness set REPORT_TZ="
                   f"{obs['report_tz']}")
    if obs.get("run_id") and doc.get("run_id") != obs["run_id"]:
        out.append(f"$.run_id {doc.get('run_id')!r}, the harness ran {obs['run_id']!r}")
    if obs.get("mode") and doc.get("replay_mode") is not (obs["mode"] == "replay"):
        out.append(f"$.replay_mode {doc.get('replay_mode')!r} in a {obs['mode']} run")
    ws = dig(obs, "feed.ws_url")
    if ws and not str(doc.get("ws_endpoint") or "").startswith(ws):
        out.append(f"$.ws_endpoint {doc.get('ws_endpoint')!r}, the harness's feed is {ws}")
    out += _session_times(doc, obs)
    return out


def _session_times(doc: dict, obs: dict) -> list[str]:
    """session_start/end lie inside the pipeline's life as the harness timed it."""
    started, stopped = dig(obs, "pipeline.started_ms"), dig(obs, "pipeline.stopped_ms")
    out = []
    for key in ("session_start", "session_end"):
        at = to_ms(doc.get(f"{key}_ms")) or to_ms(doc.get(key))
        if at is None or started is None or stopped is None:
            continue
        if not started - SESSION_SLACK_MS <= at <= stopped + SESSION_SLACK_MS:
            out.append(f"$.{key} at {at} ms, outside the pipeline's life as the harness "
                       f"timed it ({started}..{stopped} ms)")
    return out


def check_D11(run: RunEvidence, t: Thresholds) -> ItemResult:
    stop = interrupted(run, "D11")
    if stop:
        return stop
    parts = [_file(run, MANIFEST, "run_manifest.json"), _source_fields(run)]
    if run.sink_mode == "dual":
        parts.append(_file(run, PARITY_DIFF, "parity_diff.json"))
    sinks = run.sinks_written
    if not sinks:
        parts.append(unknown("daily report", "the run's sink mode is unknown"))
    parts += [_report(run, sink) for sink in sinks]
    parts += [_zone(run, sink) for sink in sinks]
    return combine("D11", parts)


ITEM = DodItem(
    id="D11", name="evidence bundle", title="the evidence bundle is complete and valid",
    description="Every evidence file exists and validates: run and source manifests (secrets "
                "redacted), parity diff, and a daily report (JSON + Markdown) per sink.",
    subchecks=(SubCheck("run_manifest.json"), SubCheck("source fields"),
               SubCheck("parity_diff.json", when="dual-sink runs"),
               SubCheck("daily report", per="sink"),
               SubCheck("report time zone", "eq", per="sink")),
    check=check_D11,
    evidence=(MANIFEST, SOURCE_MANIFEST, PARITY_DIFF, "reports/*/summary_*.json",
              "reports/*/summary_*.md"))
