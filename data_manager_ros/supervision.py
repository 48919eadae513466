"""One way every long-lived thread meets an exception nobody expected.

The sync workers, the sweeper, the status reporter and the capture writer each
loop over steps (an upload, a sweep, a report, a batch of messages). A step may
hit a bug or an answer no handler foresaw; the thread must outlive it and the
operator must see it. ``Supervisor.failed`` logs the failure once with its
traceback, counts it, and keeps it as that thread's fault, shown as ERROR in
/diagnostics and ``data_manager_status`` until a step of the same thread
succeeds again. The step's owner puts its work item back (a file with backoff,
the next sweep, the next report, a new bag after a pause).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable

from data_manager_ros.wire import Logger


class Supervisor:
    def __init__(self, log: Logger) -> None:
        self._log = log
        self._lock = threading.Lock()
        self._faults: dict[str, str] = {}
        self.count = 0

    def failed(self, thread: str, error: BaseException, consequence: str) -> str:
        """Call from the ``except`` block; returns the reason as status shows it."""
        reason = f"unexpected {type(error).__name__}: {error}"
        with self._lock:
            self.count += 1
            self._faults[thread] = reason
        self._log.error(f"{thread}: {reason}; {consequence}\n"
                        f"{traceback.format_exc().rstrip()}")
        return reason

    def step(self, thread: str, work: Callable[[], object], consequence: str,
             on_failure: Callable[[str], None] = lambda reason: None) -> bool:
        """Run one step of ``thread``: whatever it raises is reported (``failed``) and handed to
        ``on_failure`` (which puts the work back), never out of the thread; a step that returns
        clears the thread's fault. Returns whether the step succeeded."""
        try:
            work()
        except Exception as error:  # noqa: BLE001 - the thread must outlive any one step
            on_failure(self.failed(thread, error, consequence))
            return False
        self.succeeded(thread)
        return True

    def succeeded(self, thread: str) -> None:
        if thread in self._faults:
            with self._lock:
                self._faults.pop(thread, None)

    def faults(self) -> dict[str, str]:
        with self._lock:
            return dict(self._faults)
