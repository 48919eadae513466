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

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.capture.current_bag import CurrentBag
from data_manager_ros.capture.disk_guard import Change, DiskGuard
from data_manager_ros.capture.intake import ENTRY_BYTES, Intake
from data_manager_ros.capture.writer_settings import WriterSettings
from data_manager_ros.lifecycle import Lifecycle
from data_manager_ros.supervision import Supervisor
from data_manager_ros.wire import Logger

_DEFAULT_LOG = logging.getLogger(__name__)
CAPTURE_WRITER = "capture writer"
# how long the writer lets messages gather after the first one woke it
BATCH_S = 0.005


class CaptureEngine(Lifecycle):
    """Runs the writer thread: drains what the Intake queued into the CurrentBag, flushes,
    splits, moves to another capture_dir, pauses on a full disk, and outlives every failure
    by abandoning the bag and retrying. Restartable: ``close()`` then ``start()``."""

    def __init__(self, settings: WriterSettings, log: Logger = _DEFAULT_LOG,
                 clock: Callable[[], int] = time.time_ns,
                 on_file_closed: Callable[[str, int], None] = lambda path, count: None) -> None:
        """``on_file_closed(path, message_count)``: see BagWriter."""
        self.settings = settings
        self._log = log
        self.intake = Intake(settings.memory_budget_bytes, clock)
        self.stats = self.intake.stats  # per topic: the callbacks count some, the writer others
        self._topics: dict[str, Topic] = {}
        self._lock = threading.Lock()
        self._bag = CurrentBag(log, on_file_closed)
        self._capture_dir = ""  # where the open bag is (settings may name another already)
        self._thread: threading.Thread | None = None
        self._running = False
        self._split_requested = False
        self.last_error = ""
        self.supervisor = Supervisor(log)
        self.disk = DiskGuard(log)
        self._retry_at = 0.0
        self._wake = self.intake.wake  # set when the writer has work

    @property
    def running(self) -> bool:
        return self._running

    @property
    def bag_dir(self) -> str | None:
        return self._bag.bag_dir

    def start(self) -> CaptureEngine:
        """Recover what an earlier run left open, then record into a new bag."""
        self.close()
        self._enter(self.settings.directory)
        self._running = True
        self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)
        self._thread.start()
        return self

    def configure(self, settings: WriterSettings) -> None:
        """Take new settings without stopping capture: callbacks keep queueing while the
        writer thread applies them (new limits at once, chunking at the next file, another
        capture_dir by closing the bag and opening one there), so the executor never waits
        for a close, an fsync or a recovery."""
        self.settings = settings
        if not self._running:
            self.start()
        elif settings.directory != self._capture_dir:
            self._wake.set()

    def close(self) -> None:
        """Write everything queued, finalize the last file, close the bag."""
        if not self._running:
            return
        self._running = False
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._thread = None
        with self._lock:
            self._bag.close()

    def request_split(self) -> None:
        self._split_requested = True
        self._wake.set()

    def add_topic(self, topic: Topic) -> None:
        with self._lock:
            self._topics[topic.name] = topic
            if self._bag.writer is not None:
                self._bag.writer.add_topic(topic)
            elif self._running and time.monotonic() >= self._retry_at:
                self._open_bag()  # the first topic: its first message needs a bag

    def _enter(self, capture_dir: str) -> None:
        """Make capture_dir the place of the bags: recover it, open a bag there."""
        self._capture_dir = capture_dir
        os.makedirs(capture_dir, mode=0o700, exist_ok=True)
        self._bag.recover(capture_dir, self.settings.chunk_size)
        self._open_bag()

    def _open_bag(self) -> None:
        """A bag is opened only once there is a topic to record: no empty bag directories
        while no method captures. A failure is the writer's to retry, as after a write."""
        if not self._topics:
            return
        try:
            self._bag.open(self.settings, self._topics, self.stats)
        except Exception as error:  # noqa: BLE001 - reported, and retried by the writer
            self._fail(error)
            return
        self.supervisor.succeeded(CAPTURE_WRITER)
        if self.last_error:
            self.last_error = ""
            self._log.info("capture resumed")

    # -- writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        next_flush = time.monotonic() + self.settings.flush_interval_s
        while True:
            running = self._running
            with self._lock:
                self._drain()
                now = time.monotonic()
                if (now >= next_flush or self._split_requested
                        or self.settings.directory != self._capture_dir
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
        bag = None if self.disk.paused else self._bag.writer
        while queue:
            topic, log_ns, publish_ns, data = queue.popleft()
            if topic is None:  # CLOCK_CHANGE
                if bag is not None:
                    bag.split()
                continue
            topic_stats = stats[topic]
            backlog.written += len(data) + ENTRY_BYTES
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
            if self._bag.writer is not None:
                self._bag.writer.split()
        elif change is Change.RESUMED:
            self.last_error = ""

    def _maintain(self, now: float) -> None:
        try:
            if self.settings.directory != self._capture_dir:
                # what was queued before the switch went to the old bag (the loop drained
                # it), what comes after goes to the new one
                self._bag.close()
                self._enter(self.settings.directory)
            self._check_free_space()
            if self._bag.writer is None:
                if now >= self._retry_at:
                    self._open_bag()
                return
            if self._split_requested:
                self._split_requested = False
                self._bag.writer.split()
            self._bag.maintain(self.settings, self.intake.clock())
            self._log.debug(f"flushed {self.bag_dir}; writer backlog "
                            f"{self.intake.backlog.pending} bytes")
        except Exception as error:  # noqa: BLE001 - the writer thread must outlive it
            self._fail(error)

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
        self._bag.abandon()
        self._retry_at = time.monotonic() + self.settings.retry_interval_s
