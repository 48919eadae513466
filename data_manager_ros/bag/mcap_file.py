"""One split file of a bag, written the way rosbag2's MCAP storage plugin writes it.

The file carries a temporary name (``.active``) until it is finalized with a
summary and footer, so neither a reader nor the uploader ever takes a
half-written file.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import yaml

from data_manager_ros.bag.mcap_writer import McapWriter
from data_manager_ros.bag.message_definitions import MessageDefinition
from data_manager_ros.bag.metadata import FileEntry
from data_manager_ros.fsutil import fsync_dir
from data_manager_ros.layout import ACTIVE_SUFFIX

# opcode, record length, channel id, sequence, log and publish time, message index entry
MESSAGE_RECORD_OVERHEAD = 1 + 8 + 2 + 4 + 8 + 8 + 16
PROFILE = "ros2"
LIBRARY = "data_manager_ros"
BAG_METADATA_RECORD = "rosbag2"


@dataclass(frozen=True)
class Topic:
    """What a bag needs to know of a recorded topic."""

    name: str
    type: str
    offered_qos_profiles: tuple[dict, ...]
    type_hash: str
    definition: MessageDefinition

    @property
    def channel_metadata(self) -> dict[str, str]:
        return {
            # rosbag2's text has no trailing newline
            "offered_qos_profiles": yaml.safe_dump(list(self.offered_qos_profiles),
                                                   sort_keys=False).rstrip("\n"),
            "topic_type_hash": self.type_hash,
        }


class McapFile:
    """Writes one ``<bag>_<N>.mcap``; counts what it holds for metadata.yaml.

    Like rosbag2, it writes the ``rosbag2`` metadata record twice: as the file opens
    (``opening_metadata``: the bag's identity, nothing recorded yet) and at ``finish``
    (the whole bag so far). rosbag2's reader takes the last one it finds.
    """

    def __init__(self, final_path: str, chunk_size: int, opening_metadata: str,
                 compression: str = "none", temp_suffix: str = ACTIVE_SUFFIX) -> None:
        self.final_path = final_path
        self.active_path = final_path + temp_suffix
        self._stream = open(self.active_path, "wb", buffering=0)
        self._writer = McapWriter(self._stream.fileno(), chunk_size, compression)
        self._writer.start(PROFILE, LIBRARY)
        self._add_bag_metadata(opening_metadata)
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.start_ns = 0
        self.end_ns = 0
        self.message_count = 0
        self.message_bytes = 0

    def add_topic(self, topic: Topic) -> None:
        if topic.name in self._channels:
            return
        schema_id = self._schemas.get(topic.type)
        if schema_id is None:
            schema_id = self._writer.register_schema(
                topic.type, topic.definition.encoding, topic.definition.text.encode())
            self._schemas[topic.type] = schema_id
        self._channels[topic.name] = self._writer.register_channel(
            topic.name, "cdr", schema_id, topic.channel_metadata)
        self.counts[topic.name] = 0

    def write(self, topic: str, log_ns: int, publish_ns: int, data: bytes) -> None:
        self._writer.add_message(self._channels[topic], log_ns, data, publish_ns)
        self.counts[topic] += 1
        self.message_bytes += len(data) + MESSAGE_RECORD_OVERHEAD
        if not self.message_count or log_ns < self.start_ns:
            self.start_ns = log_ns
        self.end_ns = max(self.end_ns, log_ns)
        self.message_count += 1

    @property
    def size(self) -> int:
        """Bytes in the file so far, handed to the OS or not."""
        return self._writer.offset

    def flush(self) -> None:
        """Close the open chunk and hand it to the OS: a crash of this process loses none of
        it from here on; ``sync`` makes it survive a power cut as well."""
        self._writer.flush()

    def sync(self) -> None:
        """fsync what ``flush`` handed over, then drop it from the page cache; may run on
        another thread than the writes.

        A bag is written once and read again only by the uploader, later. Left in the page
        cache, 441 MB/s of point clouds took a new page of memory for every 4 KiB: the
        kernel's copy into fresh pages ran at 550-660 MB per CPU-second (a VM backs each page
        on first touch; a full page cache has to reclaim), and three cameras' writer thread
        fell behind. Dropped once durable, the same few pages are reused: 3,000 MB per
        CPU-second, and the robot's other processes keep their memory."""
        fd = self._stream.fileno()
        durable = os.lseek(fd, 0, os.SEEK_END)
        os.fsync(fd)
        with contextlib.suppress(OSError):  # advice: a file system may not take it
            os.posix_fadvise(fd, 0, durable, os.POSIX_FADV_DONTNEED)

    def entry(self) -> FileEntry:
        return FileEntry(os.path.basename(self.final_path), self.start_ns,
                         self.end_ns - self.start_ns, self.message_count)

    def finish(self, serialized_metadata: str) -> None:
        """Write the bag's metadata (``BagMetadata.serialize``), the summary and footer; the
        file is complete but not yet final. The last chunk goes first, so the record
        follows every message, as in rosbag2's files."""
        self._writer.flush()
        self._add_bag_metadata(serialized_metadata)
        self._writer.finish()

    def commit(self) -> None:
        """fsync the finished file, then give it its final name (durably)."""
        self.sync()
        self._stream.close()
        os.replace(self.active_path, self.final_path)
        fsync_dir(os.path.dirname(os.path.abspath(self.final_path)))

    def close(self, serialized_metadata: str) -> None:
        """Finish and commit at once, for callers that have no thread to spare for it."""
        self.finish(serialized_metadata)
        self.commit()

    def _add_bag_metadata(self, serialized_metadata: str) -> None:
        self._writer.add_metadata(BAG_METADATA_RECORD, {"serialized_metadata": serialized_metadata})

    def abandon(self) -> None:
        """Release the file after a write error; recovery salvages it at next start."""
        try:
            self._stream.close()
        except OSError:
            pass
