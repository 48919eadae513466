"""Uploads what the queue holds: a file is deleted only after its destination confirmed
every byte (and its digest); terminal refusals move it to ``failed/`` with a reason file;
nothing is ever dropped silently, and no error of one file stops a worker.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable

from data_manager_ros import digest
from data_manager_ros.backoff import Backoff
from data_manager_ros.fsutil import printable
from data_manager_ros.lifecycle import Lifecycle
from data_manager_ros.supervision import Supervisor
from data_manager_ros.sync.destinations import Destination
from data_manager_ros.sync.errors import (
    RetryableError,
    TerminalError,
    UploadGone,
    UploadInterrupted,
)
from data_manager_ros.sync.journal import Journal, JournalEntry
from data_manager_ros.sync.scanner import SyncFile
from data_manager_ros.sync.upload_metadata import UploadPolicy, upload_metadata
from data_manager_ros.sync.upload_outcomes import Outcomes
from data_manager_ros.sync.upload_queue import Job, UploadQueue
from data_manager_ros.wire import Logger, UploadStats

DEFAULT_BACKOFF = Backoff()
SYNC_WORKER = "sync worker"


class Uploader(Lifecycle):
    """Runs the uploads of an UploadQueue: ``workers`` threads, each taking the next due file
    and carrying one attempt of it to an outcome (uploaded and deleted, backed off, moved to
    ``failed/``), every attempt supervised. Restartable: ``close()`` then ``start()``."""

    def __init__(self, destination: Destination, journal: Journal, log: Logger, *,
                 workers: int = 1, policy: UploadPolicy | None = None,
                 backoff: Backoff = DEFAULT_BACKOFF,
                 clock: Callable[[], float] = time.monotonic,
                 supervisor: Supervisor | None = None) -> None:
        self.destination = destination
        self.journal = journal
        self.workers = workers
        self.queue = UploadQueue(clock)
        self.queue.policy = policy or UploadPolicy()
        self._log = log
        self._backoff = backoff
        self._clock = clock
        # hears of every file the far side confirmed: (path, size, its location there)
        self.on_uploaded: Callable[[str, int, str], None] = lambda path, size, location: None
        self._threads: list[threading.Thread] = []
        self.stats = UploadStats(last_progress=time.time())
        self.supervisor = supervisor or Supervisor(log)
        self.outcomes = Outcomes(self.queue, journal, log, self.stats, backoff, clock,
                                 lambda path, size, location: self.on_uploaded(path, size,
                                                                               location))

    @property
    def policy(self) -> UploadPolicy:
        return self.queue.policy

    @policy.setter
    def policy(self, policy: UploadPolicy) -> None:
        """Replaced whole (from the config): labels and order change for the next file."""
        self.queue.policy = policy
        self.queue.wake()

    @property
    def gate(self) -> Callable[[], str]:
        """Why scheduled uploads wait now, or "" (sync windows, the condition topic)."""
        return self.queue.gate

    @gate.setter
    def gate(self, gate: Callable[[], str]) -> None:
        self.queue.gate = gate

    # -- the queue ---------------------------------------------------------------------
    def enqueue(self, files: Iterable[SyncFile], forced: bool = False) -> int:
        """Queue files not yet known; returns how many were new. ``forced`` files go past a
        closed gate (``~/sync``)."""
        return self.queue.add(files, self._known_failures, forced)

    def _known_failures(self, files: list[SyncFile]) -> dict[str, int]:
        return {f.path: e.failures for f in files if (e := self.journal.get(f.path))}

    def pending(self) -> list[tuple[SyncFile, int, str]]:
        return self.queue.pending()

    def wake(self) -> None:
        self.queue.wake()

    def retry_all_now(self) -> None:
        self.queue.retry_all_now()

    def next_due(self) -> float | None:
        return self.queue.next_due()

    # -- running -----------------------------------------------------------------------
    def run_due(self) -> bool:
        """Upload one due file on the calling thread; False when none is due."""
        job = self.queue.take_due()
        if job is None:
            return False
        self._attempt(job)
        return True

    def start(self) -> Uploader:
        """With two workers or more, the first is the small-file lane: a few large files
        never make hundreds of small ones wait for hours."""
        self.queue.open()
        workers = self.workers
        for index in range(workers):
            thread = threading.Thread(target=self._work, args=(index == 0 and workers > 1,),
                                      name=f"sync-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        """Stop the workers; an upload in flight stops at its next block and resumes later."""
        self.queue.close()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _work(self, small_first: bool) -> None:
        while (job := self.queue.next_job(small_first)) is not None:
            self._attempt(job)

    # -- one attempt ----------------------------------------------------------------
    def _entry_for(self, job: Job, size: int, mtime_ns: int) -> JournalEntry:
        """The journal's entry for the file as it is now; one made for the file as it was
        (another size or time) is replaced, its upload discarded, its failures and their
        last reason kept."""
        file = job.file
        entry = self.journal.get(file.path)
        if entry is None or entry.size != size or entry.mtime_ns != mtime_ns:
            if entry is not None:
                self._discard_upload(job)
            entry = JournalEntry(file.path, size, mtime_ns,
                                 digest.of_file(file.path, self.policy.digest),
                                 failures=entry.failures if entry else 0,
                                 last_error=entry.last_error if entry else "")
            self.journal.put(entry)
        return entry

    def _attempt(self, job: Job) -> None:
        """One file's whole step (stat, hash, journal, upload, verify, delete, move to
        failed/) as one supervised unit: whatever escapes the handling below is reported and
        the file goes back with backoff; the worker never dies of it."""
        path = job.file.path
        self.supervisor.step(SYNC_WORKER, lambda: self._process(job),
                             f"the upload of {printable(path)} is retried with backoff",
                             on_failure=lambda reason: self.outcomes.retry(job, reason))
        self.stats.in_flight.pop(path, None)

    def _process(self, job: Job) -> None:
        path = job.file.path
        if job.uploaded:
            self.outcomes.remove_local(job)
            return
        try:
            stat = os.stat(path)
        except FileNotFoundError as error:
            self.outcomes.finish(job, f"{path} vanished before upload ({error.strerror}); "
                                 "dropped from the queue (a sweep queues it again if it "
                                 "comes back)")
            return
        except OSError as error:
            self.outcomes.retry(job, f"cannot stat it: {error.strerror}")
            return
        try:
            entry = self._entry_for(job, stat.st_size, stat.st_mtime_ns)
            sent = [0]
            self.stats.in_flight[path] = (0, entry.size, time.time())

            def on_read(count: int) -> None:
                if self.queue.closed:
                    raise UploadInterrupted(f"{path}: uploader stopping")
                sent[0] += count
                self.stats.sent_bytes += count
                self.stats.last_progress = now = time.time()
                self.stats.in_flight[path] = (sent[0], entry.size, now)

            def on_offset(offset: int) -> None:
                # the far side holds more than ever before: the schedule starts again, so a
                # link cut every few MB does not make a long file wait hours
                if offset > job.confirmed:
                    job.confirmed = offset
                    job.failures = 0
                    job.advanced = True

            self.destination.upload(path, entry, job.file.remote_path,
                                    upload_metadata(job.file, entry, self.policy,
                                                    job.superseded),
                                    self.journal.put, on_read,
                                    on_offset)
            after = os.stat(path)
            if (after.st_size, after.st_mtime_ns) != (entry.size, entry.mtime_ns):
                raise UploadGone(f"{path} changed while it was uploaded")
        except UploadInterrupted:
            self.queue.give_back(job)
        except UploadGone as error:
            self._discard_upload(job)
            self.outcomes.retry(job, str(error), restart=True)
        except RetryableError as error:
            self.outcomes.retry(job, str(error), retry_after_s=error.retry_after_s)
        except OSError as error:
            self.outcomes.retry(job, str(error))
        except sqlite3.Error as error:
            self.outcomes.retry(job, f"its journal entry cannot be written ({error})")
        except TerminalError as error:
            self.outcomes.move_to_failed(job, str(error))
        else:
            self.outcomes.confirmed(job, entry)

    def _discard_upload(self, job: Job) -> None:
        """The upload the journal holds is replaced by a new one: the far side keeps no
        garbage where it can delete it (tus termination); otherwise the next upload's
        metadata names it (``supersedes``), so the far side can tell which one counts."""
        entry = self.journal.get(job.file.path)
        url = entry.upload_url if entry else ""
        if not url:
            return
        try:
            discarded = self.destination.discard(url)
        except (RetryableError, TerminalError, UploadGone) as error:
            self._log.warning(f"{url}: the superseded upload could not be deleted ({error})")
            discarded = False
        if not discarded:
            job.superseded.append(url)
