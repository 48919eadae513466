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
    """Topic → [[latitude, longitude], ...] of the file's fix topics, every n-th message so
    that all of them hold ``MAX_POINTS`` at most (``reader``: an mcap reader of the file)."""
    topics = {channel.topic: channel_id for channel_id, channel in summary.channels.items()
              if summary.schemas.get(channel.schema_id) is not None
              and summary.schemas[channel.schema_id].name == NAVSATFIX}
    if not topics:
        return {}
    counts = summary.statistics.channel_message_counts if summary.statistics else {}
    total = sum(counts.get(channel_id, 0) for channel_id in topics.values())
    step = max(1, -(-total // MAX_POINTS))
    out: dict[str, list[list[float]]] = {}
    seen = 0
    for _, channel, message in reader.iter_messages(topics=list(topics)):
        seen += 1
        if seen % step:
            continue
        point = position(message.data)
        if point is not None:
            out.setdefault(channel.topic, []).append([round(point[0], 7), round(point[1], 7)])
    return out
