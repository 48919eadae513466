"""Admit messages at a target frequency on a fixed time grid.

Deadlines advance by exactly one period per admitted message (not from the
arrival time), so jitter does not accumulate into drift. An executor that is
busy elsewhere hands over messages in batches with nearly equal receive times;
the grid catches up through such a batch so the rate holds, but never trails
the clock by more than ``MAX_LAG_NS`` (a slow source must not bank a burst for
later). After a real pause (``RESTART_AFTER_NS``, e.g. a publisher that
stopped) the grid restarts from now.
"""

from __future__ import annotations

import math

MAX_LAG_NS = 250_000_000
RESTART_AFTER_NS = 1_000_000_000


class RateGate:
    __slots__ = ("period_ns", "_next_ns", "_restart_after_ns", "_max_lag_ns")

    def __init__(self, frequency_hz: float) -> None:
        if not frequency_hz > 0 or math.isinf(frequency_hz):
            raise ValueError(
                f"frequency must be a positive finite number of Hz, got {frequency_hz}")
        self.period_ns = int(1e9 / frequency_hz)
        self._next_ns = 0
        self._restart_after_ns = max(RESTART_AFTER_NS, self.period_ns)
        self._max_lag_ns = max(MAX_LAG_NS, self.period_ns)

    def admit(self, now_ns: int) -> bool:
        if now_ns < self._next_ns:
            return False
        if self._next_ns == 0 or now_ns - self._next_ns >= self._restart_after_ns:
            self._next_ns = now_ns + self.period_ns
        else:
            self._next_ns = max(self._next_ns, now_ns - self._max_lag_ns) + self.period_ns
        return True
