"""Bags as written by BagWriter, checked with readers nobody here wrote."""

from __future__ import annotations

import os

import pytest
import yaml
from ament_index_python.packages import get_package_share_directory
from mcap.reader import make_reader
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from sensor_msgs.msg import NavSatFix

from data_manager_ros.bag.mcap_file import Topic
from data_manager_ros.bag.message_definitions import (
    MessageDefinition,
    message_definition,
    type_hash,
)
from data_manager_ros.bag.recovery import recover_capture_dir
from data_manager_ros.bag.writer import BagWriter
from helpers import judges
from helpers.bag_samples import NAVSAT, fix, write_bag, write_crashed_bag
from helpers.bags import read_mcap
from helpers.small_fs import fill, small_tmpfs


def test_schema_text_is_rosbag2_layout():
    definition = message_definition(NAVSAT)
    assert definition.encoding == "ros2msg"
    text = definition.text
    sections = text.split("\n" + "=" * 80 + "\n")
    assert [s.splitlines()[0] for s in sections[1:]] == [
        "MSG: sensor_msgs/NavSatStatus", "MSG: std_msgs/Header", "MSG: builtin_interfaces/Time"]
    # where the ament index finds sensor_msgs: a sourced workspace puts its own prefix first
    share = os.path.join(get_package_share_directory("sensor_msgs"), "msg", "NavSatFix.msg")
    with open(share, encoding="utf-8") as handle:
        assert sections[0] == handle.read()
    assert type_hash(NAVSAT).startswith("RIHS01_")


IDL_ONLY = """// an interface written in IDL, with no .msg
#include "std_msgs/msg/Header.idl"
#include "sensor_msgs/msg/NavSatStatus.idl"

module idl_only_msgs {
  module msg {
    struct Fix {
      std_msgs::msg::Header header;
      sensor_msgs::msg::NavSatStatus status;
    };
  };
};
"""


def test_a_type_defined_only_in_idl_gets_rosbag2s_ros2idl_text_and_an_unknown_type_none(
        tmp_path, monkeypatch):
    """rosbag2's own definition source (in rosbag2_py) is the judge: .msg first, then .idl,
    then encoding 'unknown' with no text (where rosbag2's writer catches its error)."""
    prefix = tmp_path / "prefix"
    (prefix / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (prefix / "share" / "ament_index" / "resource_index" / "packages" / "idl_only_msgs").touch()
    (prefix / "share" / "idl_only_msgs" / "msg").mkdir(parents=True)
    (prefix / "share" / "idl_only_msgs" / "msg" / "Fix.idl").write_text(IDL_ONLY)
    monkeypatch.setenv("AMENT_PREFIX_PATH",
                       os.pathsep.join([str(prefix), os.environ["AMENT_PREFIX_PATH"]]))
    ours = message_definition("idl_only_msgs/msg/Fix")
    theirs = judges.call("definition", "idl_only_msgs/msg/Fix", os.environ["ROS_DISTRO"],
                         os.environ["AMENT_PREFIX_PATH"])
    assert (ours.encoding, ours.text) == theirs
    assert ours.encoding == "ros2idl" and "IDL: builtin_interfaces/msg/Time" in ours.text
    assert message_definition("idl_only_msgs/msg/Missing") == MessageDefinition("unknown", "")

    writer = BagWriter(str(tmp_path / "bag"), max_file_bytes=1 << 30,
                       max_file_duration_ns=10**15, chunk_size=4096)
    writer.add_topic(Topic("/fix", "idl_only_msgs/msg/Fix", (), "", ours))
    writer.write("/fix", 1, 1, b"\0\1\0\0")
    writer.close()
    with open(tmp_path / "bag" / "bag_0.mcap", "rb") as handle:
        [schema] = make_reader(handle).get_summary().schemas.values()
    assert (schema.encoding, schema.data.decode()) == ("ros2idl", ours.text)


def test_bag_opens_in_rosbags_and_values_decode_from_embedded_schema(tmp_path):
    write_bag(tmp_path / "bag")
    with Reader(tmp_path / "bag") as reader:
        assert reader.message_count == 330
        connections = {c.topic: c for c in reader.connections}
        assert connections["/gps"].msgtype == NAVSAT
        assert connections["/gps"].msgcount == 300
        store = get_typestore(Stores.EMPTY)
        store.register(get_types_from_msg(connections["/gps"].msgdef.data, NAVSAT))
        decoded = [store.deserialize_cdr(raw, NAVSAT)
                   for conn, _, raw in reader.messages([connections["/gps"]])]
    assert [m.latitude for m in decoded] == [float(i) for i in range(300)]
    assert decoded[7].header.frame_id == "gps7" and decoded[7].longitude == -10.5


def test_metadata_yaml_is_version_9(tmp_path):
    write_bag(tmp_path / "bag")
    with open(tmp_path / "bag" / "metadata.yaml", encoding="utf-8") as handle:
        info = yaml.safe_load(handle)["rosbag2_bagfile_information"]
    assert info["version"] == 9 and info["storage_identifier"] == "mcap"
    assert info["relative_file_paths"] == ["bag_0.mcap"]
    gps = next(t for t in info["topics_with_message_count"]
               if t["topic_metadata"]["name"] == "/gps")
    assert gps["message_count"] == 300
    assert gps["topic_metadata"]["offered_qos_profiles"][0]["reliability"] == "reliable"
    assert gps["topic_metadata"]["type_description_hash"] == type_hash(NAVSAT)
    assert info["duration"]["nanoseconds"] == 299 * 1_000_000


def test_every_message_round_trips_through_mcap_reader_and_rclpy(tmp_path):
    write_bag(tmp_path / "bag")
    messages = read_mcap(str(tmp_path / "bag" / "bag_0.mcap"))
    assert messages["/gps"] == [fix(i) for i in range(300)]
    assert [m.data for m in messages["/chatter"]] == [f"hello {i}" for i in range(0, 300, 10)]
    with open(tmp_path / "bag" / "bag_0.mcap", "rb") as handle:
        reader = make_reader(handle)
        channel = next(c for c in reader.get_summary().channels.values() if c.topic == "/gps")
        assert set(channel.metadata) == {"offered_qos_profiles", "topic_type_hash"}
        assert any(m.name == "rosbag2" for m in reader.iter_metadata())


def test_split_files_are_each_readable_alone(tmp_path):
    write_bag(tmp_path / "bag", count=2000, max_file_bytes=64 * 1024)
    files = sorted(os.listdir(tmp_path / "bag"))
    mcaps = [f for f in files if f.endswith(".mcap")]
    assert len(mcaps) >= 3 and not any(f.endswith(".active") for f in files)
    seen = []
    for name in sorted(mcaps, key=lambda n: int(n.rsplit("_", 1)[1].split(".")[0])):
        seen += [int(m.latitude) for m in read_mcap(str(tmp_path / "bag" / name))["/gps"]]
    assert seen == list(range(2000))
    with Reader(tmp_path / "bag") as reader:
        assert reader.message_count == 2200


def test_a_duration_split_cuts_at_the_first_message_past_the_limit(tmp_path):
    """As rosbag2: each file spans less than the limit, however seldom the writer ticks."""
    second = 1_000_000_000
    writer = BagWriter(str(tmp_path / "bag"), max_file_bytes=1 << 30,
                       max_file_duration_ns=2 * second, chunk_size=4096)
    writer.add_topic(Topic("/gps", NAVSAT, (), type_hash(NAVSAT), message_definition(NAVSAT)))
    for i in range(70):  # 7 s at 10 Hz, no tick()
        t = 10**18 + i * second // 10
        writer.write("/gps", t, t, serialize_message(fix(i)))
    writer.close()
    with open(tmp_path / "bag" / "metadata.yaml", encoding="utf-8") as handle:
        files = yaml.safe_load(handle)["rosbag2_bagfile_information"]["files"]
    spans = [f["duration"]["nanoseconds"] for f in files]
    assert [f["message_count"] for f in files] == [20, 20, 20, 10]
    assert all(span < 2 * second for span in spans), spans


def test_sigkill_loses_only_unflushed_messages_and_recovery_finalizes(tmp_path):
    bag = tmp_path / "capture" / "bag"
    write_crashed_bag(bag)
    assert sorted(os.listdir(bag)) == [".recording", "bag_0.mcap.active"]
    with pytest.raises(FileNotFoundError, match="metadata"):
        with Reader(bag):
            pass

    reports = recover_capture_dir(str(tmp_path / "capture"), 4096)
    assert [r.salvaged_messages for r in reports] == [700]
    assert sorted(os.listdir(bag)) == ["bag_0.mcap", "metadata.yaml"]
    with Reader(bag) as reader:
        raw = [r for _, _, r in reader.messages()]
    assert [deserialize_message(r, NavSatFix) for r in raw] == [fix(i) for i in range(700)]
    assert recover_capture_dir(str(tmp_path / "capture"), 4096) == []


def test_a_bag_that_cannot_be_recovered_is_reported_and_left_alone(tmp_path):
    capture = tmp_path / "capture"
    write_bag(capture / "good")
    (capture / "good" / ".recording").write_text("1")
    (capture / "bad").mkdir()
    (capture / "bad" / ".recording").write_text("1")
    (capture / "bad" / "metadata.yaml").write_text("rosbag2_bagfile_information: [garbled")
    reports = {os.path.basename(r.bag_dir): r for r in recover_capture_dir(str(capture), 4096)}
    assert "garbled" in (capture / "bad" / "metadata.yaml").read_text()
    assert reports["bad"].error.startswith(("ParserError", "ScannerError"))
    assert reports["good"].error == "" and not (capture / "good" / ".recording").exists()


def test_a_salvage_that_cannot_be_written_keeps_the_original_and_says_so(tmp_path):
    """A full disk while salvaging: the torn original stays as it was, no partial copy is
    left, the report names the error, and the next try (with room) salvages it."""
    with small_tmpfs(tmp_path / "small", "4m") as mount:
        bag = mount / "capture" / "bag"
        write_crashed_bag(bag)
        original = (bag / "bag_0.mcap.active").read_bytes()
        fill(mount / "filler")
        [report] = recover_capture_dir(str(mount / "capture"), 4096)
        assert "No space left on device" in report.error
        assert sorted(os.listdir(bag)) == [".recording", "bag_0.mcap.active"]
        assert (bag / "bag_0.mcap.active").read_bytes() == original
        (mount / "filler").unlink()
        assert [r.salvaged_messages for r in recover_capture_dir(str(mount / "capture"),
                                                                 4096)] == [700]
        assert sorted(os.listdir(bag)) == ["bag_0.mcap", "metadata.yaml"]


def test_a_crashed_bag_whose_own_files_were_damaged_is_recovered_and_the_damage_kept(tmp_path):
    """Node stopped, then its bookkeeping damaged: the recording marker is a directory and
    a torn file is garbage from its first byte. Recovery finishes the bag (its good file
    intact), sets the directory aside, and keeps the garbage as found, named in a file of
    its own that holds no message."""
    capture = tmp_path / "capture"
    bag = capture / "bag"
    write_crashed_bag(bag)
    (bag / ".recording").unlink()
    (bag / ".recording").mkdir()
    garbage = os.urandom(5000)
    (bag / "bag_1.mcap.active").write_bytes(garbage)
    [report] = recover_capture_dir(str(capture), 4096)
    assert report.error == "", report.error
    names = sorted(os.listdir(bag))
    assert [n for n in names if n.startswith(".recording.damaged-")]
    [kept] = [n for n in names if n.startswith("bag_1.mcap.active.damaged-")]
    assert (bag / kept).read_bytes() == garbage
    assert "bag_0.mcap" in names and report.salvaged_messages == 700
    assert sorted(os.path.basename(p) for p in report.set_aside) == sorted(
        n for n in names if ".damaged-" in n)


def test_a_bag_of_topics_that_never_published_has_one_file_with_their_channels(tmp_path):
    """As rosbag2 writes it (include_unpublished_topics with nothing published): a file that
    holds the channels and no message, listed by metadata.yaml, read by rosbags."""
    from helpers.bag_samples import topic

    writer = BagWriter(str(tmp_path / "bag"), max_file_bytes=1 << 30,
                       max_file_duration_ns=10**15, chunk_size=4096)
    writer.add_topic(topic("/late_text", "std_msgs/msg/String"))
    writer.close()
    assert sorted(os.listdir(tmp_path / "bag")) == ["bag_0.mcap", "metadata.yaml"]
    with open(tmp_path / "bag" / "bag_0.mcap", "rb") as handle:
        summary = make_reader(handle).get_summary()
    assert [c.topic for c in summary.channels.values()] == ["/late_text"]
    assert summary.statistics.message_count == 0
    with Reader(tmp_path / "bag") as reader:
        assert [c.topic for c in reader.connections] == ["/late_text"]
        assert reader.message_count == 0
