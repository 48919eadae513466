"""Schedules uploads: workers take the next due file; a file in backoff holds no worker.

Each file is a job with its own failure count and next try time in one heap,
so a few bad files never stall the rest. A file is deleted only after its
destination confirmed every byte (and the sha256); terminal refusals move it to
``failed/`` with a reason file; nothing is ever dropped silently.
"""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import yaml
from mcap.reader import make_reader

from data_manager_ros.backoff import Backoff
from data_manager_ros.config.settings import UPLOAD_CLASSES, UploadClass
from data_manager_ros.fsutil import printable
from data_manager_ros.layout import failed_path, is_clip_bag, is_split_file, reason_path
from data_manager_ros.supervision import Supervisor
from data_manager_ros.sync.destinations import Destination, sha256_of
from data_manager_ros.sync.errors import (
    RetryableError,
    TerminalError,
    UploadGone,
    UploadInterrupted,
)
from data_manager_ros.sync.journal import Journal, JournalEntry
from data_manager_ros.sync.scanner import SyncFile
from data_manager_ros.wire import Logger, UploadStats

DEFAULT_BACKOFF = Backoff()


@dataclass
class _Job:
    file: SyncFile
    failures: int = 0
    next_try: float = 0.0
    last_error: str = ""
    confirmed: int = 0  # the highest offset the far side confirmed
    advanced: bool = False  # this attempt found the far side holding more than before
    forced: bool = False  # found by ~/sync: goes past a closed gate
    uploaded: bool = False  # the far side confirmed it all; only the local delete is left
    superseded: list[str] = field(default_factory=list)  # upload URLs it could not remove


def _bag_facts(path: str) -> tuple[list[str], dict[str, str]]:
    """Topics of a bag file and the ``custom_data`` of its last rosbag2 metadata record
    (an incident clip's reasons and tags), from the file itself: metadata.yaml may be gone."""
    try:
        with open(path, "rb") as handle:
            reader = make_reader(handle)
            summary = reader.get_summary()
            records = [m.metadata for m in reader.iter_metadata() if m.name == "rosbag2"]
        info = yaml.safe_load(records[-1]["serialized_metadata"]) if records else {}
    except Exception:  # noqa: BLE001 - a file we cannot parse is still uploaded as-is
        return [], {}
    topics = sorted(c.topic for c in summary.channels.values()) if summary else []
    custom = (info or {}).get("custom_data") or {}
    return topics, {str(k): str(v) for k, v in custom.items()}


SYNC_WORKER = "sync worker"
# files up to this size go first on the small-file lane
SMALL_FILE_BYTES = 8 << 20
# how many uploaded paths are remembered, so that a sweep that listed a file just before its
# upload finished does not queue it again (and report it vanished)
RECENT_UPLOADS = 4096


class Uploader:
    def __init__(self, destination: Destination, journal: Journal, log: Logger, *,
                 robot_id: str, tags: tuple[str, ...] = (), backoff: Backoff = DEFAULT_BACKOFF,
                 clock: Callable[[], float] = time.monotonic,
                 supervisor: Supervisor | None = None) -> None:
        self.destination = destination
        self.journal = journal
        self.robot_id = robot_id
        self.tags = tags
        self.methods_by_topic: dict[str, str] = {}
        self.method_tags: dict[str, tuple[str, ...]] = {}  # topic → its method's tags
        self._log = log
        self._backoff = backoff
        self._clock = clock
        self._jobs: dict[str, _Job] = {}
        self._busy: set[str] = set()
        self._recent: dict[str, None] = {}  # paths uploaded and deleted lately, oldest first
        self.priority: tuple[str, ...] = UPLOAD_CLASSES
        self.newest_first = False
        self.gate: Callable[[], str] = lambda: ""  # why uploads wait now, or ""
        # hears of every file the far side confirmed: (path, size, its location there)
        self.on_uploaded: Callable[[str, int, str], None] = lambda path, size, location: None
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.stats = UploadStats(last_progress=time.time())
        self.supervisor = supervisor or Supervisor(log)

    # -- queue -----------------------------------------------------------------------
    def enqueue(self, files: Iterable[SyncFile], forced: bool = False) -> int:
        """Queue files not yet known; returns how many were new. ``forced`` files go past a
        closed gate (``~/sync``)."""
        files = [f for f in files if f.path not in self._recent]
        new = [f for f in files if f.path not in self._jobs]
        failures = {f.path: e.failures for f in new if (e := self.journal.get(f.path))}
        added = 0
        with self._cond:  # no disk I/O under the lock: pending() runs on the executor
            for file in files:
                job = self._jobs.get(file.path)
                if job is None:
                    job = self._jobs[file.path] = _Job(file, failures=failures.get(file.path, 0))
                    added += 1
                job.forced = job.forced or forced
            self._cond.notify_all()
        return added

    def pending(self) -> list[tuple[SyncFile, int, str]]:
        """(file, failures, last error) of every queued file."""
        with self._cond:
            return [(j.file, j.failures, j.last_error) for j in self._jobs.values()]

    def _requeue(self, job: _Job) -> None:
        """Hand a job taken by a worker back to the queue."""
        with self._cond:
            self._busy.discard(job.file.path)
            self._cond.notify_all()

    def wake(self) -> None:
        """Have the workers look again (the gate may have opened)."""
        with self._cond:
            self._cond.notify_all()

    def upload_class(self, file: SyncFile) -> UploadClass:
        if not file.is_bag_file:
            return UploadClass.FILES
        return (UploadClass.CLIPS if is_clip_bag(os.path.dirname(file.path))
                else UploadClass.BAGS)

    def _rank(self, job: _Job) -> tuple[int, int, str]:
        """Priority class first (``priority``), then age (``newest_first`` or oldest)."""
        file = job.file
        age = -file.mtime_ns if self.newest_first else file.mtime_ns
        return self.priority.index(self.upload_class(file)), age, file.path

    def _take_due(self, small_first: bool = False) -> _Job | None:
        """The first due job by rank; with ``small_first`` the first small file (up to
        ``SMALL_FILE_BYTES``) if one is due: the small-file lane. Past a closed gate only
        forced jobs are due."""
        now = self._clock()
        closed = bool(self.gate())
        due = [job for path, job in self._jobs.items()
               if job.next_try <= now and path not in self._busy and (job.forced or not closed)]
        small = [job for job in due if job.file.size <= SMALL_FILE_BYTES] if small_first else []
        if not due:
            return None
        job = min(small or due, key=self._rank)
        self._busy.add(job.file.path)
        return job

    def retry_all_now(self) -> None:
        """A new destination: failures against the old one say nothing of it, so every
        waiting file is due at once with a fresh backoff."""
        with self._cond:
            now = self._clock()
            for job in self._jobs.values():
                job.failures, job.next_try = 0, now
            self._cond.notify_all()

    def next_due(self) -> float | None:
        with self._cond:
            return min((job.next_try for path, job in self._jobs.items()
                        if path not in self._busy), default=None)

    # -- running -----------------------------------------------------------------------
    def run_due(self) -> bool:
        """Upload one due file on the calling thread; False when none is due."""
        with self._cond:
            job = self._take_due()
        if job is None:
            return False
        self._attempt(job)
        return True

    def start(self, workers: int) -> None:
        """With two workers or more, the first is the small-file lane: a few large files
        never make hundreds of small ones wait for hours."""
        self._stopping = False
        for index in range(workers):
            thread = threading.Thread(target=self._work, args=(index == 0 and workers > 1,),
                                      name=f"sync-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the workers; an upload in flight stops at its next block and resumes later."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _work(self, small_first: bool) -> None:
        while True:
            with self._cond:
                job = None
                while not self._stopping and job is None:
                    job = self._take_due(small_first)
                    if job is None:
                        due = self.next_due()  # the condition's lock is re-entrant
                        wait = 1.0 if due is None else max(0.0, due - self._clock())
                        self._cond.wait(min(wait, 1.0))
                if self._stopping or job is None:
                    break
            self._attempt(job)
        if job is not None:
            self._requeue(job)

    # -- one attempt ----------------------------------------------------------------
    def _entry_for(self, file: SyncFile, size: int, mtime_ns: int) -> JournalEntry:
        entry = self.journal.get(file.path)
        if entry is None or entry.size != size or entry.mtime_ns != mtime_ns:
            entry = JournalEntry(file.path, size, mtime_ns, sha256_of(file.path),
                                 failures=entry.failures if entry else 0)
            self.journal.put(entry)
        return entry

    def _metadata(self, job: _Job, entry: JournalEntry) -> dict[str, str]:
        file = job.file
        metadata = {
            "filename": printable(os.path.basename(file.path)),
            "relative_path": printable(file.remote_path),
            "robot_id": self.robot_id,
            "size": str(entry.size),
            "sha256": entry.sha256,
        }
        if metadata["relative_path"] != file.remote_path:  # a name that is not UTF-8
            metadata["relative_path_bytes"] = base64.b64encode(
                os.fsencode(file.remote_path)).decode()
        tags = list(self.tags)
        metadata["kind"] = self.upload_class(file).kind
        if file.is_bag_file and is_split_file(file.path):
            topics, custom = _bag_facts(file.path)
            metadata.update(custom)
            metadata["topics"] = ",".join(topics)
            metadata["methods"] = ",".join(
                self.methods_by_topic[t] for t in topics if t in self.methods_by_topic)
            metadata["bag"] = os.path.basename(os.path.dirname(file.path))
            # a method's tags label the files that hold its topic (as the seed's tags do)
            tags += [tag for t in topics for tag in self.method_tags.get(t, ())]
        if tags:
            metadata["tags"] = ",".join(dict.fromkeys(tags))
        if job.superseded:
            metadata["supersedes"] = " ".join(job.superseded)
        return metadata

    def _attempt(self, job: _Job) -> None:
        """One file's whole step (stat, hash, journal, upload, verify, delete, move to
        failed/) as one supervised unit: whatever escapes the handling below is reported and
        the file goes back with backoff; the worker never dies of it."""
        path = job.file.path
        self.supervisor.step(SYNC_WORKER, lambda: self._process(job),
                             f"the upload of {printable(path)} is retried with backoff",
                             on_failure=lambda reason: self._retry(job, reason))
        self.stats.in_flight.pop(path, None)

    def _process(self, job: _Job) -> None:
        path = job.file.path
        if job.uploaded:
            self._remove_local(job)
            return
        try:
            stat = os.stat(path)
        except FileNotFoundError as error:
            self._finish(job, f"{path} vanished before upload ({error.strerror}); dropped from "
                              "the queue (a sweep queues it again if it comes back)")
            return
        except OSError as error:
            self._retry(job, f"cannot stat it: {error.strerror}")
            return
        try:
            entry = self._entry_for(job.file, stat.st_size, stat.st_mtime_ns)
            sent = [0]
            self.stats.in_flight[path] = (0, entry.size, time.time())

            def on_read(count: int) -> None:
                if self._stopping:
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
                                    self._metadata(job, entry), self.journal.put, on_read,
                                    on_offset)
            after = os.stat(path)
            if (after.st_size, after.st_mtime_ns) != (entry.size, entry.mtime_ns):
                raise UploadGone(f"{path} changed while it was uploaded")
        except UploadInterrupted:
            self._requeue(job)
        except UploadGone as error:
            self._discard_upload(job)
            self._retry(job, str(error), restart=True)
        except RetryableError as error:
            self._retry(job, str(error), retry_after_s=error.retry_after_s)
        except OSError as error:
            self._retry(job, str(error))
        except sqlite3.Error as error:
            self._retry(job, f"its journal entry cannot be written ({error})")
        except TerminalError as error:
            self._move_to_failed(job, str(error))
        else:
            self._confirmed(job, entry)

    def _discard_upload(self, job: _Job) -> None:
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

    def _retry(self, job: _Job, reason: str, restart: bool = False,
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
        self._requeue(job)

    def _finish(self, job: _Job, message: str = "") -> None:
        if message:
            self._log.warning(message)
        try:
            self.journal.remove(job.file.path)
        except sqlite3.Error as error:  # a row of a file that is gone: dropped at next start
            self._log.warning(f"{printable(job.file.path)}: its journal entry cannot be "
                              f"removed ({error}); it is dropped when the uploader restarts")
        with self._cond:
            self._busy.discard(job.file.path)
            self._jobs.pop(job.file.path, None)

    def _confirmed(self, job: _Job, entry: JournalEntry) -> None:
        """The far side holds every byte: counted and announced once, then deleted here."""
        path, size = job.file.path, entry.size
        job.uploaded = True
        self.stats.uploaded_files += 1
        self.stats.uploaded_bytes += size
        self.stats.last_success = time.time()
        self._log.info(f"uploaded {job.file.relative_path} ({size} bytes)")
        self.on_uploaded(path, size, entry.upload_url)
        self._remove_local(job)

    def _remove_local(self, job: _Job) -> None:
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
            self._retry(job, reason, quiet=True)
            return
        self._log.debug(f"deleted {printable(path)} locally")
        directory = os.path.dirname(path)
        if job.file.is_bag_file and os.path.realpath(directory) != os.path.realpath(job.file.root):
            try:
                os.rmdir(directory)  # only succeeds once the bag's last file is gone
            except OSError:
                pass
        with self._cond:
            self._recent[path] = None
            if len(self._recent) > RECENT_UPLOADS:
                del self._recent[next(iter(self._recent))]
        self._finish(job)

    def _move_to_failed(self, job: _Job, reason: str) -> None:
        target = failed_path(job.file.root, job.file.relative_path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.move(job.file.path, target)
        with open(reason_path(target), "w", encoding="utf-8") as handle:
            handle.write(reason + "\n")
        self.stats.failed_files += 1
        self._log.error(f"upload of {job.file.path} refused for good ({reason}); "
                        f"kept in {target}")
        self._finish(job)
