"""D8 resources: max RSS < 600 MB and max open files < 256, as measured by the harness and as
reported by the manifest, and the two agree; plus no leak (Theil-Sen slope after warm-up).

Agreement: for the run's peak (whole tree) and each pipeline stage present in both, the
manifest's max_rss_mb must lie between what the harness measured before the stop signal and
its overall maximum (shutdown and post-run work included), give or take rss_agreement_pct
(or rss_agreement_floor_mb, whichever is larger): the two sample at different instants and
over different windows, so exact equality is not expected, but a manifest that under- or
over-reports by a factor is caught.
"""

from __future__ import annotations

from pytest_soak.checks._common import interrupted, need, need_manifest
from pytest_soak.checks.leaks import leak_figures
from pytest_soak.checks.thresholds import Thresholds
from pytest_soak.dod.spec import DodItem, SubCheck
from pytest_soak.evidence_loader import MANIFEST, OBSERVATIONS, RunEvidence
from pytest_soak.verdict import ItemResult, combine, failed, passed, unknown

BOTH = [OBSERVATIONS, MANIFEST]


def check_D8(run: RunEvidence, t: Thresholds) -> ItemResult:
    obs, why = need(run, OBSERVATIONS, "D8")
    if why:
        return why
    stop = interrupted(run, "D8")
    if stop:
        return stop
    res = obs["resources"]
    if not res.get("sample_count"):
        return unknown("D8", "the harness took no resource sample", evidence=[OBSERVATIONS])
    usage: dict = {}
    if run.level >= 2:       # the pipeline's own figures are evidence files (contract level 2)
        manifest, why = need_manifest(run, "D8", ("resource_usage",))
        if why:
            return why
        usage = manifest.get("resource_usage")
        if not isinstance(usage, dict):
            return failed("D8", "run_manifest.resource_usage is absent", evidence=[MANIFEST])
    return combine("D8", ITEM.at_level(run.level, [
        ("harness RSS", lambda: _ceiling("harness RSS", res.get("max_rss_mb"), t.max_rss_mb,
                                         OBSERVATIONS)),
        ("harness open files", lambda: _ceiling("harness open files", res.get("max_open_files"),
                                                t.max_open_files, OBSERVATIONS)),
        ("manifest RSS", lambda: _ceiling("manifest RSS", usage.get("max_rss_mb"), t.max_rss_mb,
                                          MANIFEST)),
        ("manifest open files", lambda: _ceiling("manifest open files",
                                                 usage.get("max_open_files"), t.max_open_files,
                                                 MANIFEST)),
        ("RSS agreement", lambda: _agreement(res, usage, t)),
        ("leak", lambda: _leaks(obs, t))]))


def _ceiling(name: str, value: float | None, limit: float, rel: str) -> ItemResult:
    if value is None:
        return unknown(name, f"{rel} gives no {name} figure", None, limit, [rel])
    if value < limit:
        return passed(name, f"{name} max {value} < {limit}", value, limit, [rel])
    return failed(name, f"{name} max {value} >= {limit}", value, limit, [rel])


def _within(seen: tuple[float | None, float | None], claimed: float, t: Thresholds) -> bool:
    """The manifest's figure lies between what the harness saw before the stop signal (the
    window every sampler covers) and its overall maximum (shutdown and post-run work
    included, which a pipeline's sampler may or may not cover), within the tolerance."""
    before_stop, overall = seen
    low = before_stop if before_stop is not None else overall
    high = overall if overall is not None else low
    allowed = max(high * t.rss_agreement_pct / 100, t.rss_agreement_floor_mb)
    above = allowed
    if before_stop is not None and overall is not None and overall > before_stop:
        # the peak came in the shutdown / post-run work, where RSS moves within the harness's
        # sampling interval: the supervisor's own peak (ru_maxrss) was 45 MB above the
        # harness's highest sample in a gate run. Under-reporting stays judged as tightly.
        above = max(high * t.rss_agreement_post_stop_pct / 100, t.rss_agreement_floor_mb)
    return low - allowed <= claimed <= high + above


def _agreement(res: dict, usage: dict, t: Thresholds) -> ItemResult:
    pairs = {"run peak": ((res.get("max_rss_mb_before_stop"), res.get("max_rss_mb")),
                          usage.get("max_rss_mb"))}
    claimed = usage.get("per_process") or {}
    unreported = []
    for stage, mine in (res.get("per_process") or {}).items():
        if stage == "supervisor" or stage.startswith("other"):
            continue  # the harness's tree root may be a wrapper or a shell, not the supervisor
        theirs = claimed.get(stage)
        if isinstance(theirs, dict) and theirs.get("max_rss_mb") is not None:
            pairs[stage] = ((mine.get("max_rss_mb_before_stop"), mine.get("max_rss_mb")),
                            theirs.get("max_rss_mb"))
        elif claimed:
            unreported.append(stage)  # measured by the harness, left out by the manifest
    if unreported:
        return failed("RSS agreement", f"the manifest reports no RSS for stage(s) "
                      f"{unreported} the harness measured", unreported, [], BOTH)
    usable = {k: v for k, v in pairs.items() if v[1] is not None and v[0] != (None, None)}
    if not usable:
        return unknown("RSS agreement", "no RSS figure both measured and reported",
                       evidence=BOTH)
    off = {k: v for k, v in usable.items() if not _within(v[0], v[1], t)}
    threshold = f"{t.rss_agreement_pct} % or {t.rss_agreement_floor_mb} MB"
    shown = {k: {"harness_before_stop": v[0][0], "harness_max": v[0][1], "manifest": v[1]}
             for k, v in usable.items()}
    if off:
        desc = ", ".join(f"{k}: harness {_span(v[0])} MB vs manifest {v[1]:.1f} MB"
                         for k, v in off.items())
        return failed("RSS agreement", f"manifest disagrees with the harness ({desc})",
                      {k: shown[k] for k in off}, threshold, BOTH)
    return passed("RSS agreement", f"manifest agrees with the harness on {len(usable)} "
                  "RSS figure(s)", shown, threshold, BOTH)


def _span(seen: tuple[float | None, float | None]) -> str:
    low, high = seen
    if low is None or high is None or abs(low - high) < 0.05:
        return f"{high if high is not None else low:.1f}"
    return f"{low:.1f}..{high:.1f}"


def _leaks(obs: dict, t: Thresholds) -> list[ItemResult]:
    """One leak verdict per pipeline stage, over its samples from warm-up to the stop signal
    (the shutdown and the post-run finaliser are not steady state)."""
    series = obs["resources"].get("rss_series") or {}
    start = obs["market_clock"].get("start_wall_ms") or obs["pipeline"].get("started_ms")
    stop = obs["pipeline"].get("stop_sent_ms") or float("inf")
    speed = float(obs.get("speed") or 1)
    stages = {k: v for k, v in series.items() if not k.startswith("other")}
    if not stages or start is None:
        return [unknown("leak", "no RSS series to fit a slope on", evidence=[OBSERVATIONS])]
    # a stage the harness saw running but sampled no RSS for is not leak-free: unknown
    unsampled = [unknown("leak", f"no RSS series for {stage}, which the harness saw running",
                         evidence=[OBSERVATIONS], subject=stage)
                 for stage in sorted(set(obs.get("pids") or {}) - set(stages))]
    verdicts = []
    for stage, points in sorted(stages.items()):
        steady = [p for p in points if p[0] <= stop]
        life_start, life = _longest_life(stage, steady, start, obs)
        if _span_ms(life) * speed / 1000 < t.leak_warmup_s + t.leak_min_span_s:
            life_start, life = start, steady   # no life long enough alone: the whole series
        verdicts.append(_leak(stage, life, life_start, speed, t))
    return unsampled + verdicts


def _longest_life(stage: str, points: list, start_ms: float, obs: dict
                  ) -> tuple[float, list]:
    """The samples of the stage's longest-lived process (cut at the harness's own kills) and
    when that life began. A leak is growth within one process: a restarted stage settles at
    its own level (signal's catch-up from the handoff left it 50 MB above its first life in
    a gate run, flat after), which is no growth of either process. A stage whose every life
    is shorter than warm-up + the minimum span is judged over its whole series, as before."""
    cuts = sorted(r["killed_ms"] for r in obs.get("restarts") or []
                  if r.get("stage") == stage and isinstance(r.get("killed_ms"), int | float))
    bounds = [start_ms, *[c for c in cuts if c > start_ms], float("inf")]
    lives = [(lo, [p for p in points if lo <= p[0] < hi])
             for lo, hi in zip(bounds, bounds[1:], strict=False)]
    return max(lives, key=lambda life: _span_ms(life[1]))


def _span_ms(points: list) -> float:
    return points[-1][0] - points[0][0] if len(points) > 1 else 0.0


def _leak(stage: str, points: list, start_ms: float, speed: float, t: Thresholds
          ) -> ItemResult:
    name = "leak"
    fig = leak_figures(points, start_ms, speed, t.leak_warmup_s)
    limit = {"slope_mb_per_h": t.leak_max_mb_per_h, "growth_mb": t.leak_end_tolerance_mb}
    span_s = 0 if fig is None else fig["span_market_s"]
    if fig is None or fig["samples"] < t.leak_min_samples or fig["slope_mb_per_h"] is None \
            or span_s < t.leak_min_span_s:
        got = 0 if fig is None else fig["samples"]
        return unknown(name, f"{got} RSS samples over {span_s:.0f} market s after the "
                       f"{t.leak_warmup_s:.0f} s warm-up (need {t.leak_min_samples} over "
                       f"{t.leak_min_span_s:.0f} s)", got, limit, [OBSERVATIONS],
                       subject=stage)
    value = {"slope_mb_per_h": round(fig["slope_mb_per_h"], 2),
             "growth_mb": round(fig["growth_mb"], 2)}
    if fig["slope_mb_per_h"] > t.leak_max_mb_per_h or fig["growth_mb"] > t.leak_end_tolerance_mb:
        return failed(name, f"{stage} RSS grows {value['slope_mb_per_h']} MB per market hour, "
                      f"{value['growth_mb']} MB since warm-up", value, limit, [OBSERVATIONS],
                      subject=stage)
    return passed(name, f"{stage} RSS flat ({value['slope_mb_per_h']} MB/h)", value, limit,
                  [OBSERVATIONS], subject=stage)


ITEM = DodItem(
    id="D8", name="resources",
    title="memory and open files stay under their ceilings, measured and reported alike",
    description="Max RSS and open files measured by the harness (psutil) and reported by the "
                "manifest stay under the ceilings and agree; RSS shows no leak after warm-up.",
    subchecks=(SubCheck("harness RSS", "max", level=0),
               SubCheck("harness open files", "max", level=0),
               SubCheck("manifest RSS", "max"), SubCheck("manifest open files", "max"),
               SubCheck("RSS agreement"), SubCheck("leak", "max", per="stage", level=0)),
    check=check_D8, evidence=tuple(BOTH), plots=("rss.png",))
