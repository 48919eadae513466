"""Moves messages from subscription callbacks into bags without blocking the executor.

Callbacks (``intake``) only gate the rate and append to a deque bounded in bytes; one
writer thread drains it into the current bag, flushes every ``flush_interval`` (the bound
on what a crash loses; the bag's fsyncs run in the background) and splits files. A disk
error closes nothing abruptly: the bag is left for
recovery, the error is reported, and a new bag is tried after
``retry_interval``. Below the minimum free space the current file is finalized
and capture pauses (drops counted) until space returns, so a full disk never
leaves a torn file or starves the rest of the robot.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.bag.recovery import recover_capture_dir
from data_manager_ros.bag.writer import BagWriter
from data_manager_ros.capture.abandoned_bags import AbandonedBags
from data_manager_ros.capture.disk_guard import Change, DiskGuard
from data_manager_ros.capture.intake import Intake
from data_manager_ros.config.settings import UPLOAD_CLASSES, DiskFullPolicy
from data_manager_ros.layout import new_bag_dir, new_bag_name
from data_manager_ros.supervision import Supervisor
from data_manager_ros.wire import Logger


@dataclass
class WriterSettings:
    """The writer's share of the config (defaults live in config.DataManagerConfig)."""

    max_file_bytes: int
    max_file_duration_s: float
    chunk_size: int
    compression: str
    flush_interval_s: float
    max_backlog_bytes: int
    minimum_free_bytes: int
    minimum_free_fraction: float
    retry_interval_s: float = 5.0
    disk_full_policy: str = DiskFullPolicy.PAUSE  # see disk_policy
    additional_paths: tuple[str, ...] = ()
    upload_priority: tuple[str, ...] = UPLOAD_CLASSES


_DEFAULT_LOG = logging.getLogger(__name__)
CAPTURE_WRITER = "capture writer"
# how long the writer lets messages gather after the first one woke it
BATCH_S = 0.005



class CaptureEngine:
    def __init__(self, settings: WriterSettings, log: Logger = _DEFAULT_LOG,
                 clock: Callable[[], int] = time.time_ns,
                 on_file_closed: Callable[[str, int], None] = lambda path, count: None) -> None:
        """``on_file_closed(path, message_count)``: see BagWriter."""
        self.on_file_closed = on_file_closed
        self.settings = settings
        self._log = log
        self.intake = Intake(settings.max_backlog_bytes, clock)
        self.stats = self.intake.stats  # per topic: the callbacks count some, the writer others
        self._topics: dict[str, Topic] = {}
        self._lock = threading.Lock()
        self._bag: BagWriter | None = None
        self._capture_dir = ""
        self._thread: threading.Thread | None = None
        self._running = False
        self._split_requested = False
        self.last_error = ""
        self.supervisor = Supervisor(log)
        self.disk = DiskGuard(log)
        self._retry_at = 0.0
        self._abandoned = AbandonedBags()
        self._switch_to: str | None = None  # a capture_dir the writer thread moves to
        self._wake = self.intake.wake  # set when the writer has work
        self._bag_settings: WriterSettings | None = None  # what the open bag was told
        self._files_reported = 0  # closed files of the open bag already logged (debug)

    # -- lifecycle -------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    @property
    def bag_dir(self) -> str | None:
        return self._bag.bag_dir if self._bag else None

    def start(self, capture_dir: str) -> None:
        """Recover what an earlier run left open, then record into a new bag."""
        self.stop()
        self._capture_dir = capture_dir
        os.makedirs(capture_dir, mode=0o700, exist_ok=True)
        self._recover(capture_dir)
        self._open_bag_for_topics()
        self._running = True
        self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)
        self._thread.start()

    def _recover(self, capture_dir: str) -> None:
        for report in recover_capture_dir(capture_dir, self.settings.chunk_size):
            if report.error:
                self._log.error(f"cannot recover bag {report.bag_dir} ({report.error}); "
                                "left untouched for a person to look at")
            else:
                self._log.warning(f"recovered bag {report.bag_dir} left open by an earlier "
                                  f"run: {len(report.recovered_files)} file(s) finalized, "
                                  f"{report.salvaged_messages} message(s) salvaged")

    def configure(self, capture_dir: str, settings: WriterSettings) -> None:
        """Take new settings and capture_dir without stopping capture: callbacks keep queueing
        while the writer thread applies them (new limits at once, chunking at the next file,
        another capture_dir by closing the bag and opening one there), so the executor never
        waits for a close, an fsync or a recovery."""
        self.intake.backlog.limit = settings.max_backlog_bytes
        self.settings = settings
        if not self._running:
            self.start(capture_dir)
        elif os.path.abspath(capture_dir) != os.path.abspath(self._capture_dir or ""):
            self._switch_to = capture_dir
            self._wake.set()

    def stop(self) -> None:
        """Write everything queued, finalize the last file, close the bag."""
        if not self._running:
            return
        self._running = False
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._thread = None
        with self._lock:
            if self._bag is not None:
                self._bag.close()
                self._bag = None

    def request_split(self) -> None:
        self._split_requested = True
        self._wake.set()

    # -- topics and callbacks -----------------------------------------------------
    def add_topic(self, topic: Topic) -> None:
        with self._lock:
            self._topics[topic.name] = topic
            if self._bag is not None:
                self._bag.add_topic(topic)
            elif self._running and time.monotonic() >= self._retry_at:
                self._open_bag_for_topics()  # the first topic: its first message needs a bag

    def _open_bag_for_topics(self) -> None:
        """A bag is opened only once there is a topic to record: no empty bag directories
        while no method captures."""
        if not self._topics:
            return
        try:
            self._open_bag()
        except Exception as error:  # noqa: BLE001 - reported, and retried by the writer
            self._fail(error)  # the writer thread retries, as after a failed write

    # -- writer thread ---------------------------------------------------------------
    def _open_bag(self) -> None:
        path = new_bag_dir(self._capture_dir, new_bag_name(datetime.now()))
        bag = BagWriter(path, max_file_bytes=self.settings.max_file_bytes,
                        max_file_duration_ns=int(self.settings.max_file_duration_s * 1e9),
                        chunk_size=self.settings.chunk_size,
                        compression=self.settings.compression,
                        on_file_closed=self.on_file_closed)
        for topic in self._topics.values():
            bag.add_topic(topic)
        self._bag = bag
        self._bag_settings = self.settings
        self._files_reported = len(bag.metadata.files)
        self._log.info(f"recording into {path}")

    def _run(self) -> None:
        next_flush = time.monotonic() + self.settings.flush_interval_s
        while True:
            running = self._running
            with self._lock:
                self._drain()
                now = time.monotonic()
                if (now >= next_flush or self._split_requested or self._switch_to
                        or not running):
                    self._maintain(now)
                    next_flush = now + self.settings.flush_interval_s
            if not running:
                return
            # sleep until a callback finds the queue empty and wakes us, or the next flush; once
            # woken, let a batch gather: one wake-up per message costs a third of a core at
            # 15 kHz, and an idle node does not wake 200 times a second for nothing
            if self._wake.wait(max(0.0, next_flush - time.monotonic())):
                time.sleep(BATCH_S)
            self._wake.clear()

    def _drain(self) -> None:
        queue = self.intake.queue
        stats = self.stats
        backlog = self.intake.backlog
        bag = None if self.disk.paused else self._bag
        while queue:
            topic, log_ns, publish_ns, data = queue.popleft()
            if topic is None:  # CLOCK_CHANGE
                if bag is not None:
                    bag.split()
                continue
            topic_stats = stats[topic]
            backlog.written += len(data)
            if bag is None:
                topic_stats.lost += 1
                continue
            try:
                bag.write(topic, log_ns, publish_ns, data)
            except Exception as error:  # noqa: BLE001 - the writer thread must outlive it
                topic_stats.lost += 1
                self._fail(error)
                bag = None
                continue
            topic_stats.written += 1

    def _check_free_space(self) -> None:
        settings = self.settings
        change = self.disk.check(
            self._capture_dir, minimum_bytes=settings.minimum_free_bytes,
            minimum_fraction=settings.minimum_free_fraction, policy=settings.disk_full_policy,
            additional_paths=settings.additional_paths, priority=settings.upload_priority,
            open_bag=self.bag_dir)
        if change is Change.PAUSED:
            self.last_error = self.disk.reason
            self._log.error(self.last_error)
            if self._bag is not None:
                self._bag.split()
        elif change is Change.RESUMED:
            self.last_error = ""

    def _maintain(self, now: float) -> None:
        try:
            if self._switch_to is not None:
                self._switch_capture_dir()
            self._check_free_space()
            if self._bag is None:
                if self._topics and now >= self._retry_at:
                    self._reopen()
                return
            if self._split_requested:
                self._split_requested = False
                self._bag.split()
            if self._bag_settings is not self.settings:
                self._bag_settings = settings = self.settings
                self._bag.configure(
                    max_file_bytes=settings.max_file_bytes, chunk_size=settings.chunk_size,
                    max_file_duration_ns=int(settings.max_file_duration_s * 1e9),
                    compression=settings.compression)
            self._bag.tick(self.intake.clock())
            self._bag.flush()
            files = len(self._bag.metadata.files)
            if files != self._files_reported:  # closed since the last flush, by size or age
                self._log.debug(f"{self._bag.bag_dir}: {files} file(s) closed so far")
                self._files_reported = files
            self._log.debug(f"flushed {self._bag.bag_dir}; writer backlog "
                            f"{self.intake.backlog.pending} bytes")
        except Exception as error:  # noqa: BLE001 - the writer thread must outlive it
            self._fail(error)

    def _switch_capture_dir(self) -> None:
        """On the writer thread: what was queued before the switch went to the old bag (the
        loop drained it), what comes after goes to the new one."""
        capture_dir, self._switch_to = self._switch_to or self._capture_dir, None
        if self._bag is not None:
            self._bag.close()
            self._bag = None
        self._capture_dir = capture_dir
        os.makedirs(capture_dir, mode=0o700, exist_ok=True)
        self._recover(capture_dir)
        if self._topics:
            self._reopen()

    def _fail(self, error: Exception) -> None:
        """One way out of any failure on the writer thread: report it (an unexpected one with
        its traceback), leave the bag to recovery, and try a new bag after a pause."""
        consequence = f"capture paused, retrying in {self.settings.retry_interval_s:.0f} s"
        if isinstance(error, OSError):
            self.last_error = f"cannot write to {self._capture_dir!r}: {error}"
            self._log.error(f"{self.last_error}; {consequence}")
        else:
            self.last_error = f"{CAPTURE_WRITER}: " + self.supervisor.failed(
                CAPTURE_WRITER, error, consequence)
        if self._bag is not None:
            self._abandoned.add(self._bag.bag_dir, self._bag.abandon())
            self._bag = None
        self._retry_at = time.monotonic() + self.settings.retry_interval_s

    def _reopen(self) -> None:
        self._abandoned.finalize(self.settings.chunk_size, self.stats, self._log)
        self._open_bag()
        self.supervisor.succeeded(CAPTURE_WRITER)
        if self.last_error:
            self.last_error = ""
            self._log.info("capture resumed")
