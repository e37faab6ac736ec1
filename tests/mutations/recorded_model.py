"""Recorded mutations of D13 (the fault-free model): a pipeline that loses or duplicates a
signal across a restart, one whose restored checkpoint lacks the feature state (its signals
after the kill differ from the model's), and a model that is another seed's."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.soak_checks.factory import ev, rewrite

from .catalogue import Mutation

EQUAL, MODEL = ("D13", "signals equal the model's"), ("D13", "model run")
ROW = "r00045"                      # 125 market s: no lossy fault near


def _sinks(change_rows) -> callable:  # noqa: ANN001
    """Apply `change_rows(rows) -> rows` to the JSONL sink and mirror it in SQLite."""
    def apply(run_dir: Path) -> None:
        path = run_dir / "sinks/signals.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        rows = change_rows(rows)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        conn = sqlite3.connect(run_dir / "sinks/signals.sqlite")
        conn.execute("DELETE FROM signals")
        columns = [c[1] for c in conn.execute("PRAGMA table_info(signals)")]
        seen = set()
        for r in rows:
            if r["row_id"] in seen:            # the SQLite sink keys on row_id
                continue
            seen.add(r["row_id"])
            conn.execute(f"INSERT INTO signals ({', '.join(columns)}) VALUES "
                         f"({', '.join('?' * len(columns))})",
                         [r.get(c) if not isinstance(r.get(c), bool) else int(r[c])
                          for c in columns])
        conn.commit()
        conn.close()
    return apply


def _lose(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["row_id"] != ROW]


def _duplicate(rows: list[dict]) -> list[dict]:
    return rows + [next(r for r in rows if r["row_id"] == ROW)]


def _stateless_restore(rows: list[dict]) -> list[dict]:
    """After the kills (180 s, 189.5 s) the restarted stage began from empty windows: its
    first signals (the next minute with trades, minute 5) are gated warmup where the
    model's are not."""
    return [{**r, "gating": "warmup", "confirm": False, "strong": False}
            if ev(300) <= r["ts_ms"] < ev(360) else r for r in rows]


def _other_seed(run_dir: Path) -> None:
    rewrite(run_dir, "model/harness_observations.json", lambda doc: doc.update(seed=8))


def _r(name: str, apply, fails) -> Mutation:  # noqa: ANN001
    return Mutation(name, "recorded", (fails,), disguise="wrong", apply=apply)


MUTATIONS = [
    _r("a signal lost across a restart", _sinks(_lose), EQUAL),
    _r("a signal written twice across a restart", _sinks(_duplicate), EQUAL),
    _r("a checkpoint restored without its feature state", _sinks(_stateless_restore), EQUAL),
    _r("the model compared with is another seed's", _other_seed, MODEL),
]
