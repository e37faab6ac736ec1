"""D11 evidence bundle: run_manifest.json, source_manifest.json (run_id, session_start/end,
symbols, ws_endpoint, ws_region, config_snapshot with secrets redacted, input_mode,
replay_mode), parity_diff.json (dual runs), and per sink a daily report JSON + Markdown with
runtime_state, alerts, harvester SLO and export status, in REPORT_TZ. Each file must exist
and validate against its schema; a violation names the JSON path."""

from __future__ import annotations

from typing import Any

from pytest_soak.checks._common import dig, interrupted, need
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import MANIFEST, PARITY_DIFF, SOURCE_MANIFEST, RunEvidence
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

SOURCE_FIELDS = ("run_id", "session_start", "session_end", "symbols", "ws_endpoint",
                 "ws_region", "config_snapshot", "input_mode", "replay_mode")
# report section -> accepted key spellings
REPORT_SECTIONS = {"runtime_state": ("runtime_state",), "alerts": ("alerts",),
                   "harvester SLO": ("harvester_slo", "harvester", "harvester_metrics"),
                   "export status": ("export_status", "timeseries_export", "export")}
SECRET_WORDS = ("secret", "password", "api_key", "token", "passphrase")
REDACTED = (None, "", "***", "***REDACTED***", "<redacted>", "REDACTED", "[redacted]")


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
                    value, dict | list) and value not in REDACTED and value is not False:
                out.append(here)
            else:
                out.extend(unredacted(value, here))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out.extend(unredacted(value, f"{path}[{i}]"))
    return out


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
    tz_problem = _tz_problem(run, doc)
    if tz_problem:
        return failed(name, tz_problem, evidence=[report.json_file.path], subject=sink)
    return passed(name, f"{report.json_file.path} + .md complete",
                  evidence=[report.json_file.path, report.md_path or ""], subject=sink)


def _tz_problem(run: RunEvidence, doc: dict) -> str | None:
    want = (dig(run.source_manifest or {}, "config_snapshot.report.tz")
            or dig(run.source_manifest or {}, "report_tz"))
    got = doc.get("tz") or doc.get("timezone") or doc.get("report_tz")
    if got is None:
        return "daily report does not say its time zone"
    if want and got != want:
        return f"daily report in time zone {got}, REPORT_TZ is {want}"
    return None


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
    return combine("D11", parts)


ITEM = DodItem(
    id="D11", name="evidence bundle", title="the evidence bundle is complete and valid",
    description="Every evidence file exists and validates: run and source manifests (secrets "
                "redacted), parity diff, and a daily report (JSON + Markdown) per sink.",
    subchecks=(SubCheck("run_manifest.json"), SubCheck("source fields"),
               SubCheck("parity_diff.json", when="dual-sink runs"),
               SubCheck("daily report", per="sink")),
    check=check_D11,
    evidence=(MANIFEST, SOURCE_MANIFEST, PARITY_DIFF, "reports/*/summary_*.json",
              "reports/*/summary_*.md"))
