"""The free-space floor of capture_dir, checked by the writer thread at each flush.

Below the floor (``minimum_free_space_bytes`` or ``_fraction`` of the disk, the larger),
``delete_oldest`` first deletes what ``disk_policy`` allows; if the disk is still short,
capture pauses (the caller finalizes its file) until space returns, so a full disk never
leaves a torn file or starves the rest of the robot.
"""

from __future__ import annotations

import shutil
from enum import Enum

from data_manager_ros.capture.disk_policy import delete, deletion_order
from data_manager_ros.config.settings import DiskFullPolicy
from data_manager_ros.wire import Logger


class Change(Enum):
    NONE = 0
    PAUSED = 1
    RESUMED = 2


class DiskGuard:
    def __init__(self, log: Logger) -> None:
        self._log = log
        self.paused = False
        self.reason = ""  # why capture is paused, or ""
        self.deleted = [0, 0]  # files (or bags) and bytes deleted by delete_oldest

    def check(self, capture_dir: str, *, minimum_bytes: int, minimum_fraction: float,
              policy: str, additional_paths: tuple[str, ...], priority: tuple[str, ...],
              open_bag: str | None) -> Change:
        """``open_bag``: the bag being written, never deleted."""
        usage = shutil.disk_usage(capture_dir)
        minimum = max(minimum_bytes, int(usage.total * minimum_fraction))
        if usage.free < minimum and policy == DiskFullPolicy.DELETE_OLDEST:
            self._delete_for_space(capture_dir, minimum - usage.free, minimum,
                                   additional_paths, priority, open_bag)
            usage = shutil.disk_usage(capture_dir)
        if usage.free < minimum and not self.paused:
            self.paused = True
            self.reason = (f"capture paused: {usage.free >> 20} MiB free on {capture_dir!r}, "
                           f"below the minimum of {minimum >> 20} MiB (minimum_free_space_bytes "
                           "/ _fraction); resumes when space returns")
            return Change.PAUSED
        if usage.free >= minimum and self.paused:
            self.paused, self.reason = False, ""
            self._log.info(f"capture resumed: {usage.free >> 20} MiB free on {capture_dir!r}")
            return Change.RESUMED
        return Change.NONE

    def _delete_for_space(self, capture_dir: str, needed: int, minimum: int,
                          additional_paths: tuple[str, ...], priority: tuple[str, ...],
                          open_bag: str | None) -> None:
        """Free ``needed`` bytes from the lowest upload class, oldest first, never a clip nor
        the bag being written."""
        freed = 0
        for item in deletion_order(capture_dir, additional_paths, priority):
            if freed >= needed:
                return
            if item.path == open_bag:
                continue
            delete(item)
            freed += item.bytes
            self.deleted[0] += 1
            self.deleted[1] += item.bytes
            self._log.warning(f"disk_full_policy delete_oldest: deleted {item.path} "
                              f"({item.bytes} bytes, not uploaded) to keep {minimum >> 20} MiB "
                              f"free on {capture_dir!r}")
