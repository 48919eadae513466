"""Reading bags with readers nobody here wrote: rosbags, mcap, rclpy."""

from __future__ import annotations

import glob
import os

from mcap.reader import make_reader
from rclpy.serialization import deserialize_message
from rosbags.rosbag2 import Reader

from data_manager_ros.topic_recorder import message_class


def bag_dirs(capture_dir: str) -> list[str]:
    return sorted(d for d in glob.glob(os.path.join(capture_dir, "rosbag2_*")) if os.path.isdir(d))


def read_bag(bag_dir: str) -> dict[str, list]:
    """topic → messages (rclpy objects), through rosbags' rosbag2 reader (metadata.yaml)."""
    out: dict[str, list] = {}
    with Reader(bag_dir) as reader:
        for connection, _, raw in reader.messages():
            cls = message_class(connection.msgtype)
            out.setdefault(connection.topic, []).append(deserialize_message(raw, cls))
    return out


def closed_messages(bag: str, since_ns: int) -> dict[str, list[int]]:
    """topic → log times after ``since_ns`` in the closed files of a bag being written."""
    out: dict[str, list[int]] = {}
    for name in sorted(os.listdir(bag)):
        if name.endswith(".mcap"):
            with open(os.path.join(bag, name), "rb") as handle:
                for _, channel, message in make_reader(handle).iter_messages():
                    if message.log_time >= since_ns:
                        out.setdefault(channel.topic, []).append(message.log_time)
    return out


def read_mcap(path: str) -> dict[str, list]:
    """topic → messages, through mcap's own reader of one file alone."""
    out: dict[str, list] = {}
    with open(path, "rb") as handle:
        reader = make_reader(handle)
        assert reader.get_header().profile == "ros2"
        for schema, channel, message in reader.iter_messages():
            assert schema.encoding == "ros2msg" and channel.message_encoding == "cdr"
            cls = message_class(schema.name)
            out.setdefault(channel.topic, []).append(deserialize_message(message.data, cls))
    return out
