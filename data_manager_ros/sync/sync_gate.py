"""When scheduled uploads may run: inside a sync window, and while the condition topic says so.

Windows are local wall-clock times (``"22:00-06:00"`` crosses midnight); none
means always. The condition is the last std_msgs/Bool on ``sync_condition_topic``
(the node forwards it), like Viam's selective sync sensor; with a topic
configured, nothing is uploaded until it first says true. ``~/sync`` overrides
both for the files its sweep finds. Uploads already running when the gate
closes are finished.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from data_manager_ros.config.settings import window_minutes


class SyncGate:
    def __init__(self, windows: tuple[str, ...] = (), has_condition: bool = False,
                 now: Callable[[], datetime] = datetime.now) -> None:
        self.now = now
        self.condition: bool | None = None  # None: no condition topic
        self.configure(windows, has_condition)

    def configure(self, windows: tuple[str, ...], has_condition: bool) -> None:
        self._windows = [window_minutes(w) for w in windows]
        self._labels = windows
        if not has_condition:
            self.condition = None
        elif self.condition is None:
            self.condition = False  # closed until the topic first says true

    def in_window(self) -> bool:
        if not self._windows:
            return True
        now = self.now()
        minute = now.hour * 60 + now.minute
        return any(start <= minute < end if start < end else minute >= start or minute < end
                   for start, end in self._windows)

    def closed_because(self) -> str:
        """Why scheduled uploads wait now, or "" when they may run."""
        if not self.in_window():
            return f"outside sync_windows {', '.join(self._labels)}"
        if self.condition is False:
            return "sync_condition_topic says false"
        return ""
