"""Recorded mutations of the D4, D10 and D11 holes of issue 12 (and the harness-measured
sub-checks of D6, D8 and D11 that came with them): the manifest's export figures against the
store's own groups, status files missing or torn and an orphan sweep that raised, reports in
a zone other than the REPORT_TZ the harness set."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from tests.soak_checks.edits import MAN, OBS, SRC, in_file, set_path
from tests.soak_checks.factory import MINUTES, REPORT_TZ, wall

from .catalogue import Mutation

REPORTS = ("reports/jsonl/summary_20270115_080100.json",
           "reports/sqlite/summary_20270115_080100.json")


def _r(name: str, apply, *fails: tuple[str, str], disguise: str = "wrong",
       hole: str | None = None, unknown_ok: bool = False) -> Mutation:
    return Mutation(name, "recorded", fails, disguise=disguise, hole=hole, apply=apply,
                    unknown_ok=unknown_ok)


def _each_report(change) -> callable:
    def apply(run_dir: Path) -> None:
        for rel in REPORTS:
            in_file(rel, change)(run_dir)
    return apply


# ---- D4: exports counted in the store ---------------------------------------------------
def _minute_groups_lost(doc: dict) -> None:
    """The store holds 3 minutes fewer than were closed; the manifest still claims all 12."""
    groups = doc["store"]["readback"]["groups"]
    minutes = [g for g in groups if "minute" in g["labels"]]
    for lost in minutes[-4:-1]:
        groups.remove(lost)


def _groups_pushed_before_the_run(doc: dict) -> None:
    """4 minute groups carry a push time from before the pipeline started (another run's,
    left in a gateway that never forgets): not this run's exports."""
    old = str(wall(-600) / 1000)
    minutes = [g for g in doc["store"]["readback"]["groups"] if "minute" in g["labels"]]
    for group in minutes[:4]:
        group["metrics"]["push_time_seconds"] = [{"labels": {}, "value": old}]


# ---- D11: report times -------------------------------------------------------------------
def _to_utc(doc: dict, name_zone: str) -> None:
    """Every ISO time of the report re-written in UTC (same instant, +00:00); `tz` says
    `name_zone`."""
    from datetime import datetime

    from pytest_soak.checks.report_zone import ISO

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and ISO.match(value):
                    at = datetime.fromisoformat(value).astimezone(UTC)
                    node[key] = at.isoformat(timespec="milliseconds")
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(doc)
    doc["tz"] = name_zone


def _utc_digits_with_zone_offset(doc: dict) -> None:
    """The UTC clock digits stamped with the zone's offset: each time names a wrong instant."""
    from datetime import datetime
    generated = datetime.fromtimestamp(doc["generated_at_ms"] / 1000, UTC)
    doc["generated_at"] = generated.strftime("%Y-%m-%dT%H:%M:%S.000+09:00")


MUTATIONS = [
    # D4 store count
    _r("the manifest claims every minute, the store holds 9", in_file(
        OBS, _minute_groups_lost), ("D4", "export_count"), disguise="declared",
       hole="D4 store count"),
    _r("4 of the store's minutes were pushed before the run", in_file(
        OBS, _groups_pushed_before_the_run), ("D4", "export_count"), disguise="declared",
       hole="D4 store count"),
    _r("error_count 5 with 2 failure times", in_file(MAN, set_path(
        "timeseries_export.error_count", 5)), ("D4", "errors outside outage"),
       hole="D4 store count"),
    _r("error_count 0 while 2 failures are recorded", in_file(MAN, set_path(
        "timeseries_export.error_count", 0)), ("D4", "errors outside outage"),
       disguise="declared", hole="D4 store count"),
    _r("the store could not be read back", in_file(OBS, set_path("store.readback", None)),
       ("D4", "export_count"), disguise="absent", hole="D4 store count", unknown_ok=True),
    # D10 unreadable
    _r("broker wrote no status file", lambda d: (d / "status/broker.json").unlink(),
       ("D10", "residual queues"), disguise="absent", hole="D10 unreadable"),
    _r("report's status file is torn", lambda d: (d / "status/report.json").write_text(
        '{"stage": "report", "state": "sto', encoding="utf-8"),
       ("D10", "residual queues"), hole="D10 unreadable"),
    _r("the orphan sweep raised", in_file(OBS, set_path(
        "shutdown.sweep_error", "AccessDenied: psutil.process_iter")),
       ("D10", "orphans"), disguise="absent", hole="D10 unreadable", unknown_ok=True),
    _r("observations silent on the sweep", in_file(OBS, lambda doc: doc["shutdown"].pop(
        "sweep_error")), ("D10", "orphans"), disguise="absent", hole="D10 unreadable",
       unknown_ok=True),
    # D11 time zone
    _r("the reports are in UTC", _each_report(lambda doc: _to_utc(doc, "UTC")),
       ("D11", "report time zone"), hole="D11 time zone"),
    _r("the reports name Asia/Tokyo but write UTC offsets", _each_report(
        lambda doc: _to_utc(doc, REPORT_TZ)), ("D11", "report time zone"),
       disguise="declared", hole="D11 time zone"),
    _r("UTC clock digits stamped +09:00", _each_report(_utc_digits_with_zone_offset),
       ("D11", "report time zone"), disguise="declared", hole="D11 time zone"),
    _r("the harness recorded no REPORT_TZ", in_file(OBS, lambda doc: doc.pop("report_tz")),
       ("D11", "report time zone"), disguise="absent", hole="D11 time zone",
       unknown_ok=True),
    # D11: the source manifest against what the harness knows; the bundle's files
    _r("the source manifest names another run", in_file(SRC, set_path("run_id", "other")),
       ("D11", "source fields")),
    _r("the session ended after the pipeline exited", in_file(SRC, set_path(
        "session_end_ms", wall(MINUTES * 60 + 600))), ("D11", "source fields")),
    _r("run_manifest.json invalid", in_file(MAN, set_path("resource_usage.max_rss_mb",
                                                          "lots")),
       ("D11", "run_manifest.json")),
    _r("no parity_diff.json in a dual run", lambda d: (d / "parity_diff.json").unlink(),
       ("D11", "parity_diff.json"), disguise="absent"),
    # D6 / D8: every stage the harness saw
    _r("the manifest has no record for broker", in_file(MAN, lambda doc: doc["status"].update(
        processes=[p for p in doc["status"]["processes"] if p["name"] != "broker"])),
       ("D6", "sections present"), disguise="absent"),
    _r("the manifest leaves broker out of per_process", in_file(
        MAN, lambda doc: doc["resource_usage"]["per_process"].pop("broker")),
       ("D8", "RSS agreement"), disguise="absent"),
    _r("no RSS series for a stage the harness saw", in_file(
        OBS, lambda doc: doc["resources"]["rss_series"].pop("report")), ("D8", "leak"),
       disguise="absent", unknown_ok=True),
    _r("the harness counted 300 open files", in_file(OBS, set_path(
        "resources.max_open_files", 300)), ("D8", "harness open files")),
    _r("the manifest reports 700 MB", in_file(MAN, set_path("resource_usage.max_rss_mb",
                                                            700.0)),
       ("D8", "manifest RSS"), ("D8", "RSS agreement")),
]
