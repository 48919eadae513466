"""The files waiting for upload, each with its own failure count and next try, so a file in
backoff holds no worker and a few bad files never stall the rest. Workers block here for the
next due file; the clock is injected, so the schedule is tested without waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from data_manager_ros.sync.scanner import SyncFile
from data_manager_ros.sync.upload_metadata import UploadPolicy, upload_class

# files up to this size go first on the small-file lane
SMALL_FILE_BYTES = 8 << 20
# how many uploaded paths are remembered, so that a sweep that listed a file just before its
# upload finished does not queue it again (and report it vanished)
RECENT_UPLOADS = 4096


@dataclass
class Job:
    file: SyncFile
    failures: int = 0
    next_try: float = 0.0
    last_error: str = ""
    confirmed: int = 0  # the highest offset the far side confirmed
    advanced: bool = False  # this attempt found the far side holding more than before
    forced: bool = False  # found by ~/sync: goes past a closed gate
    uploaded: bool = False  # the far side confirmed it all; only the local delete is left
    superseded: list[str] = field(default_factory=list)  # upload URLs it could not remove


class UploadQueue:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.policy = UploadPolicy()  # the order: priority class, then age
        self.gate: Callable[[], str] = lambda: ""  # why uploads wait now, or ""
        self._cond = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._busy: set[str] = set()
        self._recent: dict[str, None] = {}  # paths uploaded and deleted lately, oldest first
        self._closed = False

    def add(self, files: Iterable[SyncFile], failures: Callable[[list[SyncFile]], dict[str, int]],
            forced: bool = False) -> int:
        """Queue files not yet known; returns how many were new. ``failures`` gives the
        failure counts a journal kept for new ones (asked outside the lock: no disk I/O
        under it, pending() runs on the executor). ``forced`` files pass a closed gate."""
        files = [f for f in files if f.path not in self._recent]
        known = failures([f for f in files if f.path not in self._jobs])
        added = 0
        with self._cond:
            for file in files:
                job = self._jobs.get(file.path)
                if job is None:
                    job = self._jobs[file.path] = Job(file, failures=known.get(file.path, 0))
                    added += 1
                job.forced = job.forced or forced
            self._cond.notify_all()
        return added

    def pending(self) -> list[tuple[SyncFile, int, str]]:
        """(file, failures, last error) of every queued file."""
        with self._cond:
            return [(j.file, j.failures, j.last_error) for j in self._jobs.values()]

    def give_back(self, job: Job) -> None:
        """A job taken by a worker is queued again (at its ``next_try``)."""
        with self._cond:
            self._busy.discard(job.file.path)
            self._cond.notify_all()

    def done(self, job: Job, uploaded: bool) -> None:
        """The job leaves the queue; an uploaded path is remembered (see RECENT_UPLOADS)."""
        path = job.file.path
        with self._cond:
            self._busy.discard(path)
            self._jobs.pop(path, None)
            if uploaded:
                self._recent[path] = None
                if len(self._recent) > RECENT_UPLOADS:
                    del self._recent[next(iter(self._recent))]

    def wake(self) -> None:
        """Have the workers look again (the gate may have opened)."""
        with self._cond:
            self._cond.notify_all()

    def _rank(self, job: Job) -> tuple[int, int, str]:
        """Priority class first, then age (newest or oldest first), by the policy."""
        file, policy = job.file, self.policy
        age = -file.mtime_ns if policy.newest_first else file.mtime_ns
        return policy.priority.index(upload_class(file)), age, file.path

    def take_due(self, small_first: bool = False) -> Job | None:
        """The first due job by rank, now, or None; with ``small_first`` the first small file
        (up to ``SMALL_FILE_BYTES``) if one is due: the small-file lane. Past a closed gate
        only forced jobs are due."""
        with self._cond:
            now = self.clock()
            closed = bool(self.gate())
            due = [job for path, job in self._jobs.items() if job.next_try <= now
                   and path not in self._busy and (job.forced or not closed)]
            if not due:
                return None
            small = [job for job in due if job.file.size <= SMALL_FILE_BYTES] \
                if small_first else []
            job = min(small or due, key=self._rank)
            self._busy.add(job.file.path)
            return job

    def next_job(self, small_first: bool) -> Job | None:
        """Block until a job is due (the worker's wait); None once the queue is closed."""
        with self._cond:
            while not self._closed:
                job = self.take_due(small_first)  # the condition's lock is re-entrant
                if job is not None:
                    return job
                due = self.next_due()
                wait = 1.0 if due is None else max(0.0, due - self.clock())
                self._cond.wait(min(wait, 1.0))
            return None

    def open(self) -> None:
        with self._cond:
            self._closed = False

    def close(self) -> None:
        """Workers waiting in next_job return None; queued jobs stay for the next open."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def retry_all_now(self) -> None:
        """A new destination: failures against the old one say nothing of it, so every
        waiting file is due at once with a fresh backoff."""
        with self._cond:
            now = self.clock()
            for job in self._jobs.values():
                job.failures, job.next_try = 0, now
            self._cond.notify_all()

    def next_due(self) -> float | None:
        with self._cond:
            return min((job.next_try for path, job in self._jobs.items()
                        if path not in self._busy), default=None)
