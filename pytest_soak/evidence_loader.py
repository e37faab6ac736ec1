"""RunEvidence: every evidence file of one run directory, loaded and schema-validated once.

A check never opens files itself: it asks RunEvidence, which knows for each file whether it
is present, readable and valid, and which JSON path broke its schema. Readers of the shared
formats (sinks, outbox, parity) come from the `evidence` package, the same code the pipeline
uses to write them, so the harness and the pipeline cannot disagree on the format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_soak_evidence.schemas import SCHEMA_DIR, violations

if TYPE_CHECKING:
    from pytest_soak.contract import Contract

# evidence file (run-dir relative) -> schema kind
JSON_EVIDENCE = {
    "harness_observations.json": "harness_observations",
    "run_manifest.json": "run_manifest",
    "source_manifest.json": "source_manifest",
    "parity_diff.json": "parity_diff",
    "model.json": "model",
    "signal_latency.json": "signal_latency",      # reported, not judged (latency.py)
}
OBSERVATIONS = "harness_observations.json"
MANIFEST = "run_manifest.json"
SOURCE_MANIFEST = "source_manifest.json"
PARITY_DIFF = "parity_diff.json"
MODEL = "model.json"


@dataclass
class FileState:
    """What the loader found for one evidence file."""

    path: str
    state: str                    # ok | missing | unreadable | invalid | no_schema
    doc: Any = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def describe(self) -> str:
        if self.state == "ok":
            return f"{self.path} is valid"
        if self.state == "missing":
            return f"{self.path} is missing"
        if self.state == "no_schema":
            return f"{self.path}: no schema to validate it against ({'; '.join(self.problems)})"
        return f"{self.path} is {self.state}: " + "; ".join(self.problems[:3])


@dataclass
class Report:
    """The newest daily report of one sink: reports/<sink>/summary_*.json + .md."""

    sink: str
    json_file: FileState
    md_path: str | None
    markdown: str | None


@dataclass(frozen=True)
class Window:
    """A fault window in event time, with the fault record it came from."""

    start_ms: int
    end_ms: int
    fault: dict


def expected(fault: dict, category: str) -> list[str]:
    """The names a recorded fault expects in one category (alerts, counters, items)."""
    return list((fault.get("expects") or {}).get(category) or [])


def tolerated(fault: dict, category: str) -> list[str]:
    """The names a recorded fault tolerates in one category (alerts, counters, health)."""
    return list((fault.get("tolerates") or {}).get(category) or [])


def excuses(fault: dict, category: str, name: str) -> bool:
    """A fault's window excuses `name`: the fault expects or tolerates it."""
    return name in expected(fault, category) or name in tolerated(fault, category)


def tolerance_s(fault: dict, settle_s: float) -> float:
    """Market seconds after a fault's window that its toleration lasts (its `for_s`, else the
    run's settle margin)."""
    for_s = (fault.get("tolerates") or {}).get("for_s")
    return float(settle_s if for_s is None else for_s)


def validate_file(run_dir: Path, rel: str, kind: str) -> FileState:
    """Read one JSON evidence file and validate it against schemas/<kind>.schema.json."""
    path = run_dir / rel
    if not path.exists():
        return FileState(rel, "missing")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return FileState(rel, "unreadable", problems=[f"{type(exc).__name__}: {exc}"])
    if not (SCHEMA_DIR / f"{kind}.schema.json").exists():
        return FileState(rel, "no_schema", doc, [f"schemas/{kind}.schema.json does not exist"])
    found = violations(doc, kind)
    if found:
        return FileState(rel, "invalid", doc, found)
    return FileState(rel, "ok", doc)


def read_jsonl(path: Path) -> tuple[list[dict], int]:
    """Complete JSON lines of a file, and how many lines were torn or not JSON objects."""
    rows: list[dict] = []
    bad = 0
    if not path.exists():
        return rows, bad
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(row, dict):
                rows.append(row)
            else:
                bad += 1
    return rows, bad


class RunEvidence:
    """The evidence of one run directory. Use `RunEvidence.load(run_dir)` (cached per path)."""

    _cache: dict[Path, RunEvidence] = {}

    def __init__(self, run_dir: Path | str) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.files: dict[str, FileState] = {
            rel: validate_file(self.run_dir, rel, kind) for rel, kind in JSON_EVIDENCE.items()
        }

    @classmethod
    def load(cls, run_dir: Path | str, fresh: bool = False) -> RunEvidence:
        key = Path(run_dir).resolve()
        if fresh or key not in cls._cache:
            cls._cache[key] = cls(key)
        return cls._cache[key]

    # -- the JSON documents -------------------------------------------------------------
    def file(self, rel: str) -> FileState:
        if rel not in self.files:
            self.files[rel] = FileState(rel, "missing")
        return self.files[rel]

    @property
    def observations(self) -> dict | None:
        """harness_observations.json, if readable (checks still look at file(OBS).state)."""
        state = self.files[OBSERVATIONS]
        return state.doc if isinstance(state.doc, dict) else None

    @property
    def manifest(self) -> dict | None:
        state = self.files[MANIFEST]
        return state.doc if isinstance(state.doc, dict) else None

    @property
    def source_manifest(self) -> dict | None:
        state = self.files[SOURCE_MANIFEST]
        return state.doc if isinstance(state.doc, dict) else None

    @property
    def contract(self) -> Contract:
        """The contract the run was soaked under (harness_observations.json `contract`)."""
        from pytest_soak.contract import Contract  # it reads the registry, which reads us
        return Contract.from_json((self.observations or {}).get("contract"))

    @property
    def level(self) -> int:
        return self.contract.level

    @property
    def run_id(self) -> str:
        for doc in (self.observations, self.manifest):
            if doc and doc.get("run_id"):
                return str(doc["run_id"])
        return self.run_dir.name

    @property
    def sink_mode(self) -> str | None:
        return (self.observations or {}).get("sink")

    @property
    def sinks_written(self) -> list[str]:
        """The sinks this run writes: dual means both jsonl and sqlite."""
        mode = self.sink_mode
        if mode == "dual":
            return ["jsonl", "sqlite"]
        return [mode] if mode else []

    # -- daily reports -------------------------------------------------------------------
    @cached_property
    def reports(self) -> dict[str, Report]:
        out: dict[str, Report] = {}
        base = self.run_dir / "reports"
        for sink in self.sinks_written or sorted(p.name for p in base.glob("*") if p.is_dir()):
            jsons = sorted((base / sink).glob("summary_*.json"))
            if not jsons:
                out[sink] = Report(sink, FileState(f"reports/{sink}/summary_*.json", "missing"),
                                   None, None)
                continue
            newest = jsons[-1]
            rel = newest.relative_to(self.run_dir).as_posix()
            md = newest.with_suffix(".md")
            out[sink] = Report(sink, validate_file(self.run_dir, rel, "daily_report"),
                               md.relative_to(self.run_dir).as_posix() if md.exists() else None,
                               md.read_text(encoding="utf-8") if md.exists() else None)
        return out

    # -- harness samples -----------------------------------------------------------------
    def samples(self, section: str) -> list[dict]:
        """The JSONL samples file named by observations[section]['samples_file']."""
        rel = ((self.observations or {}).get(section) or {}).get("samples_file")
        if not rel:
            return []
        return read_jsonl(self.run_dir / rel)[0]

    def jsonl(self, rel: str) -> tuple[list[dict], int]:
        return read_jsonl(self.run_dir / rel)

    # -- fault history -------------------------------------------------------------------
    @property
    def faults(self) -> list[dict]:
        return list((self.observations or {}).get("faults") or [])

    def windows(self, excusing: tuple[str, str] | None = None,
                confirmed_only: bool = False) -> list[Window]:
        """Fault windows in event time (a point fault such as a kill is a zero-width window);
        `excusing=(category, name)`: only faults that expect or tolerate that name."""
        out = []
        for fault in self.faults:
            if excusing and not excuses(fault, *excusing):
                continue
            if confirmed_only and not fault.get("effect_confirmed"):
                continue
            start, end = fault.get("start_event_ms"), fault.get("end_event_ms")
            if start is None:
                continue
            out.append(Window(int(start), int(end if end is not None else start), fault))
        return out

    # -- readers from the `evidence` package (lazy: imported only when a check needs them) --
    @cached_property
    def sink_rows(self) -> dict[str, Any]:
        """Per sink, its rows as read by pytest_soak_evidence.sinks (or the exception that
        stopped it)."""
        from pytest_soak_evidence import sinks
        readers = {"jsonl": (sinks.jsonl_path, sinks.read_jsonl_signals),
                   "sqlite": (sinks.sqlite_path, sinks.read_sqlite_signals)}
        out: dict[str, Any] = {}
        for sink in self.sinks_written:
            path_of, reader = readers[sink]
            try:
                out[sink] = reader(path_of(self.run_dir)).rows
            except Exception as exc:  # noqa: BLE001 -- reported as the check's reason
                out[sink] = exc
        return out

    @cached_property
    def parity_recomputed(self) -> Any:
        """pytest_soak_evidence.parity recomputed from the sinks themselves (or the exception)."""
        try:
            from pytest_soak_evidence import parity
            return parity.compute_parity(self.run_dir)
        except Exception as exc:  # noqa: BLE001
            return exc

    @cached_property
    def outbox(self) -> Any:
        """pytest_soak_evidence.outbox's reading of outbox/ready, every event validated against
        executor_contract_v1 (schemas.violations_many: compiled, ~0.2 s for the ~100 000
        events of a real-rate soak), or the exception that stopped it."""
        try:
            from pytest_soak_evidence import outbox
            from pytest_soak_evidence.schemas import violations_many
            scan = outbox.scan_ready(self.run_dir / "outbox", validate=False)
            for index, errors in violations_many(scan.events, outbox.CONTRACT_KIND):
                event = scan.events[index]
                scan.invalid.append(outbox.BadLine(
                    f"event #{index + 1} ({event.get('client_order_id')})", 0, errors))
            return scan
        except Exception as exc:  # noqa: BLE001
            return exc
