"""The Markdown rendering of a daily report (the JSON file is the source of truth)."""

from __future__ import annotations

import json
from typing import Any


def _pct(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.2f} %"


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join("—" if v is None else str(v) for v in row) + " |" for row in rows]
    return out + [""]


def render(doc: dict[str, Any]) -> str:
    t = doc["totals"]
    w = doc["window"]
    lines = [f"# Daily report — run `{doc['run_id']}`, sink `{doc['sink']}`", "",
             f"Generated {doc['generated_at']} ({doc['tz']}). Signals from "
             f"{w['first_ts'] or '—'} to {w['last_ts'] or '—'} ({w['minutes']} minutes); "
             f"{doc['sink_read']['rows']} rows read from `{doc['sink_read']['path']}`"
             + (f", read error: {doc['sink_read']['error']}" if doc["sink_read"]["error"] else "")
             + ".", "", "## Totals", ""]
    lines += _table(["symbol", "total", "confirm", "strong", "strong_ratio", "low_consistency"],
                    [["ALL", t["total"], t["confirm"], t["strong"], _pct(t["strong_ratio"]),
                      _pct(t["low_consistency_share"])]]
                    + [[s, a["total"], a["confirm"], a["strong"], _pct(a["strong_ratio"]),
                        _pct(a["low_consistency_share"])] for s, a in t["by_symbol"].items()])
    lines += ["Gating breakdown: " + (", ".join(f"{k} {v}" for k, v in
                                                 t["gating_breakdown"].items()) or "—"), ""]
    lines += ["## Alerts", ""]
    lines += _table(["rule", "level", "fired at", "resolved at", "details"],
                    [[a["rule"], a["level"], a["fired_at"], a["resolved_at"] or "firing",
                      "`" + json.dumps(a["details"], sort_keys=True) + "`"]
                     for a in doc["alerts"]]) if doc["alerts"] else ["No alert fired.", ""]
    slo = doc["harvester_slo"]
    lines += ["## Harvester SLO", "", f"Verdict: **{slo['verdict']}**", ""]
    lines += _table(["figure", "value", "ok"],
                    [[k, slo[k], slo["checks"][k]] for k in slo["checks"]])
    e = doc["export"]
    lines += ["## Time-series export", ""]
    lines += _table(["type", "export_count", "error_count", "failures", "backlog", "last_error"],
                    [[e.get("type"), e.get("export_count"), e.get("error_count"),
                      len(e.get("failures") or []), e.get("backlog"), e.get("last_error")]])
    lines += ["## Resources and restarts", ""]
    lines += ["Restarts: " + (", ".join(f"{k} {v}" for k, v in doc["restarts"].items()) or "—"),
              "", "Resource usage: `" + json.dumps(doc["resource_usage"], sort_keys=True) + "`",
              "", "## Runtime state (signal stage)", "",
              "`" + json.dumps(doc["runtime_state"], sort_keys=True) + "`", "",
              "## Per minute", ""]
    lines += _table(["minute", "total", "confirm", "strong", "strong_ratio", "low_consistency",
                     "gating"],
                    [[m["minute"] + (" (partial)" if m["partial"] else ""), m["total"],
                      m["confirm"], m["strong"], _pct(m["strong_ratio"]),
                      _pct(m["low_consistency_share"]),
                      ", ".join(f"{k} {v}" for k, v in m["gating_breakdown"].items())]
                     for m in doc["per_minute"]])
    return "\n".join(lines)
