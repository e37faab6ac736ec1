"""Leak detection over an RSS series: a Theil-Sen slope after a warm-up window (SPEC §7).

Theil-Sen (the median of all pairwise slopes) shrugs off a GC spike or a restart's dip that
would swing a least-squares fit. The slope is expressed per hour of MARKET time: memory grows
with the work done, and work scales with market time, so a REPLAY run at 30x and a LIVE run
at 1x are held to the same bar.
"""

from __future__ import annotations

from statistics import median


def theil_sen_slope(points: list[tuple[float, float]]) -> float | None:
    """Median pairwise slope dy/dx; None with fewer than two distinct x values."""
    slopes = [(y2 - y1) / (x2 - x1)
              for i, (x1, y1) in enumerate(points) for x2, y2 in points[i + 1:] if x2 != x1]
    return median(slopes) if slopes else None


def leak_figures(series: list[list[float]], start_wall_ms: float, speed: float,
                 warmup_s: float) -> dict | None:
    """Slope (MB per market hour) and end-vs-post-warm-up growth (MB) after the warm-up.

    `series` is [[wall_ms, rss_mb], ...]; `warmup_s` is in market seconds. None when the
    series has nothing after the warm-up.
    """
    cutoff = start_wall_ms + warmup_s / speed * 1000
    kept = [(float(t), float(mb)) for t, mb in series if t >= cutoff]
    if not kept:
        return None
    per_wall_ms = theil_sen_slope(kept)
    per_market_h = None if per_wall_ms is None else per_wall_ms * 3_600_000 / speed
    return {"samples": len(kept), "slope_mb_per_h": per_market_h,
            "span_market_s": (kept[-1][0] - kept[0][0]) / 1000 * speed,
            "growth_mb": kept[-1][1] - kept[0][1], "first_mb": kept[0][1], "last_mb": kept[-1][1]}
