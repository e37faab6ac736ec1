"""D3's promtool cross-check: the shipped Prometheus rules (fixtures/prometheus), run by
`promtool test rules` over the per-minute inputs the harness rebuilt itself
(checks/promtool_series.py), must fire and resolve where the pipeline's alert engine did
(run_manifest.alerts).

An expression test at EVERY minute (not only where the engine's state changes): promtool then
reports each minute where Prometheus's firing set differs from the engine's, and from those
reports the harness reconstructs Prometheus's own firings minute by minute -- a firing the
engine never had is found wherever it happens, not only next to the engine's transitions.
The expectation is a `promql_expr_test` on `ALERTS{alertstate="firing"}` (by rule) rather
than an `alert_rule_test`: the latter also compares the annotations, templated from values
(`{{ $value | humanizePercentage }}`) the harness would have to render as Prometheus does.

Tolerance: one evaluation step of the rules' group (1 m) on each firing's start and end.
The sink-derived rules agree minute-exactly by construction (the rules' `for:` equals
hold_minutes - 1 step, `keep_firing_for` resolve_minutes - 1), but two inputs are read by the
engine at a wall-clock moment the harness can only place to within a minute: harvest's
queue_dropped (read at the minute's close through a status cache) and signals arriving after
their minute closed (late records, in the sinks but not in the engine's minute). A firing
with no counterpart within that step, on either side, fails naming the rule, the minute and
both values (the engine's recorded one and the harness's rebuilt one). export_failing is not
cross-checked (promtool_series.py says why); without promtool the sub-check is unknown.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pytest_soak.checks._common import to_ms
from pytest_soak.checks.alert_windows import MINUTE_MS, PIPELINE_CONFIG, Timing, declared_report
from pytest_soak.checks.promtool_series import (
    CROSSCHECKED,
    RULES_FILE,
    InputError,
    Inputs,
    ShippedRules,
    duration_ms,
    promtool_test_file,
    rebuild,
)
from pytest_soak.evidence_loader import MANIFEST, RunEvidence
from pytest_soak.verdict import ItemResult, failed, passed, unknown
from pytest_soak_evidence.atomic import write_bytes_atomic

NAME = "promtool cross-check"
FOLDER = "harness/promtool"
TEST_FILE = f"{FOLDER}/alerts_crosscheck.test.yml"
OUTPUT_FILE = f"{FOLDER}/promtool.out"
RULES_COPY = f"{FOLDER}/{RULES_FILE.name}"        # the rules judged, as they were
EVIDENCE = [MANIFEST, PIPELINE_CONFIG, TEST_FILE, RULES_COPY, OUTPUT_FILE]
FAILURE = re.compile(r"time: (\S+?),\s*\n\s*exp: (.*)\n\s*got: (.*)")
# what each rule's condition reads, in the engine's alert details and in the rebuilt inputs
DETAIL = {"no_data": "total", "low_consistency": "low_consistency_share",
          "strong_ratio_collapse": "strong_ratio", "data_drop": "increase"}


@dataclass(frozen=True)
class Firing:
    """One alert's firing, in evaluation indices: firing at evaluations start..end-1 (end is
    one past the range when it still fired at the last evaluated minute)."""

    rule: str
    start: int
    end: int


def _engine_firing(alerts: list[dict], inputs: Inputs) -> list[list[str]]:
    """The rules the engine had firing at each evaluated minute's end."""
    out: list[list[str]] = [[] for _ in range(inputs.minutes)]
    for alert in alerts:
        rule = str(alert.get("rule"))
        fired = alert.get("fired_at_ms", to_ms(alert.get("fired_at")))
        resolved = alert.get("resolved_at_ms", to_ms(alert.get("resolved_at")))
        if rule not in CROSSCHECKED or fired is None:
            continue
        for k in range(inputs.minutes):
            if fired <= inputs.end_ms(k) and (resolved is None or inputs.end_ms(k) < resolved):
                out[k].append(rule)
    return out


def firings(per_minute: list[list[str]]) -> list[Firing]:
    """Each rule's runs of consecutive firing evaluations, as Firings."""
    out, open_at = [], {}
    for k, rules in enumerate([*per_minute, []]):
        for rule in CROSSCHECKED:
            if rule in rules and rule not in open_at:
                open_at[rule] = k
            elif rule not in rules and rule in open_at:
                out.append(Firing(rule, open_at.pop(rule), k))
    return out


def tolerance(step_ms: int, timing: Timing | None) -> dict[str, int]:
    """Evaluations a firing's start and end may differ by: one step; for data_drop also the
    report's declared lateness budget (D3's `late`), rounded up to steps."""
    step = max(1, step_ms // MINUTE_MS)
    late = -(-timing.late_ms // step_ms) if timing else 0
    return {rule: step + (late if rule == "data_drop" else 0) for rule in CROSSCHECKED}


def unmatched(mine: list[Firing], theirs: list[Firing], tol: dict[str, int]) -> list[Firing]:
    """Firings of `mine` with no firing of `theirs` of the same rule starting and ending
    within the rule's tolerance of it (each of theirs answers for one of mine at most)."""
    left, out = list(theirs), []
    for f in mine:
        near = tol[f.rule]
        twin = next((o for o in left if o.rule == f.rule and abs(o.start - f.start) <= near
                     and abs(o.end - f.end) <= near), None)
        if twin is None:
            out.append(f)
        else:
            left.remove(twin)
    return out


def _write(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), durable=False)


def _attach(run: RunEvidence, text: str, rules: ShippedRules) -> tuple[Path, str]:
    """Write the test and the rules it runs (beside it, so a reviewer reruns exactly this
    judgement) into the run folder; into a temporary folder when that is read-only (a
    downloaded artefact judged again), saying so."""
    for folder in (run.run_dir / FOLDER, None):
        try:
            folder = folder or Path(tempfile.mkdtemp(prefix="soak-promtool-"))
            folder.mkdir(parents=True, exist_ok=True)
            _write(folder / rules.path.name, rules.path.read_text(encoding="utf-8"))
            _write(folder / Path(TEST_FILE).name, text)
            return folder, "" if folder == run.run_dir / FOLDER else \
                f" (the run folder is not writable: test file in {folder})"
        except OSError:
            continue
    raise OSError("no writable folder for the promtool test file")


# promtool's answers by (promtool, test text, rules text): promtool is deterministic, and a
# process judging many copies of one run (the mutation catalogue) asks it the same question
_ANSWERS: dict[tuple[str, str], subprocess.CompletedProcess] = {}


def _run_promtool(folder: Path, text: str, rules: ShippedRules
                  ) -> tuple[subprocess.CompletedProcess | None, str]:
    exe = shutil.which("promtool")
    if exe is None:
        return None, "promtool is not installed (Debian: apt-get install prometheus)"
    key = (exe, hashlib.sha256((text + rules.path.read_text(encoding="utf-8")).encode())
           .hexdigest())
    done = _ANSWERS.get(key)
    if done is None:
        try:
            done = subprocess.run([exe, "test", "rules", Path(TEST_FILE).name], cwd=folder,
                                  capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"promtool did not run: {type(exc).__name__}: {exc}"
        if len(_ANSWERS) > 64:
            _ANSWERS.clear()
        _ANSWERS[key] = done
    try:
        _write(folder / Path(OUTPUT_FILE).name, done.stdout + done.stderr)
    except OSError:
        pass        # the verdict stands on the output in hand; the copy is a convenience
    return done, ""


def prometheus_firing(done: subprocess.CompletedProcess, expected: list[list[str]]
                      ) -> tuple[list[list[str]] | None, str]:
    """Prometheus's firing set per minute: the expected one, except where promtool reported
    what it got instead; None (with why) when promtool failed in some other way."""
    output = done.stdout + done.stderr
    got = [list(rules) for rules in expected]
    reports = FAILURE.findall(output)
    for when, _exp, seen in reports:
        k = duration_ms(when) // 60_000 - 1
        if not 0 <= k < len(got):
            return None, f"promtool reported an evaluation at {when}, outside the series"
        got[k] = re.findall(r'rule="([^"]+)"', seen)
    if done.returncode != 0 and not reports:
        return None, f"promtool test rules exited {done.returncode}: {output.strip()[:300]}"
    return got, ""


def _steps(tol: dict[str, int]) -> str:
    common = min(tol.values())
    wider = ", ".join(f"{r} {n}" for r, n in tol.items() if n != common)
    return f"{common} evaluation step(s)" + (f" ({wider})" if wider else "")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _rebuilt_value(inputs: Inputs, rule: str, k: int) -> str:
    total, strong, low = inputs.totals(k)
    if rule == "no_data":
        return f"total {total}"
    if rule == "low_consistency":
        return f"low_consistency_share {low / total:.4f} ({low}/{total})" if total else \
            "no signal (share undefined)"
    if rule == "strong_ratio_collapse":
        median, n = inputs.baseline[k]
        ratio = f"{strong / total:.4f}" if total else "undefined"
        return f"strong_ratio {ratio} (total {total}), baseline median {median:.4f} of {n} min"
    before = inputs.queue_dropped[k - 1] if k else 0
    return f"queue_dropped increase {inputs.queue_dropped[k] - before}"


def _engine_value(alerts: list[dict], rule: str, at_ms: int) -> str:
    record = next((a for a in alerts if a.get("rule") == rule
                   and a.get("fired_at_ms") == at_ms), None)
    if record is None:
        return "no alert"
    value = (record.get("details") or {}).get(DETAIL[rule])
    return f"{DETAIL[rule]} {value}"


def _describe(f: Firing, by: str, other: str, inputs: Inputs, alerts: list[dict], tol: int
              ) -> str:
    at = inputs.end_ms(f.start)
    until = "still firing at the last minute" if f.end >= inputs.minutes else \
        f"resolved {_iso(inputs.end_ms(f.end))}"
    return (f"{f.rule}: {by} fired at {_iso(at)} (the end of market minute "
            f"{_iso(at - MINUTE_MS)}, promtool eval {f.start + 1}m; {until}), {other} did "
            f"not within {tol} evaluation step(s); engine: "
            f"{_engine_value(alerts, f.rule, at)}, harness: "
            f"{_rebuilt_value(inputs, f.rule, f.start)}")


def _verdict(expected: list[list[str]], got: list[list[str]], inputs: Inputs,
             alerts: list[dict], tol: dict[str, int], scope: str) -> ItemResult:
    engine, prom = firings(expected), firings(got)
    wrong = [_describe(f, "the engine", "Prometheus", inputs, alerts, tol[f.rule])
             for f in unmatched(engine, prom, tol)]
    wrong += [_describe(f, "Prometheus", "the engine", inputs, alerts, tol[f.rule])
              for f in unmatched(prom, engine, tol)]
    if wrong:
        return failed(NAME, f"{len(wrong)} firing(s) without a counterpart: "
                      + "; ".join(wrong[:4]) + f" ({scope})", len(wrong), 0, EVIDENCE)
    exact = len(set(engine) & set(prom))
    return passed(NAME, f"the shipped rules fired as the engine did: {len(engine)} firing(s) "
                  f"matched, {exact} minute-exactly, the rest within {_steps(tol)} ({scope})",
                  0, 0, EVIDENCE)


def check_crosscheck(run: RunEvidence, timing: Timing | None) -> ItemResult:
    """The sub-check: rebuild, attach, run promtool, pair the firings (module docstring)."""
    alerts = (run.manifest or {}).get("alerts")
    report, why = declared_report(run)
    if not isinstance(alerts, list) or report is None:
        return unknown(NAME, why or "run_manifest.alerts is absent", evidence=EVIDENCE)
    try:
        inputs = rebuild(run, report)
    except InputError as exc:
        return unknown(NAME, f"the rules' inputs cannot be rebuilt: {exc}", evidence=EVIDENCE)
    rules = ShippedRules.load()
    expected = _engine_firing(alerts, inputs)
    text = promtool_test_file(inputs, run.run_id, rules.path.name, expected)
    try:
        folder, elsewhere = _attach(run, text, rules)
    except OSError as exc:
        return unknown(NAME, f"the test file could not be written: {exc}", evidence=EVIDENCE)
    done, why = _run_promtool(folder, text, rules)
    got, why = prometheus_firing(done, expected) if done is not None else (None, why)
    if got is None:
        return unknown(NAME, why + elsewhere, evidence=EVIDENCE)
    scope = (f"{inputs.minutes} minutes from {_iso(inputs.origin_ms)}, rules "
             f"{', '.join(CROSSCHECKED)} (export_failing not rebuilt); rerun: {TEST_FILE}"
             f"{elsewhere}")
    return _verdict(expected, got, inputs, alerts, tolerance(rules.step_ms, timing), scope)
