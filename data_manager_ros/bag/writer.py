"""A rosbag2 bag directory that grows by split files while capture runs.

Files are split by size and by age so that closed files can be uploaded while
capture goes on; their fsyncs and final renames run on a ``DurableQueue``, so
writing never waits for the disk. A ``.recording`` lock file, flock-ed for the
life of the writer, tells recovery and the uploader that the bag is still open;
the kernel drops the lock when the process dies, so a crashed bag is
recognisable.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable

from data_manager_ros.bag.durable_queue import DurableQueue
from data_manager_ros.bag.mcap_file import McapFile, Topic
from data_manager_ros.bag.metadata import BagMetadata, TopicEntry, save_metadata, serialize
from data_manager_ros.fsutil import make_private_dir
from data_manager_ros.layout import recording_marker, split_file_name


class BagWriter:
    """Owns one bag directory; not thread-safe (one writer thread uses it)."""

    def __init__(self, bag_dir: str, *, max_file_bytes: int, max_file_duration_ns: int,
                 chunk_size: int, compression: str = "none",
                 on_file_closed: Callable[[str, int], None] = lambda path, count: None) -> None:
        """``on_file_closed(path, message_count)`` hears of each file once it has its final
        name, on the durable queue's thread."""
        make_private_dir(bag_dir)
        self._on_file_closed = on_file_closed
        self.bag_dir = bag_dir
        self._lock = open(recording_marker(bag_dir), "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise RuntimeError(f"bag {bag_dir!r} is being written by another process") from None
        self._lock.truncate(0)
        self._lock.write(str(os.getpid()))
        self._lock.flush()
        self.metadata = BagMetadata.load(bag_dir)
        self.configure(max_file_bytes=max_file_bytes, max_file_duration_ns=max_file_duration_ns,
                       chunk_size=chunk_size, compression=compression)
        self._topics: dict[str, Topic] = {}
        self._next_index = len(self.metadata.files)
        self._file: McapFile | None = None
        self._file_opened_ns = 0
        self._durable = DurableQueue()
        # counts of finished files not yet durable (the durable thread removes them)
        self._not_durable: dict[str, dict[str, int]] = {}

    def configure(self, *, max_file_bytes: int, max_file_duration_ns: int, chunk_size: int,
                  compression: str) -> None:
        """New limits apply to the open file at once; chunk size and compression to the next
        file (an MCAP file has one of each)."""
        self._max_bytes = max_file_bytes
        self._max_duration_ns = max_file_duration_ns
        self._chunk_size = chunk_size
        self._compression = compression

    @property
    def topics(self) -> dict[str, Topic]:
        return dict(self._topics)

    def add_topic(self, topic: Topic) -> None:
        if topic.name in self._topics:
            return
        self._topics[topic.name] = topic
        self.metadata.topics.setdefault(topic.name, TopicEntry(
            topic.name, topic.type, list(topic.offered_qos_profiles), topic.type_hash))
        if self._file is not None:
            self._file.add_topic(topic)

    def write(self, topic: str, log_ns: int, publish_ns: int, data: bytes) -> None:
        """As rosbag2 splits by duration: the first message past the limit opens the next
        file, so a file spans at most the limit (plus nothing; its last message is within)."""
        if self._file is not None and log_ns - self._file_opened_ns >= self._max_duration_ns:
            self.split()
        file = self._file or self._open(log_ns)
        file.write(topic, log_ns, publish_ns, data)
        if file.message_bytes >= self._max_bytes:
            self.split()

    def tick(self, now_ns: int) -> None:
        """Split a file that is older than the split duration, even if its topics went quiet,
        or that the schemas, indexes and chunk headers made larger than the size limit."""
        if self._file is not None and (now_ns - self._file_opened_ns >= self._max_duration_ns
                                       or self._file.size >= self._max_bytes):
            self.split()

    def flush(self) -> None:
        """Hand what was written to the OS and have it fsynced in the background; raises the
        OSError of any earlier background fsync or commit."""
        self._durable.raise_error()
        if self._file is not None:
            self._file.flush()
            self._durable.sync(self._file)

    def split(self) -> None:
        """Finish the current file (if any); it takes its final name once durable."""
        if self._file is None:
            return
        current, self._file = self._file, None
        self.metadata.add_file(current.entry(), current.counts)
        self._not_durable[current.final_path] = current.counts
        # a snapshot; its YAML grows with every file of the bag (120 KB at 640 files), so it is
        # made, with the summary, on the durable queue's thread, which the writer never waits for
        info = self.metadata.to_dict()

        def commit() -> None:
            serialized = serialize(info)
            current.finish(serialized)
            current.commit()
            self._not_durable.pop(current.final_path, None)
            save_metadata(self.bag_dir, serialized)
            self._on_file_closed(current.final_path, current.message_count)

        self._durable.commit(current, commit)

    def wait_durable(self) -> None:
        """Block until every finished file has its final name; raise any background error."""
        self._durable.wait()

    def close(self) -> None:
        """Finalize the last file and mark the bag closed (its metadata.yaml is final). A bag
        that got topics but never a message still gets one file holding their channels, as
        rosbag2 writes it, so readers see what was recorded (nothing, of those topics)."""
        if self._next_index == 0 and self._topics:
            self._open(0)
        self.split()
        self._durable.close()
        self.metadata.save(self.bag_dir)
        os.unlink(self._lock.name)
        self._lock.close()

    def abandon(self) -> dict[str, int]:
        """Give up after a write error, leaving the bag to recovery at the next start.
        Returns the messages per topic written into files that never became final: what
        recovery can salvage at most (the rest of them is lost)."""
        try:
            self._durable.close()  # before the file: a queued fsync may still need it
        except OSError:
            pass  # the error that made us give up, or one like it: recovery deals with both
        at_risk: dict[str, int] = {}
        files = list(self._not_durable.values())
        if self._file is not None:
            files.append(self._file.counts)
            self._file.abandon()
            self._file = None
        for counts in files:
            for topic, count in counts.items():
                at_risk[topic] = at_risk.get(topic, 0) + count
        self._lock.close()
        return at_risk

    def _open(self, now_ns: int) -> McapFile:
        name = split_file_name(self.bag_dir, self._next_index)
        self._next_index += 1
        file = self._file = McapFile(os.path.join(self.bag_dir, name), self._chunk_size,
                              self.metadata.opening(name).serialize(), self._compression)
        self._file_opened_ns = now_ns
        for topic in self._topics.values():
            file.add_topic(topic)
        return file
