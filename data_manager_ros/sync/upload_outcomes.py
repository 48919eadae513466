"""What becomes of a file after an upload attempt: uploaded (counted and announced once,
then deleted here, or kept and its delete retried where it cannot be), backed off with its
reason, or refused for good and moved to ``failed/``. Every path ends the job in the queue,
and none raises: this is how each attempt ends."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable

from data_manager_ros.backoff import Backoff
from data_manager_ros.fsutil import printable
from data_manager_ros.layout import failed_path, reason_path
from data_manager_ros.sync.journal import Journal, JournalEntry
from data_manager_ros.sync.upload_queue import Job, UploadQueue
from data_manager_ros.wire import Logger, UploadStats


class Outcomes:
    def __init__(self, queue: UploadQueue, journal: Journal, log: Logger, stats: UploadStats,
                 backoff: Backoff, clock: Callable[[], float],
                 on_uploaded: Callable[[str, int, str], None]) -> None:
        self.queue = queue
        self.journal = journal
        self.stats = stats
        self._log = log
        self._backoff = backoff
        self._clock = clock
        self._on_uploaded = on_uploaded

    def retry(self, job: Job, reason: str, restart: bool = False,
               retry_after_s: float = 0.0, quiet: bool = False) -> None:
        """Back off; with ``restart`` the next attempt starts a new upload from byte 0. The
        server's Retry-After is honoured, up to the backoff cap. ``quiet``: the caller said
        it once already. Never raises: it is how every failure ends."""
        job.failures += 1
        job.last_error = reason
        # an attempt that found progress is followed by one at once: the link works
        backoff = 0.0 if job.advanced else self._backoff.delay(job.failures)
        job.advanced = False
        delay = max(backoff, min(retry_after_s, self._backoff.cap_s))
        job.next_try = self._clock() + delay
        self.stats.failures += 1
        try:
            entry = self.journal.get(job.file.path)
            if entry is not None:
                entry.failures, entry.last_error = job.failures, reason
                if restart:
                    entry.upload_url = ""
                self.journal.put(entry)
        except (OSError, sqlite3.Error) as error:
            reason += f"; its journal entry cannot be written ({error}), kept in memory"
        if not quiet:
            self._log.warning(f"upload of {job.file.path} failed ({reason}); "
                              f"try {job.failures + 1} in {delay:.1f} s")
        self.queue.give_back(job)

    def finish(self, job: Job, message: str = "", uploaded: bool = False) -> None:
        if message:
            self._log.warning(message)
        try:
            self.journal.remove(job.file.path)
        except sqlite3.Error as error:  # a row of a file that is gone: dropped at next start
            self._log.warning(f"{printable(job.file.path)}: its journal entry cannot be "
                              f"removed ({error}); it is dropped when the uploader restarts")
        self.queue.done(job, uploaded)

    def confirmed(self, job: Job, entry: JournalEntry) -> None:
        """The far side holds every byte: counted and announced once, then deleted here."""
        path, size = job.file.path, entry.size
        job.uploaded = True
        self.stats.uploaded_files += 1
        self.stats.uploaded_bytes += size
        self.stats.last_success = time.time()
        self._log.info(f"uploaded {job.file.relative_path} ({size} bytes)")
        self._on_uploaded(path, size, entry.upload_url)
        self.remove_local(job)

    def remove_local(self, job: Job) -> None:
        """Delete an uploaded file. One that cannot be deleted (a read-only mount, no
        permission) is reported once and kept; deleting it is retried with backoff, and it
        is never uploaded again."""
        path = job.file.path
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as error:
            reason = f"uploaded, but it cannot be deleted here: {error.strerror}"
            if job.last_error != reason:
                self._log.warning(f"{printable(path)}: {reason}; kept, and deleting it is "
                                  "retried with backoff (it is not uploaded again)")
            self.retry(job, reason, quiet=True)
            return
        self._log.debug(f"deleted {printable(path)} locally")
        directory = os.path.dirname(path)
        if job.file.is_bag_file and os.path.realpath(directory) != os.path.realpath(job.file.root):
            try:
                os.rmdir(directory)  # only succeeds once the bag's last file is gone
            except OSError:
                pass
        self.finish(job, uploaded=True)

    def move_to_failed(self, job: Job, reason: str) -> None:
        target = failed_path(job.file.root, job.file.relative_path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.move(job.file.path, target)
        with open(reason_path(target), "w", encoding="utf-8") as handle:
            handle.write(reason + "\n")
        self.stats.failed_files += 1
        self._log.error(f"upload of {job.file.path} refused for good ({reason}); "
                        f"kept in {target}")
        self.finish(job)
