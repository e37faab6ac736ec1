"""The live alert path: the shipped Prometheus rules evaluated by a real Prometheus over the
run's Pushgateway, routed by a real Alertmanager to a webhook receiver in the harness, which
records every notification (harness/alert_notifications.jsonl, one
schemas/alert_notification.schema.json document a line). D3 then holds the notifications
against the report stage's own alerts (checks/alert_notifications.py).

Runs under LIVE, or with --soak-alert-path (then the rules' durations are scaled by the speed,
alert_servers.scaled_rules), and only over the harness's own Pushgateway (a prometheus store
it started). Both servers bind loopback only, carry the harness's marker and are registered
with its guard, so they are swept like every sidecar.

Timing, in wall seconds (`AlertTiming`): Prometheus scrapes every evaluation/4 (15 s at 1x,
at least 1 s) and evaluates every minute of market time (the rule group's own interval);
Alertmanager waits group_wait (5 market s, at least 1 s) before a rule's first notification and
group_interval (10 market s, at least 1 s) before the next, its resolution.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pytest_soak import alert_servers
from pytest_soak.services import ServiceError
from pytest_soak.sidecars import SidecarError, start_registered

if TYPE_CHECKING:
    from pytest_soak.harness_record import HarnessGuard

NOTIFICATIONS = "harness/alert_notifications.jsonl"
REPEAT_INTERVAL_S = 3600.0       # a repeated firing adds nothing; a resolution is not a repeat


@dataclass(frozen=True)
class AlertTiming:
    """The alert path's intervals (wall seconds), as stated in harness_observations.json."""

    scrape_interval_s: float
    evaluation_interval_s: float
    group_wait_s: float
    group_interval_s: float
    repeat_interval_s: float = REPEAT_INTERVAL_S

    @classmethod
    def for_speed(cls, speed: float) -> AlertTiming:
        evaluation = alert_servers.evaluation_interval_s(speed)
        return cls(scrape_interval_s=max(1.0, evaluation / 4), evaluation_interval_s=evaluation,
                   group_wait_s=max(1.0, 5.0 / speed), group_interval_s=max(1.0, 10.0 / speed))

    def to_json(self) -> dict[str, float]:
        return asdict(self)


class WebhookReceiver:
    """Alertmanager's webhook receiver: a loopback HTTP server appending each notification it
    is POSTed, with the wall time it arrived, as one JSON line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="alert-webhook")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():          # shutdown() waits for serve_forever to end
            self.server.shutdown()
        self.server.server_close()

    def record(self, body: dict[str, Any]) -> None:
        line = notification_line(body, int(time.time() * 1000))
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, sort_keys=True) + "\n")
            self.count += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- http.server's name
                size = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(size) or b"{}")
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.record(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:   # the JSONL is the record
                return

        return Handler


def notification_line(body: dict[str, Any], received_ms: int) -> dict[str, Any]:
    """One notification as recorded: when it arrived, its status and its alerts."""
    return {"received_ms": received_ms, "status": str(body.get("status") or "?"),
            "receiver": body.get("receiver"), "group_key": body.get("groupKey"),
            "alerts": [{"status": str(a.get("status") or "?"),
                        "labels": dict(a.get("labels") or {}),
                        "annotations": dict(a.get("annotations") or {}),
                        "starts_at": a.get("startsAt"), "ends_at": a.get("endsAt"),
                        "fingerprint": a.get("fingerprint")}
                       for a in body.get("alerts") or [] if isinstance(a, dict)]}


class AlertPath:
    """Prometheus + Alertmanager + the webhook for one run, over its Pushgateway."""

    def __init__(self, run_dir: Path, run_id: str, pushgateway_url: str, speed: float,
                 guard: HarnessGuard | None = None) -> None:
        self.run_dir, self.run_id, self.speed = run_dir, run_id, speed
        self.pushgateway = pushgateway_url.split("://", 1)[-1].rstrip("/")
        self.guard = guard
        self.dir = run_dir / "harness" / "alert_path"
        self.timing = AlertTiming.for_speed(speed)
        self.webhook = WebhookReceiver(run_dir / NOTIFICATIONS)
        env = guard.env() if guard else None
        self.alertmanager = alert_servers.AlertmanagerServer(self.dir, extra_env=env)
        self.prometheus = alert_servers.PrometheusServer(self.dir, extra_env=env)
        self.rules_file = alert_servers.RULES_FILE
        self.error: str | None = None

    def start(self) -> None:
        """Webhook, then Alertmanager, then Prometheus (each ready before the next)."""
        self.webhook.start()
        t = self.timing
        self.dir.mkdir(parents=True, exist_ok=True)
        alert_servers.render(alert_servers.ALERTMANAGER_TEMPLATE, self.alertmanager.config_path, {
            "group_wait": alert_servers.duration(t.group_wait_s),
            "group_interval": alert_servers.duration(t.group_interval_s),
            "repeat_interval": alert_servers.duration(t.repeat_interval_s),
            "webhook": self.webhook.url})
        if self.speed != 1:                      # a scaled copy; the shipped file stays as is
            self.rules_file = self.dir / "soak_alerts.scaled.rules.yml"
            self.rules_file.write_text(yaml.safe_dump(alert_servers.scaled_rules(self.speed),
                                                      sort_keys=False), encoding="utf-8")
        alert_servers.render(alert_servers.PROMETHEUS_TEMPLATE, self.prometheus.config_path, {
            "scrape_interval": alert_servers.duration(t.scrape_interval_s),
            "scrape_timeout": alert_servers.duration(min(t.scrape_interval_s, 10.0)),
            "evaluation_interval": alert_servers.duration(t.evaluation_interval_s),
            "rules_file": self.rules_file, "alertmanager": f"127.0.0.1:{self.alertmanager.port}",
            "pushgateway": self.pushgateway, "run_id": self.run_id})
        try:
            start_registered(self.alertmanager, self.guard)
            start_registered(self.prometheus, self.guard)
        except ServiceError as exc:
            self.error = str(exc)
            self.stop()
            raise SidecarError(f"alert path: {exc}") from None

    def stop(self) -> None:
        """Prometheus first (it sends no more), then Alertmanager, then the webhook."""
        try:
            self.prometheus.cleanup()
        finally:
            try:
                self.alertmanager.cleanup()
            finally:
                self.webhook.stop()

    def summary(self) -> dict[str, Any]:
        rel = self._rel
        return {"enabled": True, "reason": None, "error": self.error, "speed": self.speed,
                "prometheus_url": self.prometheus.url, "alertmanager_url": self.alertmanager.url,
                "webhook_url": self.webhook.url,
                "prometheus_config": rel(self.prometheus.config_path),
                "alertmanager_config": rel(self.alertmanager.config_path),
                "rules_file": rel(self.rules_file), "timing": self.timing.to_json(),
                "notifications_file": NOTIFICATIONS, "notifications": self.webhook.count}

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.run_dir).as_posix()
        except ValueError:
            return str(path)


def not_run(reason: str) -> dict[str, Any]:
    """harness_observations.json's alert_path when the path did not run, and why."""
    return {"enabled": False, "reason": reason}


def for_session(settings: Any, store: Any, run_dir: Path, run_id: str,
                guard: HarnessGuard | None) -> tuple[AlertPath | None, dict[str, Any]]:
    """The run's alert path (SoakSettings, StoreSidecar), started, or None and why not (its
    observations section)."""
    if not settings.alert_path:
        return None, not_run("not LIVE and no --soak-alert-path")
    if settings.timeseries != "prometheus" or store.url is None or not store.can_go_down:
        given = ", given by URL" if store.url and not store.can_go_down else ""
        return None, not_run("the alert path needs the harness's own Pushgateway "
                             f"(--soak-timeseries prometheus; here {settings.timeseries}{given})")
    path = AlertPath(run_dir, run_id, store.url, settings.speed, guard)
    path.start()
    return path, path.summary()


def section(session: Any) -> dict[str, Any] | None:
    """harness_observations.json's alert_path: the running path's summary (with the final
    notification count), else why it did not run (None: the session never got that far)."""
    running = getattr(session, "alert_path", None)
    return running.summary() if running is not None else getattr(session, "alert_path_note",
                                                                    None)
