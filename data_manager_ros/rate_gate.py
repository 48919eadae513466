"""Admit messages at a target frequency on a fixed time grid.

Deadlines advance by exactly one period per admitted message (not from the
arrival time), so jitter does not accumulate into drift; after a gap the grid
skips ahead instead of bursting to catch up.
"""

from __future__ import annotations

import math


class RateGate:
    __slots__ = ("period_ns", "_next_ns")

    def __init__(self, frequency_hz: float) -> None:
        if not frequency_hz > 0 or math.isinf(frequency_hz):
            raise ValueError(
                f"frequency must be a positive finite number of Hz, got {frequency_hz}")
        self.period_ns = int(1e9 / frequency_hz)
        self._next_ns = 0

    def admit(self, now_ns: int) -> bool:
        if now_ns < self._next_ns:
            return False
        if self._next_ns == 0 or now_ns - self._next_ns >= self.period_ns:
            self._next_ns = now_ns + self.period_ns
        else:
            self._next_ns += self.period_ns
        return True
