"""Throttled capture keeps the configured rate without drift."""

import random

import pytest

from data_manager_ros.capture.rate_gate import RateGate

SECOND = 1_000_000_000


def admitted(gate: RateGate, times: list[int]) -> list[int]:
    return [t for t in times if gate.admit(t)]


def test_100hz_with_jitter_at_10hz_keeps_10_per_second_for_an_hour():
    rng = random.Random(1)
    times = [i * SECOND // 100 + rng.randint(-2_000_000, 2_000_000) for i in range(100 * 3600)]
    kept = admitted(RateGate(10.0), sorted(times))
    per_second = [0] * 3600
    for t in kept:
        per_second[min(3599, max(0, t // SECOND))] += 1
    assert all(9 <= n <= 11 for n in per_second[1:-1])
    assert abs(len(kept) - 36000) <= 2  # no drift over an hour


def test_gap_does_not_cause_a_burst():
    gate = RateGate(10.0)
    assert admitted(gate, [0, 10 * SECOND, 10 * SECOND + 1, 10 * SECOND + 50_000_000]) == [
        0, 10 * SECOND]


def test_source_slower_than_limit_keeps_everything():
    times = [i * SECOND // 5 for i in range(50)]
    assert admitted(RateGate(10.0), times) == times


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_rejects_frequencies_that_are_not_a_limit(bad):
    with pytest.raises(ValueError, match="positive finite"):
        RateGate(bad)


def test_batched_delivery_keeps_the_configured_rate():
    """An executor busy elsewhere hands over 500 ms of a 1 kHz stream at once."""
    times = [(i // 500) * 500_000_000 + (i % 500) * 10_000 for i in range(1000 * 60)]
    kept = admitted(RateGate(100.0), times)
    assert abs(len(kept) - 6000) <= 60  # within 1%; only the first batch has no grid yet


def test_slow_source_banks_at_most_one_second():
    """5 Hz for a minute under a 10 Hz limit, then 1 kHz: at most 1 s of catch-up."""
    slow = [i * 200_000_000 for i in range(300)]
    fast = [60 * SECOND + i * 1_000_000 for i in range(1000)]
    kept = admitted(RateGate(10.0), slow + fast)
    assert len(kept) - 300 <= 10 + 10
