"""An MCAP writer with the record layout of the ``mcap`` library's Writer (header, schemas and
channels inside the first chunk that holds a message, chunks each followed by their message
indexes, metadata records between chunks, a summary of schemas, channels, statistics, chunk
and metadata indexes, summary offsets, footer), written for a recorder's two extremes:

- a message of ``LARGE_MESSAGE_BYTES`` or more (a point cloud, an image) becomes a chunk of
  its own, handed to the OS with ``os.writev`` straight from the subscriber's buffer: its
  CRC is the one pass over it, with no copy into a chunk buffer, a record buffer and a
  stream buffer on the way (uncompressed files only: a compressed chunk needs its bytes);
- small messages are packed into a ``bytearray`` chunk with one ``struct`` call each and
  indexed in flat lists, the cost that bounds how many thousand a second are kept.

Not thread-safe: the writer thread owns it (the fsync thread only calls ``os.fsync`` on the
descriptor).
"""

from __future__ import annotations

import os
import struct
from collections import defaultdict
from collections.abc import Mapping, Sequence

try:  # ISA-L's CRC-32 (PCLMUL/VPCLMUL): 57 GB/s here against zlib's 4.3, which alone held the
    # large-message path to half the speed of a raw write; the same polynomial, same values
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - a ROS image without python3-isal
    from zlib import crc32

MAGIC = b"\x89MCAP0\r\n"
LARGE_MESSAGE_BYTES = 256 * 1024
_HEADER, _FOOTER, _SCHEMA, _CHANNEL, _MESSAGE, _CHUNK, _MESSAGE_INDEX, _CHUNK_INDEX = range(1, 9)
_STATISTICS, _METADATA, _METADATA_INDEX, _SUMMARY_OFFSET, _DATA_END = 0x0B, 0x0C, 0x0D, 0x0E, 0x0F
_ATTACHMENT_INDEX = 0x0A
_MESSAGE_HEAD = struct.Struct("<BQHIQQ")  # opcode, length, channel, sequence, log, publish
_MESSAGE_FIELDS = 2 + 4 + 8 + 8
Buffer = bytes | bytearray | memoryview  # what a subscription hands over


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<I", len(data)) + data


def _string_map(values: Mapping[str, str]) -> bytes:
    body = b"".join(_string(k) + _string(v) for k, v in values.items())
    return struct.pack("<I", len(body)) + body


def _record(opcode: int, body: bytes) -> bytes:
    return struct.pack("<BQ", opcode, len(body)) + body


def _compressor(compression: str):  # noqa: ANN202 - a callable bytes → bytes, or None
    if compression == "zstd":
        import zstandard
        return zstandard.compress
    if compression == "lz4":
        import lz4.frame
        return lz4.frame.compress
    return None


def _write_all(fd: int, buffers: Sequence[Buffer]) -> None:
    """``os.writev`` until every byte is written (it may take fewer at a time)."""
    views = [memoryview(b).cast("B") for b in buffers if len(memoryview(b))]
    while views:
        written = os.writev(fd, views)
        while written and views:
            if written >= len(views[0]):
                written -= len(views.pop(0))
            else:
                views[0], written = views[0][written:], 0


class McapWriter:
    def __init__(self, fd: int, chunk_size: int, compression: str = "none") -> None:
        self._fd = fd
        self._chunk_size = chunk_size
        self._compression = "" if compression == "none" else compression
        self._compress = _compressor(compression)
        self.offset = 0  # the file's length once everything given so far is written
        self._out: list[bytes] = []  # records not yet handed to the OS
        self._chunk = bytearray()  # records of the open chunk
        self._chunk_messages = 0
        self._chunk_start = self._chunk_end = 0
        self._index: dict[int, list[int]] = {}  # channel → log time, offset, log time, ...
        self._schemas: list[bytes] = []
        self._channels: list[bytes] = []
        self._chunk_indexes: list[bytes] = []
        self._metadata_indexes: list[bytes] = []
        self._counts: defaultdict[int, int] = defaultdict(int)
        self._messages = 0
        self._chunks = 0
        self._start = self._end = 0

    def _emit(self, data: bytes) -> None:
        self._out.append(data)
        self.offset += len(data)

    def start(self, profile: str, library: str) -> None:
        self._emit(MAGIC + _record(_HEADER, _string(profile) + _string(library)))

    def register_schema(self, name: str, encoding: str, data: bytes) -> int:
        schema_id = len(self._schemas) + 1
        record = _record(_SCHEMA, struct.pack("<H", schema_id) + _string(name)
                         + _string(encoding) + struct.pack("<I", len(data)) + data)
        self._schemas.append(record)
        self._chunk += record
        return schema_id

    def register_channel(self, topic: str, message_encoding: str, schema_id: int,
                         metadata: Mapping[str, str]) -> int:
        channel_id = len(self._channels) + 1
        record = _record(_CHANNEL, struct.pack("<HH", channel_id, schema_id) + _string(topic)
                         + _string(message_encoding) + _string_map(metadata))
        self._channels.append(record)
        self._chunk += record
        return channel_id

    def add_message(self, channel_id: int, log_time: int, data: Buffer, publish_time: int) -> None:
        size = len(memoryview(data))
        self._counts[channel_id] += 1
        if not self._messages:
            self._start = self._end = log_time
        elif log_time < self._start:
            self._start = log_time
        elif log_time > self._end:
            self._end = log_time
        self._messages += 1
        head = _MESSAGE_HEAD.pack(_MESSAGE, _MESSAGE_FIELDS + size, channel_id, 0, log_time,
                                  publish_time)
        if size >= LARGE_MESSAGE_BYTES and self._compress is None:
            self._direct_chunk(channel_id, log_time, head, data, size)
            return
        chunk = self._chunk
        if not self._chunk_messages:
            self._chunk_start = self._chunk_end = log_time
        elif log_time < self._chunk_start:
            self._chunk_start = log_time
        elif log_time > self._chunk_end:
            self._chunk_end = log_time
        entries = self._index.get(channel_id)
        if entries is None:
            entries = self._index[channel_id] = []
        entries += (log_time, len(chunk))
        chunk += head
        chunk += data
        self._chunk_messages += 1
        if len(chunk) > self._chunk_size:
            self._finish_chunk()

    def _chunk_head(self, start: int, end: int, size: int, crc: int, stored: int) -> bytes:
        compression = _string(self._compression)
        length = 8 * 3 + 4 + len(compression) + 8 + stored
        return (struct.pack("<BQQQQI", _CHUNK, length, start, end, size, crc) + compression
                + struct.pack("<Q", stored))

    def _finish_chunk(self) -> None:
        """Write the open chunk (when it holds a message) and its message indexes."""
        if not self._chunk_messages:
            return
        records = bytes(self._chunk)
        stored = self._compress(records) if self._compress else records
        head = self._chunk_head(self._chunk_start, self._chunk_end, len(records),
                                crc32(records), len(stored))
        start = self.offset
        self._emit(head)
        self._emit(stored)
        self._index_chunk(start, len(head) + len(stored), self._chunk_start, self._chunk_end,
                          len(stored), len(records))
        self._chunk = bytearray()
        self._chunk_messages = 0
        self._index = {}
        self.write_out()  # a chunk at a time, as a stream buffer of the chunk's size would

    def _direct_chunk(self, channel_id: int, log_time: int, head: bytes, data: Buffer,
                      size: int) -> None:
        """A chunk of one large message (and the schema and channel records still waiting
        for a chunk), written from ``data`` itself."""
        self._finish_chunk()
        pending = bytes(self._chunk)
        records = len(pending) + len(head) + size
        crc = crc32(data, crc32(head, crc32(pending)))
        chunk_head = self._chunk_head(log_time, log_time, records, crc, records)
        self._index = {channel_id: [log_time, len(pending)]}
        self.write_out()
        start = self.offset
        _write_all(self._fd, [chunk_head, pending, head, data])
        self.offset += len(chunk_head) + records
        self._index_chunk(start, len(chunk_head) + records, log_time, log_time, records,
                          records)
        self._chunk = bytearray()
        self._index = {}

    def _index_chunk(self, start: int, length: int, first: int, last: int, stored: int,
                     size: int) -> None:
        """The message indexes after a chunk, and the chunk's index for the summary."""
        self._chunks += 1
        index_start = self.offset
        offsets = b""
        for channel_id, entries in self._index.items():
            offsets += struct.pack("<HQ", channel_id, self.offset)
            self._emit(_record(_MESSAGE_INDEX, struct.pack("<HI", channel_id, 8 * len(entries))
                               + struct.pack(f"<{len(entries)}Q", *entries)))
        self._chunk_indexes.append(_record(_CHUNK_INDEX, struct.pack(
            "<QQQQ", first, last, start, length) + struct.pack("<I", len(offsets)) + offsets
            + struct.pack("<Q", self.offset - index_start) + _string(self._compression)
            + struct.pack("<QQ", stored, size)))

    def add_metadata(self, name: str, values: Mapping[str, str]) -> None:
        record = _record(_METADATA, _string(name) + _string_map(values))
        self._metadata_indexes.append(_record(_METADATA_INDEX, struct.pack(
            "<QQ", self.offset, len(record)) + _string(name)))
        self._emit(record)

    def write_out(self) -> None:
        """Hand every finished record to the OS (the open chunk stays open)."""
        if self._out:
            _write_all(self._fd, self._out)
            self._out = []

    def flush(self) -> None:
        """Close the open chunk and hand everything to the OS."""
        self._finish_chunk()
        self.write_out()

    def finish(self) -> None:
        """The last chunk, the summary and the footer: the file is complete."""
        self._finish_chunk()
        self._emit(_record(_DATA_END, struct.pack("<I", 0)))
        summary_start = self.offset
        counts = b"".join(struct.pack("<HQ", k, v) for k, v in self._counts.items())
        statistics = _record(_STATISTICS, struct.pack(
            "<QHIIIIQQ", self._messages, len(self._schemas), len(self._channels), 0,
            len(self._metadata_indexes), self._chunks, self._start, self._end)
            + struct.pack("<I", len(counts)) + counts)
        groups = [(_SCHEMA, b"".join(self._schemas)), (_CHANNEL, b"".join(self._channels)),
                  (_STATISTICS, statistics), (_CHUNK_INDEX, b"".join(self._chunk_indexes)),
                  (_ATTACHMENT_INDEX, b""), (_METADATA_INDEX, b"".join(self._metadata_indexes))]
        summary = b""
        offsets = b""
        for opcode, group in groups:
            offsets += _record(_SUMMARY_OFFSET, struct.pack(
                "<BQQ", opcode, summary_start + len(summary), len(group)))
            summary += group
        offset_start = summary_start + len(summary)
        summary += offsets
        footer_fields = struct.pack("<BQQQ", _FOOTER, 20, summary_start, offset_start)
        crc = crc32(footer_fields, crc32(summary))
        self._emit(summary + footer_fields + struct.pack("<I", crc) + MAGIC)
        self.write_out()
