"""The paths a ROS user walks first: a params file alone, `ros2 param dump` given back at
start and with `ros2 param load`, `ros2 param set` with the CLI's types, /diagnostics of
several nodes, publish_time as rosbag2 records it, and a stop signal to the process group."""

from __future__ import annotations

import math
import os
import runpy
import signal
import subprocess
import sys

import psutil
import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from mcap.reader import make_reader
from rclpy.parameter import Parameter
from std_srvs.srv import Trigger

from data_manager_ros.config.settings import ConfigError
from data_manager_ros.node.parameters import coerce
from data_manager_ros.tools.demo_sensors import GPS_TOPIC, published
from helpers import REPO, judges
from helpers.bags import assert_throttled, bag_dirs, closed_messages
from helpers.processes import NodeProcess, start_sensors, stopped_after, wait_for, write_config
from helpers.ros_client import ros_client, wait_received

README_PARAMS = os.path.join(REPO, "config", "data_manager_params.yaml")
GPS_HZ = "methods.gps1.position.capture_frequency_hz"
CLOUD_HZ = "methods.camera1.point_cloud.capture_frequency_hz"


def ros2(*args: str) -> subprocess.CompletedProcess:
    """The ros2 CLI as a user types it (no daemon: each test run has a domain of its own)."""
    verb = list(args[:2])
    return subprocess.run(judges.ros2(*verb, "--no-daemon", "--spin-time", "1", "--timeout", "20",
                                      *args[2:]), env=judges.env(), capture_output=True,
                          text=True, timeout=120)


def params_file(path, parameters: dict, key: str = "/**") -> str:
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump({key: {"ros__parameters": parameters}}, handle)
    return str(path)


def test_a_params_file_alone_and_a_dump_of_it_give_every_per_method_setting(tmp_path):
    """The README's params file names the methods in capture_methods and their settings under
    methods.*: all of them take effect. A `ros2 param dump` of that node, given alone to a
    second node, gives the same parameters and the same recorded rate and clips."""
    ours = params_file(tmp_path / "ours.yaml", {
        "capture_dir": str(tmp_path / "first"), "sync_disabled": True,
        "maximum_capture_file_duration_s": 1.0, "minimum_free_space_bytes": 64 << 20,
        "minimum_free_space_fraction": 0.0, "clip_post_s": 0.5,
        "methods": {"gps1": {"position": {"capture_frequency_hz": 20, "tags": ["fix"],
                                          "clip": True}}}})
    sensors = start_sensors(200, 5, 0, "--cloud-size", "8x8")
    try:
        first = NodeProcess("", str(tmp_path / "first.log"), "--params-file", README_PARAMS,
                            "--params-file", ours).start()
        with stopped_after(first):
            first.wait_log("capturing /gps1/position")
            dump = ros2("param", "dump", "/data_manager")
            assert dump.returncode == 0, dump.stderr
        second, dumped = _second_node_from(dump.stdout, tmp_path)
        with stopped_after(second, sensors):
            second.wait_log("capturing /gps1/position")
            again = ros2("param", "dump", "/data_manager")
            [bag] = bag_dirs(str(tmp_path / "second"))
            wait_for(lambda: len(closed_messages(bag, 0).get(GPS_TOPIC, [])) > 40, 30,
                     "2 s of fixes in closed files")
            with ros_client() as client:
                answer = client.call(Trigger, "capture_clip", Trigger.Request())
    finally:
        sensors.kill()  # stopped already unless something above failed
        sensors.wait()
    assert yaml.safe_load(again.stdout)["/data_manager"]["ros__parameters"] == dumped
    assert_throttled(closed_messages(bag, 0)[GPS_TOPIC], 20.0)  # 20 Hz of the 200 Hz stream
    assert answer.success and answer.message.startswith("clip opened"), answer.message


def _second_node_from(dump: str, tmp_path) -> tuple[NodeProcess, dict]:
    """A node started from a dump alone (its own capture_dir), once the dump is checked."""
    dumped = yaml.safe_load(dump)["/data_manager"]["ros__parameters"]
    assert dumped["methods"]["camera1"]["point_cloud"]["capture_frequency_hz"] == 30.0
    assert dumped["methods"]["gps1"]["position"] == {
        "capture_frequency_hz": 20.0, "tags": ["fix"], "clip": True, "disabled": False,
        "topic": "gps1/position", "type": "sensor_msgs/msg/NavSatFix",  # as written
        "topic_regex": ""}
    dumped["capture_dir"] = str(tmp_path / "second")
    second_file = params_file(tmp_path / "dump.yaml", dumped, key="/data_manager")
    return NodeProcess("", str(tmp_path / "second.log"), "--params-file", second_file).start(), \
        dumped


def test_cli_types_are_kept_and_wrong_types_refused_in_words(tmp_path):
    """`ros2 param set x 20` sends an integer, `[]` an untyped empty list and `.inf` comes back
    from a dump as the string "inf": none of them changes a parameter's type. A `ros2 param
    load` of a dump (every empty list in it) is taken whole, but for ROS's read-only ones."""
    path = write_config(str(tmp_path / "dm.yaml"),
                        {"gps1": [{"method": "position", "tags": ["a"]}]},
                        capture_dir=str(tmp_path / "capture"), sync_disabled=True)
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node):
        assert ros2("param", "set", "/data_manager", GPS_HZ, "20").returncode == 0
        get = ros2("param", "get", "/data_manager", GPS_HZ)
        assert get.stdout.strip() == "Double value is: 20.0", get.stdout + get.stderr
        assert "Type: double" in ros2("param", "describe", "/data_manager", GPS_HZ).stdout
        tags = "methods.gps1.position.tags"
        assert ros2("param", "set", "/data_manager", tags, "[]").returncode == 0
        assert ros2("param", "get", "/data_manager", tags).stdout.strip() == \
            "String values are: []"
        refused = ros2("param", "set", "/data_manager", "capture_dir", "5")
        assert "parameter 'capture_dir' takes a string; got a whole number 5" in \
            refused.stdout + refused.stderr
        dump = ros2("param", "dump", "/data_manager")
        parameters = yaml.safe_load(dump.stdout)["/data_manager"]["ros__parameters"]
        parameters["methods"]["gps1"]["position"]["capture_frequency_hz"] = float("inf")
        # empty lists in it: tags, clip_tags, additional_sync_paths, sync_windows. (Keyed /**:
        # this ros2cli's load verb misreads node-keyed files, whatever the node)
        load = ros2("param", "load", "/data_manager",
                    params_file(tmp_path / "dump.yaml", parameters))
        failed = [line for line in load.stderr.splitlines() if "failed" in line]
        assert failed == ["Set parameter start_type_description_service failed: Trying to set "
                          "a read-only parameter: start_type_description_service."], load.stderr
        assert ros2("param", "get", "/data_manager", GPS_HZ).stdout.strip() == \
            "Double value is: inf"


def test_diagnostics_name_the_node_and_warn_while_a_topic_has_no_publisher(tmp_path):
    """Under /robot1 the relative topic gps1/position is /robot1/gps1/position, which nothing
    publishes: past topic_wait_warning_s that is a WARN, named after this node. With a second
    data manager under /robot2, `data_manager_status --live` shows both."""
    nodes = []
    for robot in ("robot1", "robot2"):
        path = write_config(str(tmp_path / f"{robot}.yaml"), {"gps1": [{"method": "Position"}]},
                            capture_dir=str(tmp_path / robot), sync_disabled=True,
                            topic_wait_warning_s=1.0)
        nodes.append(NodeProcess(path, str(tmp_path / f"{robot}.log"), "-r",
                                 f"__ns:=/{robot}").start())
    with stopped_after(nodes[0]), stopped_after(nodes[1]):
        with ros_client("/robot1/data_manager") as client:
            array = client.next_message(DiagnosticArray, "/diagnostics", lambda m: any(
                s.level == DiagnosticStatus.WARN and s.hardware_id == "/robot1/data_manager"
                for s in m.status), timeout=30)
        answer = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.status",
                                 "--live", "--timeout", "20"], capture_output=True, text=True,
                                timeout=60)
    live = answer.stdout
    assert answer.returncode == 1  # a WARN is not ok
    statuses = {s.name: s for s in array.status}
    assert set(statuses) == {"/robot1/data_manager: capture gps1/Position",
                             "/robot1/data_manager: sync"}
    capture = statuses["/robot1/data_manager: capture gps1/Position"]
    assert capture.message.startswith("waiting for a publisher on /robot1/gps1/position for ")
    assert {s.hardware_id for s in array.status} == {"/robot1/data_manager"}
    assert "/robot1/data_manager\n/robot1/data_manager: capture gps1/Position: waiting" in live
    assert "/robot2/data_manager\n/robot2/data_manager: capture gps1/Position: waiting" in live


def test_publish_time_is_the_source_timestamp_rosbag2_records(tmp_path):
    """The node and `ros2 bag record` record one stream at once: each message has the same
    publish_time in both bags (the publisher's source timestamp)."""
    path = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                        capture_dir=str(tmp_path / "capture"), sync_disabled=True)
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    recorder = subprocess.Popen(judges.ros2("bag", "record", "-s", "mcap", "-o",
                                            str(tmp_path / "rosbag2"), GPS_TOPIC),
                                env=judges.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    with stopped_after(node):
        try:
            # the publisher waits for both recorders to subscribe (each does once it appears)
            output = subprocess.run(
                [sys.executable, "-m", "data_manager_ros.tools.demo_sensors", "--gps-hz", "200",
                 "--cloud-hz", "0", "--duration", "2", "--wait-subscribers", "2"],
                capture_output=True, text=True, timeout=120, check=True).stdout
            fixes = published(output)[0]
            wait_received({GPS_TOPIC: fixes})
        finally:
            recorder.send_signal(signal.SIGINT)  # rosbag2 finalizes its bag on SIGINT
            recorder.wait(30)
    ours = publish_times(bag_dirs(str(tmp_path / "capture"))[0])
    theirs = publish_times(str(tmp_path / "rosbag2"))
    common = set(ours) & set(theirs)
    assert len(common) >= 0.8 * fixes, (len(ours), len(theirs), fixes)
    assert [ours[data][0] for data in sorted(common)] == [
        theirs[data][0] for data in sorted(common)]
    assert all(ours[data][0] < ours[data][1] for data in common)  # sent before received


def publish_times(bag: str) -> dict[bytes, tuple[int, int]]:
    """message bytes → (publish_time, log_time), over the bag's MCAP files."""
    out = {}
    for name in os.listdir(bag):
        if name.endswith(".mcap"):
            with open(os.path.join(bag, name), "rb") as handle:
                for _, _, message in make_reader(handle).iter_messages():
                    out[message.data] = (message.publish_time, message.log_time)
    return out


def test_a_stop_signal_to_the_process_group_is_a_clean_shutdown(tmp_path):
    """systemd and `timeout` signal every process of the group, the upload process too: that
    is a deliberate stop, not an upload process crash."""
    path = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                        capture_dir=str(tmp_path / "capture"))
    log = tmp_path / "node.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(NodeProcess(path, str(log)).command, stdout=handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: upload_process_ignores(process.pid, signal.SIGINT), 30,
                 "the upload process to be up")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(30)
    assert code == 0
    assert "ERROR" not in log.read_text(), log.read_text()


def upload_process_ignores(node_pid: int, signum: int) -> bool:
    """Whether the node's child has set up its signal dispositions (SigIgn in /proc)."""
    for child in psutil.Process(node_pid).children():
        with open(f"/proc/{child.pid}/status", encoding="utf-8") as handle:
            fields = dict(line.split(":\t", 1) for line in handle if ":\t" in line)
        return bool(int(fields["SigIgn"], 16) & (1 << (signum - 1)))
    return False


def test_the_suite_keeps_a_ros_domain_id_that_is_set():
    """CI and users give the suite a domain; only where none is given does it pick one."""
    conftest = os.path.join(REPO, "test", "conftest.py")
    saved = dict(os.environ)
    try:
        os.environ["ROS_DOMAIN_ID"] = "173"
        runpy.run_path(conftest)
        assert os.environ["ROS_DOMAIN_ID"] == "173"
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_coercion_keeps_the_declared_type_or_names_both_types_in_words():
    double, strings = Parameter.Type.DOUBLE, Parameter.Type.STRING_ARRAY
    assert coerce("f", double, Parameter("f", value=20)).value == 20.0
    assert coerce("f", double, Parameter("f", value="inf")).value == math.inf
    assert coerce("f", double, Parameter("f", value="-.inf")).value == -math.inf
    assert coerce("n", Parameter.Type.INTEGER, Parameter("n", value=5.0)).value == 5
    for empty in (Parameter("t", Parameter.Type.BOOL_ARRAY, []), Parameter("t")):
        assert coerce("t", strings, empty).type_ == strings
    with pytest.raises(ConfigError, match="'f' takes a number; got a string 'fast'"):
        coerce("f", double, Parameter("f", value="fast"))
    with pytest.raises(ConfigError, match="'n' takes a whole number; got a number 5.5"):
        coerce("n", Parameter.Type.INTEGER, Parameter("n", value=5.5))
    with pytest.raises(ConfigError, match=r"'t' takes a list of strings; got a list of whole "):
        coerce("t", strings, Parameter("t", value=[1, 2]))
