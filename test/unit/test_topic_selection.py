"""The topic selection's rules (rosbag2's topic filter) and its settings, without a graph."""

from __future__ import annotations

import pytest

from data_manager_ros.bag.message_definitions import message_definition
from data_manager_ros.capture.topic_selection import TopicSelection, methods_for_graph
from data_manager_ros.config.params import config_from_params, config_to_params
from data_manager_ros.config.settings import (
    ConfigError,
    MethodConfig,
    custom_data_pairs,
    make_config,
    make_method,
    qos_overrides,
)
from data_manager_ros.sync.upload_metadata import UploadPolicy

STRING, INT = ["std_msgs/msg/String"], ["std_msgs/msg/Int32"]
EVENT = ["std_srvs/srv/Trigger_Event"]


def published(topic: str) -> bool:
    return topic != "/commands"


@pytest.mark.parametrize(("selection", "topic", "types", "taken"), [
    (TopicSelection(), "/a", STRING, False),  # nothing asked for
    (TopicSelection(all_topics=True), "/a", STRING, True),
    (TopicSelection(all_topics=True), "/a", STRING + INT, False),  # two types: never
    (TopicSelection(all_topics=True), "/robot/_private", STRING, False),
    (TopicSelection(all_topics=True, include_hidden_topics=True), "/robot/_private", STRING,
     True),
    (TopicSelection(all_topics=True), "/commands", STRING, False),  # no publisher
    (TopicSelection(all_topics=True, include_unpublished_topics=True), "/commands", STRING,
     True),
    (TopicSelection(regex="cam"), "/front/cam0", STRING, True),  # searched, not matched
    (TopicSelection(regex="^cam"), "/front/cam0", STRING, False),
    (TopicSelection(all_topics=True, exclude_regex="cam"), "/front/cam0", STRING, False),
    (TopicSelection(all_topics=True, exclude_topics=("/a",)), "/a", STRING, False),
    (TopicSelection(topic_types=("std_msgs/msg/Int32",)), "/a", INT, True),
    (TopicSelection(topic_types=("std_msgs/msg/Int32",)), "/a", STRING, False),
    (TopicSelection(all_topics=True, exclude_topic_types=("std_msgs/msg/String",)), "/a",
     STRING, False),
    # service events: only the service options (and the regex) take them
    (TopicSelection(all_topics=True, include_hidden_topics=True), "/reset/_service_event",
     EVENT, False),
    (TopicSelection(all_services=True), "/reset/_service_event", EVENT, True),
    (TopicSelection(services=("/reset/_service_event",)), "/reset/_service_event", EVENT, True),
    (TopicSelection(services=("/other/_service_event",)), "/reset/_service_event", EVENT,
     False),
    (TopicSelection(regex="^/res"), "/reset/_service_event", EVENT, True),
    (TopicSelection(all_services=True, exclude_regex="set$"), "/reset/_service_event", EVENT,
     False),
])
def test_the_selection_takes_what_rosbag2_takes(selection, topic, types, taken):
    assert selection.takes(topic, types, published) is taken


def test_methods_win_over_patterns_and_patterns_over_the_selection():
    named = make_method("imu", {"method": "Data", "topic": "/cam_imu",
                                "capture_frequency_hz": 5.0})
    cams = make_method("cams", {"method": "Images", "topic_regex": "^/cam",
                                "type": "sensor_msgs/msg/Image", "tags": ["camera"]})
    debug = make_method("debug", {"method": "Off", "topic_regex": "^/debug", "disabled": True})
    graph = {"/cam_imu": ["sensor_msgs/msg/Imu"], "/cam0": ["sensor_msgs/msg/Image"],
             "/cam_info": ["sensor_msgs/msg/CameraInfo"], "/debug/x": STRING,
             "/status": STRING}
    methods = methods_for_graph((named, cams, debug), TopicSelection(all_topics=True), graph,
                                published)
    by_topic = {m.topic: m for m in methods}
    assert set(by_topic) == set(graph)
    assert by_topic["/cam_imu"] == named
    assert by_topic["/cam0"].key == "cams/Images" and by_topic["/cam0"].tags == ("camera",)
    assert by_topic["/cam0"].label == "cams/Images /cam0"
    assert by_topic["/cam_info"].key == "/cam_info"  # the pattern's type differs
    assert not by_topic["/debug/x"].captured  # a disabled pattern keeps its matches out
    assert by_topic["/status"] == MethodConfig("", "/status", "/status", STRING[0])
    # without a selection only the methods record
    assert {m.topic for m in methods_for_graph((named, cams), TopicSelection(), graph,
                                               published)} == {"/cam_imu", "/cam0"}


def test_qos_overrides_and_custom_data_take_a_files_mapping_and_the_parameter_form(tmp_path):
    override = {"/imu": {"reliability": "best_effort", "depth": 7}}
    config = make_config({"capture_dir": str(tmp_path), "qos_overrides": override,
                          "custom_data": {"site": "lab", "note": "a=b"}}, [])
    assert qos_overrides(config) == override
    assert custom_data_pairs(config.custom_data) == {"site": "lab", "note": "a=b"}
    # the parameters hold YAML text and key=value strings, and give the same config back
    params = config_to_params(config)
    assert params["custom_data"] == ["site=lab", "note=a=b"]
    assert config_from_params({**params, "qos_overrides": "{/imu: {reliability: best_effort,"
                                                           " depth: 7}}"}) == config


@pytest.mark.parametrize(("name", "value", "said"), [
    ("qos_overrides", {"/imu": {"reliabilty": "best_effort"}},
     "unknown key 'reliabilty'; did you mean 'reliability'?"),
    ("qos_overrides", {"/imu": {"durability": "forever"}},
     "durability must be one of volatile, transient_local, system_default"),
    ("qos_overrides", {"/imu": {"depth": -1}}, "depth must be a whole number >= 0"),
    ("qos_overrides", "[1, 2]", "must map topics to QoS settings"),
    ("custom_data", ["site"], "'site' is not key=value"),
    ("topics_regex", "(", "'(' is not a regular expression"),
    ("exclude_regex", "[a-", "is not a regular expression"),
])
def test_bad_selection_settings_are_refused_in_words(tmp_path, name, value, said):
    with pytest.raises(ConfigError, match=r".*") as raised:
        make_config({"capture_dir": str(tmp_path), name: value}, [])
    assert name in str(raised.value) and said in str(raised.value)


def test_a_bad_topic_regex_of_a_method_is_refused():
    with pytest.raises(ConfigError, match="capture method cams/Images: 'topic_regex'"):
        make_method("cams", {"method": "Images", "topic_regex": "(cam"})


def test_a_service_event_schema_is_the_srv_file_as_rosbag2_stores_it():
    definition = message_definition("std_srvs/srv/Trigger_Event")
    assert definition.text.startswith("=" * 80 + "\nSRV: std_srvs/srv/Trigger\n---\n")
    assert definition.encoding == "unknown"  # no nested type: rosbag2 0.29 says unknown too


def test_an_upload_names_the_method_and_tags_of_each_topic_as_the_node_chose_it():
    named = make_method("imu", {"method": "Data", "topic": "/cam_imu", "tags": ["imu"]})
    cams = make_method("cams", {"method": "Images", "topic_regex": "^/cam", "tags": ["camera"]})
    policy = UploadPolicy(methods=(cams, named))
    assert policy.method_of("/cam_imu") == named  # named wins, whatever the order
    assert policy.method_of("/cam0/image") == cams
    assert policy.method_of("/status") is None
