"""Medians and tails: every figure the benchmarks report is a median and a p99."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    fraction = rank - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * fraction)


def latency_summary(seconds: Sequence[float]) -> dict[str, Any]:
    """Latencies in milliseconds: median, p99, and how many samples they come from."""
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
        "max_ms": round(max(seconds) * 1000, 3) if seconds else math.nan,
        "samples": len(seconds),
    }


def rate_summary(rates: Sequence[float]) -> dict[str, Any]:
    """Rates (per second) measured many times (rounds or windows): the median, and the p99
    of the slow side, i.e. the rate that 99% of them reached (the 1st percentile)."""
    return {
        "median": round(percentile(rates, 50), 1),
        "p99_low": round(percentile(rates, 1), 1),
        "samples": len(rates),
    }


def window_rates(completions: Sequence[float], start: float, end: float, window: float) -> list[float]:
    """Completions per second in consecutive whole windows of `window` s between start and end."""
    count = int((end - start) // window)
    if count <= 0:
        return []
    buckets = [0] * count
    for moment in completions:
        index = int((moment - start) // window)
        if 0 <= index < count:
            buckets[index] += 1
    return [n / window for n in buckets]


def ratio(numerator: float, denominator: float) -> float:
    if not denominator or math.isnan(numerator) or math.isnan(denominator):
        return math.nan
    return round(numerator / denominator, 3)
