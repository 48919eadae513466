"""One upload bandwidth limit shared by every worker.

A limit per upload would let N workers take N times the link; this paces every block of
every upload against one schedule, so the sum stays at the limit.
"""

from __future__ import annotations

import threading
import time


class BandwidthLimit:
    def __init__(self, bytes_per_s: int) -> None:
        self.bytes_per_s = bytes_per_s
        self._lock = threading.Lock()
        self._free_at = 0.0  # monotonic time at which the link is free again

    @property
    def block_size(self) -> int:
        """About 1/64 s of the limit: pacing stays smooth, and a small file sent beside a
        large one waits for one such block, not for an eighth of a second each."""
        return max(self.bytes_per_s // 64, 64 << 10)

    def pace(self, count: int) -> None:
        """Wait until ``count`` more bytes fit the limit (no wait without one)."""
        if not self.bytes_per_s:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._free_at)
            self._free_at = start + count / self.bytes_per_s
        if start > now:
            time.sleep(start - now)
