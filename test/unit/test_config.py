"""The config model: every example loads; every malformed input is refused by name."""

from __future__ import annotations

import glob
import json
import math
import os
from dataclasses import MISSING
from dataclasses import fields as dataclass_fields

import pytest
import rclpy
import yaml

from data_manager_ros.config.files import load_config_file
from data_manager_ros.config.params import (
    CONFIG_FILE,
    config_from_params,
    config_to_params,
    describe,
)
from data_manager_ros.config.reference import attribute_table, method_table
from data_manager_ros.config.settings import (
    SETTINGS,
    ConfigError,
    DataManagerConfig,
    default_topic,
    frequency_warnings,
    make_config,
    make_method,
    part_settings,
    resolve_topics,
)
from helpers import REPO

GPS = {"method": "Position", "type": "sensor_msgs/msg/NavSatFix"}


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REPO, "config", "*.json"))
                                        + glob.glob(os.path.join(REPO, "config", "*.yaml"))))
def test_every_example_config_loads(path, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    if path.endswith("_params.yaml"):
        with open(path, encoding="utf-8") as handle:
            params = yaml.safe_load(handle)["/**"]["ros__parameters"]
        flat = {k: v for k, v in params.items() if k != "methods"}
        for component, methods in params["methods"].items():
            for method, fields in methods.items():
                flat.update({f"methods.{component}.{method}.{f}": v for f, v in fields.items()})
        config = config_from_params(flat)
    else:
        config = load_config_file(path)
    if os.path.basename(path) == "data_manager.yaml":  # the launch default: harmless
        assert not config.methods and config.sync_disabled
    else:
        assert config.methods


def test_seed_json_maps_components_and_methods_to_topics(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config_file(os.path.join(REPO, "config", "seed_example.json"))
    by_key = {m.key: m for m in config.methods}
    assert by_key["gps1/Position"].topic == "gps1/position"
    assert by_key["gps1/Position"].capture_frequency_hz == 15000
    assert by_key["camera1/PointCloud"].topic == "camera1/point_cloud"
    assert not by_key["camera1/Image"].captured and not by_key["gps1/CompassHeading"].captured
    assert frequency_warnings(config) == [
        "capture method gps1/CompassHeading: capture_frequency_hz is 0, so it is not captured; "
        "set a positive frequency to capture it"]
    assert config.tags == ("seed",)


def test_method_names_become_snake_case_topic_names():
    assert default_topic("gps1", "Position") == "gps1/position"
    assert default_topic("camera1", "PointCloud") == "camera1/point_cloud"
    assert default_topic("imu1", "IMUData") == "imu1/imu_data"
    assert default_topic("arm", "GetEndPosition") == "arm/get_end_position"


def test_topics_resolve_in_the_node_namespace_like_rosbag2(tmp_path):
    methods = [make_method("gps1", GPS), make_method("imu", {"method": "Raw", "topic": "/imu"}),
               make_method("me", {"method": "Status", "topic": "~/status"})]
    config = make_config({"capture_dir": str(tmp_path)}, methods)
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("data_manager", namespace="/robot1", context=context)
        resolved = resolve_topics(config, node.resolve_topic_name)
        absolute = make_method("x", {"method": "Y", "topic": "/robot1/gps1/position"})
        clash = make_config({"capture_dir": str(tmp_path)}, [make_method("gps1", GPS), absolute])
        with pytest.raises(ConfigError, match="gps1/Position and x/Y both record topic "
                                              "'/robot1/gps1/position'"):
            resolve_topics(clash, node.resolve_topic_name)
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
    assert [m.topic for m in resolved.methods] == [
        "/robot1/gps1/position", "/imu", "/robot1/data_manager/status"]


def test_params_round_trip(tmp_path):
    config = make_config({"capture_dir": str(tmp_path), "tags": ["a"]},
                         [make_method("gps1", GPS)])
    assert config_from_params(config_to_params(config)) == config
    assert math.isinf(config.methods[0].capture_frequency_hz)


def seed(attributes=None, methods=None, component="gps1"):
    return {"services": [{"type": "data_manager", "attributes": attributes or {}}],
            "components": [{"name": component, "service_configs": [
                {"type": "data_manager", "attributes": {"capture_methods": methods or [GPS]}}]}]}


def native(**section):
    return {"data_manager": section}


MALFORMED = [
    # (document, message regex)
    (seed({"sync_interval_mins": "often"}), r"'sync_interval_mins' must be a number, got 'often'"),
    (seed({"sync_interval_mins": -1}), r"'sync_interval_mins' must be between 0.001 and 10080"),
    (seed({"sync_interval_mins": 0}), r"'sync_interval_mins' must be between"),
    (seed({"capture_disabled": "yes"}), r"'capture_disabled' must be true or false, got 'yes'"),
    (seed({"sync_disabled": 1}), r"'sync_disabled' must be true or false"),
    (seed({"capture_dir": 5}), r"'capture_dir' must be a string, got 5"),
    (seed({"capture_dir": " "}), r"'capture_dir' must not be empty"),
    (seed({"additional_sync_paths": "/tmp"}), r"'additional_sync_paths' must be a list"),
    (seed({"additional_sync_paths": ["/no/such/dir/xyz"]}), r"'/no/such/dir/xyz' is not an exis"),
    (seed({"additional_sync_paths": [""]}), r"'additional_sync_paths' must be a list of non-empty"),
    (seed({"tags": "a,b"}), r"'tags' must be a list of non-empty strings"),
    (seed({"sync_interval": 1}), r"unknown key 'sync_interval'; did you mean 'sync_interval_mins'"),
    (seed({"capture_dri": "/tmp"}), r"unknown key 'capture_dri'; did you mean 'capture_dir'"),
    (seed({"maximum_num_sync_threads": 0}), r"'maximum_num_sync_threads' must be between 1 and 64"),
    (seed({"maximum_num_sync_threads": 2.5}), r"must be a whole number, got 2.5"),
    (seed({"file_last_modified_millis": -5}), r"'file_last_modified_millis' must be between 0"),
    (seed({"flush_interval_s": 60}), r"'flush_interval_s' must be between 0.05 and 10"),
    (seed({"flush_interval_s": float("nan")}), r"'flush_interval_s' must be a number, got NaN"),
    (seed({"sync_url": "ftp://example.com/x"}), r"'sync_url'.*must start with https://"),
    (seed({"sync_url": "http://"}), r"'sync_url': 'http://' has no host"),
    (seed({"compression": "gzip"}), r"'compression' must be one of none, zstd, lz4"),
    (seed({"maximum_capture_file_size_bytes": 10}), r"'maximum_capture_file_size_bytes' must be"),
    (seed(methods=[{"capture_frequency_hz": 10}]), r"capture method without a 'method' name"),
    (seed(methods=[{"method": ""}]), r"capture method without a 'method' name"),
    (seed(methods=[{"method": "Position", "capture_frequency_hz": "fast"}]),
     r"gps1/Position: 'capture_frequency_hz' must be a number, got 'fast'"),
    (seed(methods=[{"method": "Position", "capture_frequency_hz": float("nan")}]),
     r"'capture_frequency_hz' must be a number, got NaN"),
    (seed(methods=[{"method": "Position", "capture_frequency_hz": True}]),
     r"'capture_frequency_hz' must be a number, got True"),
    (seed(methods=[{"method": "Position", "disabled": "no"}]), r"'disabled' must be true or false"),
    (seed(methods=[{"method": "Position", "frequency": 5}]),
     r"unknown key 'frequency'; did you mean 'capture_frequency_hz'"),
    (seed(methods=[{"method": "Position", "type": "NavSatFix"}]),
     r"'type' 'NavSatFix' is not a message type; expected 'package/msg/Type'"),
    (seed(methods=[{"method": "Position", "topic": "/bad topic"}]),
     r"'topic' '/bad topic' is not a valid ROS topic name"),
    (seed(methods=[{"method": "Position", "topic": "/a//b"}]), r"is not a valid ROS topic name"),
    (seed(methods=[{"method": "Position", "tags": "x"}]), r"'tags' must be a list of strings"),
    (seed(methods=[{"method": "Position", "additional_params": []}]),
     r"'additional_params' must be a mapping"),
    (seed(methods=[GPS, GPS]), r"capture method gps1/Position is configured twice"),
    (seed(methods=[GPS, {"method": "Fix", "topic": "gps1/position"}]),
     r"gps1/Position and gps1/Fix both record topic 'gps1/position'"),
    (seed(methods=[{"method": "Pos-ition"}]), r"names must start with a letter"),
    (seed(methods="Position"), r"capture_methods must be a list"),
    (seed(component=""), r"a component has no 'name'"),
    ({"services": [{"type": "data_manager"}, {"type": "data_manager"}]},
     r"more than one data_manager service"),
    (native(components=["gps1"]), r"'data_manager.components' must map component names"),
    (native(capture_dir="/tmp", components={"gps1": [GPS]}, extra=1),
     r"unknown key 'extra'"),
    ({"data_manager": {}, "other": 1},
     r"dm.json': top level: unknown key 'other'; known keys: data_manager"),
    ({"robots": []}, r"has neither a 'data_manager' section"),
    ([1, 2], r"must hold a mapping at the top level"),
]


@pytest.mark.parametrize("document,message", MALFORMED,
                         ids=[f"malformed-{i}" for i in range(len(MALFORMED))])
def test_malformed_config_is_refused_with_a_reason(document, message, tmp_path):
    path = tmp_path / "dm.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=message):
        load_config_file(str(path))


def test_malformed_file_syntax_names_file_and_line(tmp_path):
    path = tmp_path / "dm.json"
    path.write_text('{"services": [\n  {"type": "data_manager",}\n]}')
    with pytest.raises(ConfigError, match=r"dm.json' is not valid JSON: .* at line 2"):
        load_config_file(str(path))
    with pytest.raises(ConfigError, match=r"cannot be read"):
        load_config_file(str(tmp_path / "missing.yaml"))


def test_capture_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"'capture_dir'.*is not a writable directory"):
        make_config({"capture_dir": str(tmp_path / "file" / "capture")}, [])


def test_defaults_are_valid():
    assert make_config({}, []) == DataManagerConfig()


def test_the_readme_tables_are_the_settings_schema():
    """Each setting is declared once (config/settings.py); the README shows that declaration.
    When this fails: `python -m data_manager_ros.config.reference` prints the tables."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    assert attribute_table() in readme
    assert method_table() in readme


def test_every_parameter_has_a_description():
    config = make_config({"capture_dir": "/tmp"}, [make_method("gps1", GPS)])
    for name in [CONFIG_FILE, *config_to_params(config)]:
        assert describe(name), name


def test_each_part_gets_every_setting_it_takes_from_the_schema():
    """A field of the writer's or the clips' settings that no schema entry feeds would be left
    at a default nobody can change: the parts' settings are made from the schema alone."""
    from data_manager_ros.capture.clips import ClipSettings
    from data_manager_ros.capture.writer_settings import WriterSettings

    for part, settings_class in (("writer", WriterSettings), ("clip", ClipSettings)):
        required = {f.name for f in dataclass_fields(settings_class)
                    if f.default is MISSING and f.default_factory is MISSING}
        fed = {spec.metadata["feeds"][part] for spec in SETTINGS.values()
               if part in spec.metadata["feeds"]}
        assert required <= fed <= {f.name for f in dataclass_fields(settings_class)}
    config = make_config({"capture_dir": "/tmp", "maximum_capture_file_size_bytes": 1 << 20,
                          "clip_tags": ["x"]}, [])
    assert part_settings(config, "writer", WriterSettings).max_file_bytes == 1 << 20
    assert part_settings(config, "clip", ClipSettings).tags == ("x",)


def test_a_params_file_with_no_section_for_the_node_is_named(tmp_path):
    """A dump of /data_manager given to a node under /r9 sets nothing: said, with the keys
    that would match; a wildcard or the node's own name matches."""
    from data_manager_ros.node.params_files import params_files, unmatched

    dump = tmp_path / "dump.yaml"
    dump.write_text("/data_manager:\n  ros__parameters:\n    capture_dir: /x\n")
    assert params_files(["data_manager", "--ros-args", "-r", "__ns:=/r9", "--params-file",
                         str(dump)]) == [str(dump)]
    problem = unmatched(str(dump), "/r9/data_manager")
    assert "no section for this node '/r9/data_manager'" in problem
    assert "'/r9/data_manager:' or '/**:'" in problem
    assert unmatched(str(dump), "/data_manager") == ""
    for key in ("/**", "/r9/data_manager", "/*/data_manager", "r9/data_manager"):
        dump.write_text(f"{key}:\n  ros__parameters:\n    capture_dir: /x\n")
        assert unmatched(str(dump), "/r9/data_manager") == "", key
    dump.write_text("/*/data_manager:\n  ros__parameters: {}\n")
    assert unmatched(str(dump), "/a/b/data_manager") != ""  # * is one name only
