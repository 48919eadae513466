"""Retry schedule: 200 ms doubling per failure, capped at one hour, never giving up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 0.2
    factor: float = 2.0
    cap_s: float = 3600.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1-based)."""
        if failures <= 0:
            return 0.0
        exponent = min(failures - 1, 64)  # 0.2 * 2**64 is far past the cap already
        return min(self.cap_s, self.initial_s * self.factor ** exponent)
