"""The MCAP writer against readers nobody here wrote: the mcap library's indexed reader and its
streaming reader, both checking every CRC, over small messages in chunks, large ones in
chunks of their own written from the caller's buffer, schemas registered between them, and
compressed files."""

from __future__ import annotations

import os

import pytest
from mcap.reader import make_reader
from mcap.stream_reader import StreamReader

from data_manager_ros.bag.mcap_writer import LARGE_MESSAGE_BYTES, McapWriter


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
