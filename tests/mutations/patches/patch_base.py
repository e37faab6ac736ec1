"""Patches of the D4 / D10 / D11 holes (tests/mutations/behavioural_base.py): the pipeline
really behaves broken, and reports what a broken pipeline that hides it would report."""

from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType


def report_in_utc(alerts: ModuleType) -> None:
    """Every time the report stage writes (alerts, daily report) in UTC, while its `tz` still
    names the configured REPORT_TZ: the zone is declared, the offsets are not it."""
    def iso_in_utc(ms, tz):  # noqa: ANN001, ANN202 -- the patched function's own signature
        if ms is None:
            return None
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(
            timespec="milliseconds")
    alerts.iso_in_tz = iso_in_utc


def export_skips_minutes(pushgateway: ModuleType) -> None:
    """Odd minutes' groups are never pushed, yet the write returns as if they were: the export
    queue counts them in export_count (the store holds about half the minutes)."""
    cls = pushgateway.PushgatewayExporter

    def write(self, batch):  # noqa: ANN001, ANN202
        if (int(batch["minute_ms"]) // 60_000) % 2 == 0:
            self._push(self._minute_registry(batch), {"minute": str(batch["minute_ms"])})
        self._push(self._run_registry(batch), {"instance": "run"})
    cls.write = write


def broker_tears_last_status(stage: ModuleType) -> None:
    """The broker's final status write (state stopped) is torn: half a JSON document."""
    cls = stage.Stage
    original = cls.write_status

    def write_status(self) -> None:
        if self.ctx.name == "broker" and self._state == "stopped":
            self.ctx.status_path().write_text('{"stage": "broker", "state": "sto',
                                              encoding="utf-8")
            return
        original(self)
    cls.write_status = write_status


PATCHES = {
    "report_in_utc": ("orchestrator.report.alerts", report_in_utc),
    "export_skips_minutes": ("orchestrator.exporters.pushgateway", export_skips_minutes),
    "broker_tears_last_status": ("orchestrator.stage", broker_tears_last_status),
}
