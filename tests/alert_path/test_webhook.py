"""The harness's webhook receiver over real loopback HTTP: an Alertmanager-shaped POST becomes
one schema-valid JSON line with its arrival time; a body that is not a JSON object is refused
(400) and not recorded."""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from pytest_soak.alert_path import WebhookReceiver
from pytest_soak_evidence.schemas import violations

BODY = {"version": "4", "status": "firing", "receiver": "harness", "groupKey": "{}:{rule=x}",
        "alerts": [{"status": "firing", "labels": {"alertname": "SoakNoData", "rule": "no_data"},
                    "annotations": {"summary": "s"}, "startsAt": "2026-01-01T00:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "ab"}]}


def test_a_notification_is_one_line_and_garbage_is_refused(tmp_path: Path) -> None:
    hook = WebhookReceiver(tmp_path / "n.jsonl")
    hook.start()
    try:
        before = int(time.time() * 1000)
        assert requests.post(hook.url, json=BODY, timeout=5).status_code == 200
        assert requests.post(hook.url, data=b"[1, 2", timeout=5).status_code == 400
        assert requests.post(hook.url, json=[1], timeout=5).status_code == 400
    finally:
        hook.stop()
    lines = (tmp_path / "n.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and hook.count == 1
    row = json.loads(lines[0])
    assert violations(row, "alert_notification") == []
    assert row["received_ms"] >= before and row["alerts"][0]["labels"]["rule"] == "no_data"
