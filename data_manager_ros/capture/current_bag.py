"""The bag capture writes into now: opened with every topic known so far, told new settings
when they change, closed cleanly, or abandoned to recovery after a disk error (its messages
at risk are settled once capture resumes, see AbandonedBags)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.bag.recovery import recover_capture_dir
from data_manager_ros.bag.writer import BagWriter
from data_manager_ros.capture.abandoned_bags import AbandonedBags
from data_manager_ros.capture.topic_stats import TopicStats
from data_manager_ros.capture.writer_settings import WriterSettings
from data_manager_ros.config.settings import custom_data_pairs
from data_manager_ros.layout import new_bag_dir, new_bag_name
from data_manager_ros.wire import Logger


class CurrentBag:
    """Not thread-safe: the engine holds its lock around every call."""

    def __init__(self, log: Logger, on_file_closed: Callable[[str, int], None]) -> None:
        self._log = log
        self._on_file_closed = on_file_closed
        self.writer: BagWriter | None = None
        self._told: WriterSettings | None = None  # what the open bag was told
        self._files_reported = 0  # closed files of the open bag already logged (debug)
        self._abandoned = AbandonedBags()
        # names of the bags recovered at start: a run killed within a second of opening its bag
        # left one of this second's name, and once its metadata.yaml was uploaded the uploader
        # removed its directory, so a new bag took the same name and its metadata.yaml was
        # uploaded a second time over the first (test_repeated_sigkill, on a CI run)
        self._recovered: set[str] = set()

    @property
    def bag_dir(self) -> str | None:
        return self.writer.bag_dir if self.writer else None

    def recover(self, capture_dir: str, chunk_size: int) -> None:
        """Finalize what an earlier run left open in capture_dir."""
        for report in recover_capture_dir(capture_dir, chunk_size):
            self._recovered.add(os.path.basename(os.path.normpath(report.bag_dir)))
            if report.error:
                self._log.error(f"cannot recover bag {report.bag_dir} ({report.error}); "
                                "left untouched for a person to look at")
            else:
                self._log.warning(f"recovered bag {report.bag_dir} left open by an earlier "
                                  f"run: {len(report.recovered_files)} file(s) finalized, "
                                  f"{report.salvaged_messages} message(s) salvaged"
                                  + "".join(f"; damaged, set aside as {path}"
                                            for path in report.set_aside))

    def open(self, settings: WriterSettings, topics: dict[str, Topic],
             stats: dict[str, TopicStats]) -> None:
        """A new bag in capture_dir, after the bags given up on earlier are finalized."""
        self._abandoned.finalize(settings.chunk_size, stats, self._log)
        path = new_bag_dir(settings.directory, new_bag_name(datetime.now()), self._recovered)
        writer = BagWriter(path, max_file_bytes=settings.max_file_bytes,
                           max_file_duration_ns=settings.max_file_duration_ns,
                           chunk_size=settings.chunk_size, compression=settings.compression,
                           on_file_closed=self._on_file_closed)
        for topic in topics.values():
            writer.add_topic(topic)
        writer.metadata.custom_data = custom_data_pairs(settings.custom_data)
        self.writer, self._told = writer, settings
        self._files_reported = len(writer.metadata.files)
        self._log.info(f"recording into {path}")

    def maintain(self, settings: WriterSettings, now_ns: int) -> None:
        """New settings, a file closed by age, a flush: the writer thread's periodic work."""
        writer = self.writer
        if writer is None:
            return
        if self._told is not settings:
            self._told = settings
            writer.configure(max_file_bytes=settings.max_file_bytes,
                             chunk_size=settings.chunk_size,
                             max_file_duration_ns=settings.max_file_duration_ns,
                             compression=settings.compression)
            writer.metadata.custom_data = custom_data_pairs(settings.custom_data)
        writer.tick(now_ns)
        writer.flush()
        files = len(writer.metadata.files)
        if files != self._files_reported:  # closed since the last flush, by size or age
            self._log.debug(f"{writer.bag_dir}: {files} file(s) closed so far")
            self._files_reported = files

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def abandon(self) -> None:
        """Leave the bag as it is for recovery; what its unfinished files hold is at risk."""
        if self.writer is not None:
            self._abandoned.add(self.writer.bag_dir, self.writer.abandon())
            self.writer = None
