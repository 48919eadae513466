"""The MCAP writer against readers nobody here wrote: the mcap library's indexed reader and its
streaming reader, both checking every CRC, over small messages in chunks, large ones in
chunks of their own written from the caller's buffer, schemas registered between them, and
compressed files."""

from __future__ import annotations

import ctypes
import mmap
import os

import pytest
from mcap.reader import make_reader
from mcap.stream_reader import StreamReader

from data_manager_ros.bag.mcap_file import McapFile, Topic
from data_manager_ros.bag.mcap_writer import LARGE_MESSAGE_BYTES, McapWriter
from data_manager_ros.bag.message_definitions import message_definition, type_hash


def write(path: str, compression: str) -> list[tuple[int, int, bytes]]:
    """A file whose second channel starts with a large message; returns (channel, log time,
    data) of every message in write order."""
    written = []
    with open(path, "wb", buffering=0) as handle:
        writer = McapWriter(handle.fileno(), chunk_size=4096, compression=compression)
        writer.start("ros2", "test")
        writer.add_metadata("rosbag2", {"serialized_metadata": "opening"})
        schema = writer.register_schema("pkg/msg/Small", "ros2msg", b"uint8 x")
        small = writer.register_channel("/small", "cdr", schema, {"k": "v"})
        for index in range(300):
            data = os.urandom(100 + index)
            writer.add_message(small, 1000 + index, data, 900 + index)
            written.append((small, 1000 + index, data))
        big_schema = writer.register_schema("pkg/msg/Big", "ros2msg", b"uint8[] data")
        big = writer.register_channel("/big", "cdr", big_schema, {})
        for index in range(3):  # the first one carries the schema and channel records
            data = memoryview(os.urandom(LARGE_MESSAGE_BYTES + index))
            writer.add_message(big, 2000 + index, data, 1990 + index)
            written.append((big, 2000 + index, bytes(data)))
            writer.add_message(small, 2000 + index, b"between", 1990 + index)
            written.append((small, 2000 + index, b"between"))
        writer.flush()
        writer.add_metadata("rosbag2", {"serialized_metadata": "closing"})
        writer.finish()
        assert writer.offset == handle.tell()
    return written


@pytest.mark.parametrize("compression", ["none", "zstd", "lz4"])
def test_indexed_and_streaming_readers_read_every_message_with_valid_crcs(tmp_path,
                                                                          compression):
    path = str(tmp_path / "f.mcap")
    written = write(path, compression)
    with open(path, "rb") as handle:
        reader = make_reader(handle, validate_crcs=True)
        summary = reader.get_summary()
        read = [(m.channel_id, m.log_time, m.data) for _, _, m in
                reader.iter_messages(log_time_order=False)]
        metadata = [m.metadata["serialized_metadata"] for m in reader.iter_metadata()]
    assert sorted(read) == sorted(written)
    assert metadata == ["opening", "closing"]
    statistics = summary.statistics
    assert statistics.message_count == len(written) and statistics.chunk_count == len(
        summary.chunk_indexes)
    assert (statistics.message_start_time, statistics.message_end_time) == (1000, 2002)
    assert dict(statistics.channel_message_counts) == {1: 303, 2: 3}
    assert {c.topic for c in summary.channels.values()} == {"/small", "/big"}
    # streaming, as recovery reads an unfinished file: each channel precedes its messages
    with open(path, "rb") as handle:
        seen, streamed = set(), []
        for record in StreamReader(handle, validate_crcs=True).records:
            kind = type(record).__name__
            if kind == "Channel":
                seen.add(record.id)
            elif kind == "Message":
                assert record.channel_id in seen
                streamed.append((record.channel_id, record.log_time, record.data))
    assert streamed == written


def resident_pages(path: str) -> tuple[int, int]:
    """(pages of ``path`` in the page cache, pages of the file), by mincore(2)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = os.path.getsize(path)
    pages = -(-size // mmap.PAGESIZE)
    with open(path, "rb") as handle:  # mapped, never read: mapping faults nothing in
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, handle.fileno(), 0)
        assert address not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        try:
            vector = ctypes.create_string_buffer(pages)
            assert libc.mincore(address, size, vector) == 0, os.strerror(ctypes.get_errno())
        finally:
            libc.munmap(address, size)
    return sum(byte & 1 for byte in vector.raw), pages


def test_what_sync_made_durable_leaves_the_page_cache(tmp_path):
    """A bag is read again only by the uploader, later: kept cached, a camera's bytes took
    fresh memory page by page, at a fifth of the copy's speed (docs/performance.md)."""
    cloud = "sensor_msgs/msg/PointCloud2"
    file = McapFile(str(tmp_path / "bag_0.mcap"), 768 * 1024, "opening")
    file.add_topic(Topic("/cloud", cloud, (), type_hash(cloud), message_definition(cloud)))
    for index in range(8):
        file.write("/cloud", index, index, os.urandom(1 << 20))
    file.flush()
    cached, pages = resident_pages(file.active_path)
    assert cached > pages // 2, "written but not yet synced: still cached"
    file.sync()
    cached, pages = resident_pages(file.active_path)
    assert cached <= 1, f"{cached} of {pages} pages still cached after sync"  # a partial last
    file.abandon()
