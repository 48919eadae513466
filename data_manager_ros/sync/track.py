"""Where a bag file's ``sensor_msgs/msg/NavSatFix`` topics say the robot went, decimated to
``MAX_POINTS``, for the fleet's catalog (upload metadata ``track``; the bag page draws it).

The upload process loads no rclpy (it must stay small and start fast), so the position is
read from the CDR by hand: after the 4-byte encapsulation header come the header's stamp
(two 32-bit integers), its frame_id (a 32-bit length, then that many bytes with the NUL),
the status (an int8, then a uint16 at a 2-byte boundary), then latitude and longitude as
float64 at an 8-byte boundary, alignment counted from the end of the encapsulation header.
"""

from __future__ import annotations

import math
import struct

NAVSATFIX = "sensor_msgs/msg/NavSatFix"
MAX_POINTS = 100  # per file, over its fix topics: a few KiB of metadata at most
MAX_CHUNKS = 10  # of a file, read for them


def position(cdr: bytes) -> tuple[float, float] | None:
    """(latitude, longitude) of a serialized NavSatFix; None when it holds no position (no
    fix: NaN) or is not one."""
    try:
        order = "<" if cdr[1] == 1 else ">"  # CDR_LE or CDR_BE
        body = memoryview(cdr)[4:]
        (length,) = struct.unpack_from(order + "I", body, 8)
        offset = 12 + length + 1  # frame_id with its NUL, then status.status
        offset += offset % 2 + 2  # status.service at a 2-byte boundary
        offset += -offset % 8
        latitude, longitude = struct.unpack_from(order + "dd", body, offset)
    except (IndexError, struct.error):
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)
            and -90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def track(reader, summary) -> dict[str, list[list[float]]]:
    """Topic → [[latitude, longitude], ...] of the file's fix topics, at most ``MAX_POINTS``
    in all, from at most ``MAX_CHUNKS`` of its chunks spread over the file (``reader``: an
    mcap reader of it). Every chunk holds fixes beside whatever else was recorded, so
    reading them all would cost the upload process a pass over each file (a point cloud
    topic makes that 128 MiB per file); a few chunks give the path."""
    topics = [channel.topic for channel in summary.channels.values()
              if summary.schemas.get(channel.schema_id) is not None
              and summary.schemas[channel.schema_id].name == NAVSATFIX]
    chunks = sorted(summary.chunk_indexes, key=lambda c: c.message_start_time)
    if not topics or not chunks:
        return {}
    spread = sorted({i * (len(chunks) - 1) // max(1, MAX_CHUNKS - 1)
                     for i in range(min(MAX_CHUNKS, len(chunks)))})
    per_chunk = max(1, MAX_POINTS // len(spread))
    out: dict[str, list[list[float]]] = {}
    for chunk in (chunks[i] for i in spread):
        found = [(channel.topic, message.data) for _, channel, message in reader.iter_messages(
            topics=topics, starting_at=chunk.message_start_time,
            ending_at=chunk.message_end_time)]
        for topic, data in found[::max(1, -(-len(found) // per_chunk))]:
            point = position(data)
            if point is not None:
                out.setdefault(topic, []).append([round(point[0], 7), round(point[1], 7)])
    return out
