"""The real rosbag2 judges the bags: rosbag2_py reads, reindexes and converts every kind of bag
the node writes, ``ros2 bag play`` plays one into a subscriber, and rosbag2's own writer makes
files with the same MCAP records as ours.

rosbag2 comes from ../shared/wheels here (.ci/setup) and from apt in a ROS image; on the
Jazzy leg it judges from the Kilted venv (helpers/judges.py) the bags written here with
Jazzy's messages. A skipped judge proves nothing: none is skipped.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest
import yaml
from mcap.reader import make_reader
from mcap.records import Channel, Metadata, Schema, SummaryOffset
from mcap.stream_reader import StreamReader
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message

from data_manager_ros.bag.metadata import TOP_KEY, BagMetadata
from data_manager_ros.bag.writer import BagWriter
from data_manager_ros.node.message_types import message_class
from helpers import judges
from helpers.bag_samples import NAVSAT, START_NS, fix, topic, write_bag, write_recovered_bag
from helpers.bags import assert_rosbag2_reads_every_message, read_rosbag2

KINDS: dict[str, Callable[[str], None]] = {
    "plain": write_bag,
    "split": lambda bag: write_bag(bag, count=2000, max_file_bytes=64 * 1024),
    "zstd": lambda bag: write_bag(bag, count=2000, max_file_bytes=64 * 1024,
                                  compression="zstd"),
    "lz4": lambda bag: write_bag(bag, compression="lz4"),
    "recovered": write_recovered_bag,
    "topic_from_graph": lambda bag: write_bag(bag, late_chatter=True),
    "paused_and_resumed": lambda bag: write_bag(bag, gap_at=150),
}


@pytest.fixture(params=sorted(KINDS))
def bag(request, tmp_path) -> str:
    path = str(tmp_path / "capture" / "bag")
    KINDS[request.param](path)
    return path


def metadata_yaml(bag: str) -> dict:
    with open(os.path.join(bag, "metadata.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)[TOP_KEY]


def test_rosbag2_reads_every_message_and_agrees_on_counts(bag):
    assert_rosbag2_reads_every_message(bag)
    count, paths = judges.call("info", bag)
    node_meta = BagMetadata.load(bag)
    assert count == sum(f.message_count for f in node_meta.files) > 0
    assert paths == [f.path for f in node_meta.files]


def test_rosbag2_reindexes_a_bag_that_lost_its_metadata_into_the_node_own(bag, tmp_path):
    node_meta = metadata_yaml(bag)
    os.unlink(os.path.join(bag, "metadata.yaml"))
    judges.call("reindex", bag)
    rebuilt = metadata_yaml(bag)

    def by_topic(meta: dict) -> dict:
        return {t["topic_metadata"]["name"]: t for t in meta["topics_with_message_count"]}

    assert by_topic(rebuilt) == by_topic(node_meta)
    same = ("version", "storage_identifier", "starting_time", "message_count",
            "relative_file_paths", "compression_format", "compression_mode", "ros_distro")
    assert {k: rebuilt[k] for k in same} == {k: node_meta[k] for k in same}
    # rosbag2's reindexer sums the files' durations and lists no per-file entries
    assert rebuilt["duration"]["nanoseconds"] == sum(
        f["duration"]["nanoseconds"] for f in node_meta["files"])


def test_ros2_bag_convert_copies_the_bag_message_for_message(bag, tmp_path):
    output = str(tmp_path / "converted")
    options = tmp_path / "convert.yaml"
    options.write_text(yaml.safe_dump({"output_bags": [
        {"uri": output, "storage_id": "mcap", "all_topics": True}]}))
    subprocess.run(judges.ros2("bag", "convert", "-i", bag, "-o", str(options)),
                   env=judges.env(), check=True, timeout=60)
    assert read_rosbag2(output) == read_rosbag2(bag)


def test_ros2_bag_play_delivers_every_message_to_a_subscriber(tmp_path):
    bag = str(tmp_path / "bag")
    write_bag(bag, count=600, max_file_bytes=16 * 1024)
    recorded = read_rosbag2(bag)
    counts, received = judges.call("play_raw", bag)

    def decoded(msg_type: str, raws: list[bytes]) -> list:  # DDS pads CDR to 4 bytes
        return [deserialize_message(raw, message_class(msg_type)) for raw in raws]

    assert counts == {"/gps": 600, "/chatter": 60}
    assert {name: decoded(recorded[name][0], raws) for name, raws in received.items()} == {
        name: decoded(msg_type, [data for _, data in messages])
        for name, (msg_type, messages) in recorded.items()}


def _rosbag2_writes(bag: str, messages: list[tuple[int, bytes]], profile: QoSProfile) -> None:
    gps = topic("/gps", NAVSAT, profile)
    judges.call("rosbag2_writes", bag, "/gps", NAVSAT,
                gps.channel_metadata["offered_qos_profiles"], gps.type_hash, messages,
                os.environ["ROS_DISTRO"], os.environ["AMENT_PREFIX_PATH"])


def _node_writes(bag: str, messages: list[tuple[int, bytes]], profile: QoSProfile) -> None:
    writer = BagWriter(bag, max_file_bytes=1 << 30, max_file_duration_ns=10**15,
                       chunk_size=768 * 1024)
    writer.add_topic(topic("/gps", NAVSAT, profile))
    for log_ns, data in messages:
        writer.write("/gps", log_ns, log_ns, data)
    writer.close()


def _records(path: str) -> dict:
    """An MCAP file as what a reader sees of it, without library name and chunk layout."""
    kinds: list[str] = []
    out: dict = {"schemas": [], "channels": [], "metadata": [], "summary_groups": set()}
    with open(path, "rb") as handle:
        for record in StreamReader(handle).records:
            kind = type(record).__name__
            if not kinds or kinds[-1] != kind:
                kinds.append(kind)
            if isinstance(record, Schema):
                out["schemas"].append((record.name, record.encoding, record.data))
            elif isinstance(record, Channel):
                out["channels"].append((record.topic, record.message_encoding, record.metadata))
            elif isinstance(record, Metadata):
                out["metadata"].append(
                    (record.name, yaml.safe_load(record.metadata["serialized_metadata"])))
            elif isinstance(record, SummaryOffset) and record.group_length:
                out["summary_groups"].add(record.group_opcode)
        handle.seek(0)
        reader = make_reader(handle)
        out["profile"] = reader.get_header().profile
        out["messages"] = [(c.topic, m.sequence, m.log_time, m.publish_time, m.data)
                           for _, c, m in reader.iter_messages()]
    out["kinds"] = [k for k in kinds if k != "SummaryOffset"]
    return out


def test_node_and_rosbag2_files_have_the_same_mcap_records(tmp_path):
    os.environ.setdefault("ROS_DISTRO", "kilted")  # rosbag2 reads it, as the node does
    profile = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    messages = [(START_NS + i * 1000, serialize_message(fix(i))) for i in range(50)]
    _node_writes(str(tmp_path / "ours" / "bag"), messages, profile)
    _rosbag2_writes(str(tmp_path / "theirs" / "bag"), messages, profile)
    ours = _records(str(tmp_path / "ours" / "bag" / "bag_0.mcap"))
    theirs = _records(str(tmp_path / "theirs" / "bag" / "bag_0.mcap"))
    assert ours == theirs
    assert [name for name, _ in ours["metadata"]] == ["rosbag2", "rosbag2"]
    assert ours["profile"] == "ros2" and len(ours["messages"]) == 50

