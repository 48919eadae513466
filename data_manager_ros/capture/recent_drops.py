"""Drops of the last seconds, per topic: a WARN that says what is being lost now, and clears
once nothing is (the totals stay in the status's values).

A drop counter only grows, so a status made from it would say WARN for the rest of the run
after one full second of disk stall, and an operator learns to ignore it. Here each topic's
counters are sampled once per diagnostics tick and the status reports what grew within the
window.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

WINDOW_S = 10.0


class RecentDrops:
    def __init__(self, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._samples: dict[str, collections.deque[tuple[float, tuple[int, ...]]]] = {}

    def update(self, topic: str, *totals: int) -> tuple[int, ...]:
        """Each counter's growth within the window, given the topic's totals now."""
        now = self._clock()
        samples = self._samples.setdefault(topic, collections.deque())
        samples.append((now, totals))
        while len(samples) > 1 and samples[1][0] <= now - self.window_s:
            samples.popleft()
        return tuple(total - then for total, then in zip(totals, samples[0][1], strict=True))

    def forget(self, keep: set[str]) -> None:
        """Topics no longer recorded leave no samples behind."""
        for topic in set(self._samples) - keep:
            del self._samples[topic]
