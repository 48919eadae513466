"""Bags written by BagWriter the ways the node writes them, for the format tests."""

from __future__ import annotations

import os
import signal

from rclpy.qos import QoSProfile
from rclpy.serialization import serialize_message
from sensor_msgs.msg import NavSatFix
from std_msgs.msg import String

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.bag.message_definitions import message_definition, type_hash
from data_manager_ros.bag.qos import profile_to_dict
from data_manager_ros.bag.recovery import recover_capture_dir
from data_manager_ros.bag.writer import BagWriter
from data_manager_ros.capture.writer_settings import WriterSettings

NAVSAT = "sensor_msgs/msg/NavSatFix"
START_NS = 1_700_000_000_000_000_000
# the MessageInfo of a message whose publisher sent no source timestamp (receive time is kept)
RECEIVED = {"source_timestamp": 0, "received_timestamp": 0}


def topic(name: str, msg_type: str, profile: QoSProfile | None = None) -> Topic:
    return Topic(name, msg_type, (profile_to_dict(profile or QoSProfile(depth=10)),),
                 type_hash(msg_type), message_definition(msg_type))


def fix(i: int) -> NavSatFix:
    msg = NavSatFix(latitude=float(i), longitude=-1.5 * i, altitude=2.0)
    msg.header.frame_id = f"gps{i}"
    msg.header.stamp.sec = i
    return msg


def write_bag(bag_dir, count: int = 300, max_file_bytes: int = 1 << 30,
              compression: str = "none", late_chatter: bool = False,
              gap_at: int | None = None) -> None:
    """/gps every 1 ms and /chatter every 10th. ``late_chatter``: /chatter is added halfway
    through a file, as a topic whose type comes from the graph is; ``gap_at``: the file is
    closed there and writing resumes 10 s later, as after a pause for disk space."""
    writer = BagWriter(str(bag_dir), max_file_bytes=max_file_bytes,
                       max_file_duration_ns=10**15, chunk_size=4096, compression=compression)
    writer.add_topic(topic("/gps", NAVSAT))
    chatter = topic("/chatter", "std_msgs/msg/String")
    if not late_chatter:
        writer.add_topic(chatter)
    gap = 0
    for i in range(count):
        if i == count // 2:
            writer.add_topic(chatter)
        if i == gap_at:
            writer.split()
            gap = 10 * 1_000_000_000
        t = START_NS + i * 1_000_000 + gap
        writer.write("/gps", t, t, serialize_message(fix(i)))
        if i % 10 == 0 and (i >= count // 2 or not late_chatter):
            writer.write("/chatter", t, t, serialize_message(String(data=f"hello {i}")))
    writer.close()


def write_crashed_bag(bag_dir, count: int = 1000, flushed: int = 700) -> None:
    """A bag whose recorder was SIGKILLed after flushing ``flushed`` of ``count`` fixes."""
    pid = os.fork()
    if pid == 0:  # the recorder process, killed mid-write
        writer = BagWriter(str(bag_dir), max_file_bytes=1 << 30, max_file_duration_ns=10**15,
                           chunk_size=1 << 20)
        writer.add_topic(topic("/gps", NAVSAT))
        for i in range(count):
            writer.write("/gps", 10**18 + i, 10**18 + i, serialize_message(fix(i)))
            if i == flushed - 1:
                writer.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)


def write_recovered_bag(bag_dir) -> None:
    """A crashed bag after the node's recovery at its next start."""
    write_crashed_bag(bag_dir)
    recover_capture_dir(os.path.dirname(str(bag_dir)), 4096)


def engine_settings(capture_dir: str, **changes) -> WriterSettings:
    """CaptureEngine settings for tests: short flushes and retries, no free-space floor."""
    values = dict(capture_dir=capture_dir, max_file_bytes=1 << 30, max_file_duration_s=60.0,
                  chunk_size=4096, compression="none", flush_interval_s=0.1,
                  memory_budget_bytes=1 << 20, minimum_free_bytes=0, minimum_free_fraction=0.0,
                  retry_interval_s=0.2)
    values.update(changes)
    return WriterSettings(**values)
