"""The topic selection against the real ``ros2 bag record``: one graph, both recorders at
once with the same selection, the same recorded topics (and service events)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import yaml
from mcap.reader import make_reader

from data_manager_ros.bag.message_definitions import UnknownMessageType
from data_manager_ros.node.message_types import message_class
from helpers import judges
from helpers.bags import bag_dirs
from helpers.processes import NodeProcess, stopped_after, wait_for, write_config

RECORD_S = 4.0

# name: (data manager attributes, `ros2 bag record` options)
SELECTIONS = {
    "all": ({"all_topics": True}, ["--all-topics"]),
    "regex": ({"topics_regex": "^/cam|imu"}, ["-e", "^/cam|imu"]),
    "all_exclude_regex": ({"all_topics": True, "exclude_regex": "^/debug|image"},
                          ["--all-topics", "--exclude-regex", "^/debug|image"]),
    "topic_types": ({"topic_types": ["sensor_msgs/msg/Imu", "std_msgs/msg/String"]},
                    ["--topic-types", "sensor_msgs/msg/Imu", "std_msgs/msg/String"]),
    "exclude_types": ({"all_topics": True, "exclude_topic_types": ["std_msgs/msg/String"],
                       "exclude_topics": ["/count"]},
                      ["--all-topics", "--exclude-topic-types", "std_msgs/msg/String",
                       "--exclude-topics", "/count"]),
    "hidden": ({"all_topics": True, "include_hidden_topics": True},
               ["--all-topics", "--include-hidden-topics"]),
    "unpublished": ({"all_topics": True, "include_unpublished_topics": True},
                    ["--all-topics", "--include-unpublished-topics"]),
    "all_services": ({"all_services": True}, ["--all-services"]),
    "services": ({"services": ["/reset"]}, ["--services", "/reset"]),
}


PUBLISHED = {"/battery", "/cam0/image", "/cam1/image", "/count", "/debug/level", "/debug/text",
             "/flag", "/gps/fix", "/imu", "/scan", "/status", "/temperature"}
HIDDEN = {"/_hidden/state", "/robot/_private"}
EVENTS = {"/reset/_service_event"}
GRAPH_TOPICS = PUBLISHED | HIDDEN | EVENTS | {"/commands"}
EXPECTED = {
    "all": PUBLISHED,
    "regex": {"/cam0/image", "/cam1/image", "/imu"},
    "all_exclude_regex": PUBLISHED - {"/cam0/image", "/cam1/image", "/debug/level",
                                      "/debug/text"},
    "topic_types": {"/imu", "/status", "/debug/text"},
    "exclude_types": PUBLISHED - {"/status", "/debug/text", "/count"},
    "hidden": PUBLISHED | HIDDEN,
    "unpublished": PUBLISHED | {"/commands"},
    "all_services": EVENTS,
    "services": EVENTS,
}


def recorded_topics(bag: str) -> dict[str, str]:
    """topic → type, as metadata.yaml lists them."""
    with open(os.path.join(bag, "metadata.yaml"), encoding="utf-8") as handle:
        info = yaml.safe_load(handle)["rosbag2_bagfile_information"]
    return {t["topic_metadata"]["name"]: t["topic_metadata"]["type"]
            for t in info["topics_with_message_count"]}


def installed(msg_type: str) -> bool:
    try:
        message_class(msg_type)
    except UnknownMessageType:
        return False
    return True


def definition(text: bytes) -> bytes:
    """A message definition as rosbag2 writes it, without comments where the judge's distro is
    not the node's: Kilted's and Jazzy's .msg files differ in comments only."""
    if judges.IN_PROCESS:
        return text
    lines = (line.split(b"#", 1)[0].rstrip() for line in text.splitlines())
    return b"\n".join(line for line in lines if line)


@pytest.mark.parametrize("case", SELECTIONS)
def test_the_node_records_the_topics_ros2_bag_record_records(tmp_path, mixed_graph, case):
    attributes, options = SELECTIONS[case]
    path = write_config(str(tmp_path / "dm.yaml"), {}, capture_dir=str(tmp_path / "capture"),
                        sync_disabled=True, **attributes)
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    recorder = subprocess.Popen(judges.ros2("bag", "record", "-s", "mcap", "-o",
                                            str(tmp_path / "rosbag2"), *options),
                                env=judges.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    with stopped_after(node):
        try:
            node.wait_log("recording into", 30)
            wait_for(lambda: os.path.exists(tmp_path / "rosbag2"), 30, "rosbag2's bag")
            # both poll the graph every 100 ms: a few seconds see every topic, each other's too
            time.sleep(RECORD_S)
        finally:
            recorder.send_signal(signal.SIGINT)
            output = recorder.communicate(timeout=30)[0]
    [ours] = bag_dirs(str(tmp_path / "capture"))
    theirs = recorded_topics(str(tmp_path / "rosbag2"))
    # on the Jazzy leg rosbag2 records from Kilted: its own events (rosbag2_interfaces),
    # which this distro has no build of, are no topic the node could record
    theirs = {topic for topic in theirs if installed(theirs[topic])}
    assert set(recorded_topics(ours)) == set(theirs), output
    assert set(theirs) & GRAPH_TOPICS == EXPECTED[case]  # the graph as the case selects it
    assert schemas(ours) == {topic: schema for topic, schema in
                             schemas(str(tmp_path / "rosbag2")).items() if topic in theirs}
    if "services" in case:  # rosbag2 lists a service event topic as a service of its own
        info = subprocess.run(judges.ros2("bag", "info", ours), env=judges.env(),
                              capture_output=True, text=True, check=True).stdout
        assert "Service: /reset | Type: std_srvs/srv/Trigger | Event Count:" in info, info


def schemas(bag: str) -> dict[str, tuple[str, str, bytes]]:
    """topic → (schema name, encoding, data) over the bag's MCAP files."""
    out = {}
    for name in sorted(os.listdir(bag)):
        if name.endswith(".mcap"):
            with open(os.path.join(bag, name), "rb") as handle:
                summary = make_reader(handle).get_summary()
            for channel in summary.channels.values():
                schema = summary.schemas[channel.schema_id]
                out[channel.topic] = (schema.name, schema.encoding, definition(schema.data))
    return out
