"""A live run's bookkeeping stays the same size however long it runs: latency percentiles from a fixed histogram,
per-frame labels only when a caller asks for them."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from tests.live.test_live import FakeClassifier, FakeSource
from thumbs.live import loop as live
from thumbs.live.latency import BINS, LatencyHistogram


@pytest.mark.parametrize("seed", range(3))
def test_percentiles_are_within_half_a_percent_of_the_exact_ones(seed):
    rng = np.random.default_rng(seed)
    latencies = np.concatenate([rng.lognormal(np.log(4), 0.3, 5000), rng.lognormal(np.log(40), 0.5, 300),
                                rng.uniform(0.05, 0.4, 200)])  # a usual run, stalls, and a fast GPU's fractions
    hist = LatencyHistogram()
    for ms in rng.permutation(latencies):
        hist.add(float(ms))
    assert hist.count == len(latencies)
    for q in range(101):
        exact = float(np.percentile(latencies, q, method="nearest"))
        assert hist.percentile(q) == pytest.approx(exact, rel=0.005), q


def test_odd_readings_land_in_the_end_bins():
    hist = LatencyHistogram()
    assert hist.percentile(50) == 0.0
    for ms in (0.0, -1.0, float("nan"), 1e12):
        hist.add(ms)
    assert hist.counts[0] == 3 and hist.counts[BINS] == 1 and hist.counts.sum() == 4


def feed(summary: live.LiveSummary, frames: int, rng: np.random.Generator) -> None:
    """The loop's per-frame bookkeeping, without a model or a source."""
    labels = ("up", "down", None)
    for latency, label in zip(rng.lognormal(np.log(5), 0.4, frames), rng.integers(0, 3, frames)):
        summary.add_frame(float(latency), labels[label], (0.001, 0.002, 0.005, 0.001))


def test_100k_frames_of_bookkeeping_keep_memory_flat():
    rng = np.random.default_rng(0)
    summary = live.LiveSummary(provider="CPU")
    tracemalloc.start()
    try:
        feed(summary, 1_000, rng)
        after_1k = tracemalloc.get_traced_memory()[0]
        feed(summary, 99_000, rng)
        after_100k = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert summary.frames == summary.latency.count == 100_000 and summary.labels is None
    assert after_100k - after_1k < 16_000, f"grew {after_100k - after_1k} bytes over 99k frames"
    assert 4.5 < summary.percentile(50) < 5.5 and summary.percentile(95) > summary.percentile(50)
    assert summary.stage_ms["inference"] == pytest.approx(500_000)


def test_per_frame_labels_only_when_asked():
    summary = live.run(FakeSource(7), FakeClassifier(), live.LiveOptions(headless=True))
    assert summary.frames == 7 and summary.labels is None and summary.percentile(50) == pytest.approx(0.5, 0.005)
    summary = live.run(FakeSource(7), FakeClassifier(), live.LiveOptions(headless=True, keep_labels=True))
    assert summary.labels == ["up"] * 7


def test_one_frame_rate_average_for_live_and_the_studio():
    from thumbs.live.latency import frame_rate

    assert frame_rate(None, 0.1) == pytest.approx(10)  # the first interval alone
    assert frame_rate(10, 0.05) == pytest.approx(0.9 * 10 + 0.1 * 20)
    rate = None
    for _ in range(80):
        rate = frame_rate(rate, 0.04)
    assert rate == pytest.approx(25) and frame_rate(None, 0) == pytest.approx(1e6)  # no division by zero
