"""A slice of what a robot recorded, fetched by HTTP range reads: the catalog names the
files whose time range meets the window; of each, the footer and the MCAP summary are read
(its schemas, channels and chunk indexes), then only the chunks that hold a wanted topic
inside the window, adjacent ones in one request. Their messages, across file and bag
boundaries, become one rosbag2 MCAP bag that `ros2 bag play` plays. No whole object is
ever downloaded."""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mcap.records import Channel, Chunk, ChunkIndex, Footer, Message, Schema
from mcap.stream_reader import StreamReader, breakup_chunk

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.bag.mcap_writer import MAGIC
from data_manager_ros.bag.recovery import topic_of
from data_manager_ros.bag.writer import BagWriter
from data_manager_ros.tools.s3 import Bucket

FOOTER_BYTES = 1 + 8 + 8 + 8 + 4 + len(MAGIC)  # opcode, length, its three fields, magic
CHUNK_SIZE = 768 * 1024  # rosbag2's default


class ExportError(ValueError):
    """A file that cannot be sliced by range reads; says which and why."""


@dataclass
class Fetched:
    """What the export read, to hold it against what held the slice."""

    requests: int = 0
    summary_bytes: int = 0  # footers and summaries
    chunk_bytes: int = 0  # the chunks fetched
    needed_bytes: int = 0  # the chunks that hold at least one exported message
    messages: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    since: int
    until: int
    topics: frozenset[str]  # empty: every topic

    def wants(self, topic: str) -> bool:
        return not self.topics or topic in self.topics


class RangeFile:
    """One object of the bucket, read by ranges, counted."""

    def __init__(self, bucket: Bucket, key: str, size: int, fetched: Fetched) -> None:
        self.bucket, self.key, self.size, self.fetched = bucket, key, size, fetched

    def read(self, start: int, end: int) -> bytes:
        self.fetched.requests += 1
        return self.bucket.get_range(self.key, start, end)

    def summary(self) -> tuple[dict[int, Schema], dict[int, Channel], list[ChunkIndex]]:
        if self.size < len(MAGIC) + FOOTER_BYTES:
            raise ExportError(f"{self.key} is too small to be an MCAP file")
        tail = self.read(self.size - FOOTER_BYTES, self.size)
        if tail[-len(MAGIC):] != MAGIC or tail[0] != 0x02:
            raise ExportError(f"{self.key} ends without an MCAP footer")
        footer = Footer(*struct.unpack("<QQI", tail[9:29]))
        if not footer.summary_start:
            raise ExportError(f"{self.key} has no summary: download it whole")
        body = self.read(footer.summary_start, self.size - FOOTER_BYTES)
        self.fetched.summary_bytes += len(tail) + len(body)
        schemas, channels, chunks = {}, {}, []
        # the summary records, then the footer and the magic, where the reader stops
        for record in StreamReader(io.BytesIO(body + tail), skip_magic=True).records:
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = record
            elif isinstance(record, ChunkIndex):
                chunks.append(record)
        return schemas, channels, chunks

    def messages(self, chunks: list[ChunkIndex], wanted: set[int], window: Window
                 ) -> Iterable[Message]:
        """The wanted messages of ``chunks``, adjacent ones read in one request; counts the
        length of each chunk that held one as needed."""
        for run in _runs(chunks):
            start = run[0].chunk_start_offset
            data = self.read(start, run[-1].chunk_start_offset + run[-1].chunk_length)
            self.fetched.chunk_bytes += len(data)
            for index in run:
                offset = index.chunk_start_offset - start
                record = next(iter(StreamReader(io.BytesIO(
                    data[offset:offset + index.chunk_length]), skip_magic=True,
                    emit_chunks=True).records), None)
                if not isinstance(record, Chunk):
                    raise ExportError(f"{self.key}: no chunk at {index.chunk_start_offset}")
                held = False
                for message in breakup_chunk(record, validate_crc=True):
                    if (isinstance(message, Message) and message.channel_id in wanted
                            and window.since <= message.log_time <= window.until):
                        held = True
                        yield message
                self.fetched.needed_bytes += index.chunk_length if held else 0


def _runs(chunks: list[ChunkIndex]) -> list[list[ChunkIndex]]:
    runs: list[list[ChunkIndex]] = []
    for index in sorted(chunks, key=lambda c: c.chunk_start_offset):
        if runs and runs[-1][-1].chunk_start_offset + runs[-1][-1].chunk_length \
                == index.chunk_start_offset:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _slice(source: RangeFile, window: Window, topics: dict[str, Topic]
           ) -> list[tuple[int, int, str, bytes]]:
    """The window's messages of one file (log time, publish time, topic, data); ``topics``
    learns each wanted topic it holds."""
    schemas, channels, chunks = source.summary()
    wanted = {cid for cid, c in channels.items() if window.wants(c.topic)
              and c.schema_id in schemas}
    overlapping = [c for c in chunks if c.message_start_time <= window.until
                   and c.message_end_time >= window.since
                   and wanted & set(c.message_index_offsets)]
    for cid in wanted:
        topics.setdefault(channels[cid].topic,
                          topic_of(schemas[channels[cid].schema_id], channels[cid]))
    picked = []
    for message in source.messages(overlapping, wanted, window):
        name = channels[message.channel_id].topic
        picked.append((message.log_time, message.publish_time, name, message.data))
        source.fetched.messages[name] = source.fetched.messages.get(name, 0) + 1
    return picked


def export(bucket: Bucket, files: Iterable[dict], window: Window, bag_dir: str,
           problem: Callable[[str], None]) -> Fetched:
    """``files``: catalog rows (key, size) of the files that meet the window. Writes the
    slice as a bag in ``bag_dir``; a file that cannot be sliced is told to ``problem``."""
    fetched = Fetched()
    picked: list[tuple[int, int, str, bytes]] = []
    topics: dict[str, Topic] = {}
    for row in files:
        try:
            picked += _slice(RangeFile(bucket, row["key"], row["size"], fetched), window,
                             topics)
        except ExportError as error:
            problem(f"{error}; its messages are not in the export")
    picked.sort(key=lambda m: m[:2])
    writer = BagWriter(bag_dir, max_file_bytes=1 << 40, max_file_duration_ns=1 << 62,
                       chunk_size=CHUNK_SIZE)
    try:
        for described in topics.values():
            writer.add_topic(described)
        for log_time, publish_time, name, data in picked:
            writer.write(name, log_time, publish_time, data)
    finally:
        writer.close()
    return fetched


def rows_for(files: Iterable[dict], window: Window) -> list[dict]:
    """The bag files among catalog rows that can hold the window's topics."""
    return [row for row in files if row["key"].endswith(".mcap")
            and (not window.topics or window.topics & set(row["topics"]))]


def bag_path(directory: str, robot: str, since: int, until: int) -> str:
    """The slice's bag directory: the robot and the window, readable and filesystem-safe."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in robot)
    return os.path.join(directory, f"export_{safe}_{since}_{until}")
