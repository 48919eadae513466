"""The node as a robot runs it: real DDS, publishers in other processes, real files."""

from __future__ import annotations

import os
import re
import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.time import Time
from rosbags.rosbag2 import Reader
from rosgraph_msgs.msg import Clock

from data_manager_ros.tools.demo_sensors import CLOUD_TOPIC, GPS_TOPIC, gps_fix
from helpers import REPO
from helpers.bags import (
    assert_rosbag2_reads_every_message,
    assert_throttled,
    bag_dirs,
    read_bag,
    read_mcap,
    read_rosbag2,
)
from helpers.processes import (
    NodeProcess,
    dds_profile_env,
    largest_shared_memory_segment,
    published,
    run_sensors,
    start_sensors,
    stopped_after,
    wait_for,
    write_config,
)
from helpers.ros_client import ros_client, wait_received

SECOND = 1_000_000_000
CONFIG_DIR = os.path.join(REPO, "config")


def config(tmp_path, components, **attributes):
    attributes.setdefault("capture_dir", str(tmp_path / "capture"))
    attributes.setdefault("sync_disabled", True)
    return write_config(str(tmp_path / "dm.yaml"), components, **attributes)


def test_every_message_recorded_and_throttled_topic_at_its_rate(tmp_path):
    path = config(tmp_path, {
        "gps1": [{"method": "Position", "type": "sensor_msgs/msg/NavSatFix"}],
        "camera1": [{"method": "PointCloud", "capture_frequency_hz": 10}],  # type from graph
    })
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node):
        fixes, clouds = run_sensors(500, 100, 6.0, "--cloud-size", "64x48")
        wait_received({GPS_TOPIC: fixes, CLOUD_TOPIC: clouds})
    [bag] = bag_dirs(str(tmp_path / "capture"))
    assert not [f for f in os.listdir(bag) if f.startswith(".") or f.endswith(".active")]
    messages = read_bag(bag)
    recorded = messages["/gps1/position"]
    expected = [gps_fix(i) for i in range(fixes)]
    stamps = [(f.header.stamp.sec, f.header.stamp.nanosec) for f in recorded]
    assert stamps == sorted(stamps) and stamps[0] > (0, 0)
    for fix, recorded_fix in zip(expected, recorded, strict=False):
        fix.header.stamp = recorded_fix.header.stamp  # stamped by the sensor when published
    assert recorded == expected

    with Reader(bag) as reader:
        cloud = [c for c in reader.connections if c.topic == "/camera1/point_cloud"]
        times = [t for _, t, _ in reader.messages(cloud)]
    assert cloud[0].msgtype == "sensor_msgs/msg/PointCloud2"
    assert (times[-1] - times[0]) >= 4 * SECOND
    assert_throttled(times, 10.0)
    assert clouds >= 550
    assert_rosbag2_reads_every_message(bag)


@pytest.mark.slow
def test_topic_problems_are_logged_and_the_rest_keeps_recording(tmp_path):
    path = config(tmp_path, {
        "gps1": [{"method": "Position", "type": "sensor_msgs/msg/NavSatFix"}],
        "camera1": [{"method": "PointCloud", "type": "sensor_msgs/msg/Image"}],
        "ghost": [{"method": "Scan", "type": "nonexistent_msgs/msg/Scan"}],
    })
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node):
        fixes, _ = run_sensors(200, 10, 3.0, "--cloud-size", "8x8")
        node.wait_log("has no publishers any more")
    log = node.log()
    assert ("capture method camera1/PointCloud: topic '/camera1/point_cloud' carries "
            "sensor_msgs/msg/PointCloud2, not the configured sensor_msgs/msg/Image") in log
    [bag] = bag_dirs(str(tmp_path / "capture"))
    assert len(read_bag(bag)["/gps1/position"]) == fixes


def test_split_by_duration_gives_closed_files_while_capture_runs(tmp_path):
    path = config(tmp_path, {"gps1": [{"method": "Position"}]},
                  maximum_capture_file_duration_s=1.0)
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node):
        run_sensors(200, 0, 6.5)  # files close on the 1 s writer tick: each lasts 1-2 s
        [bag] = bag_dirs(str(tmp_path / "capture"))
        closed = sorted(f for f in os.listdir(bag) if f.endswith(".mcap"))
        assert len(closed) >= 3
        for name in closed:  # readable alone while the bag is still being written
            assert read_mcap(os.path.join(bag, name))["/gps1/position"]
    wait_for(lambda: not os.path.exists(os.path.join(bag, ".recording")), 5, "bag closed")


@pytest.mark.slow
def test_lower_memory_dds_profile_is_valid_and_loses_nothing(tmp_path):
    profile = os.path.join(CONFIG_DIR, "fastdds_dynamic_history.xml")
    path = config(tmp_path, {"gps1": [{"method": "Position"}],
                             "camera1": [{"method": "PointCloud"}]})
    node = NodeProcess(path, str(tmp_path / "node.log"),
                       env={**dds_profile_env(profile),
                            "RMW_FASTRTPS_USE_QOS_FROM_XML": "1"}).start()
    with stopped_after(node):
        camera = start_sensors(0, 30, 4.0, "--wait-subscribers", "1")  # a driver each
        fixes, _ = run_sensors(500, 0, 4.0)
        clouds = published(camera.communicate(timeout=60)[0])[1]
        wait_received({GPS_TOPIC: fixes, CLOUD_TOPIC: clouds})
    assert "XMLPARSER" not in node.log()
    [bag] = bag_dirs(str(tmp_path / "capture"))
    messages = read_bag(bag)
    assert len(messages["/gps1/position"]) == fixes
    assert len(messages["/camera1/point_cloud"]) == clouds


@pytest.mark.slow
def test_large_message_profile_gives_drivers_a_32_mib_segment_and_loses_nothing(tmp_path):
    """The profile point cloud drivers should run with (docs/performance.md, "Memory")."""
    path = config(tmp_path, {"gps1": [{"method": "Position"}],
                             "camera1": [{"method": "PointCloud"}]})
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    sensors = start_sensors(
        200, 30, 4.0, "--wait-subscribers", "1",
        env=dds_profile_env(os.path.join(CONFIG_DIR, "fastdds_large_messages.xml")))
    with stopped_after(node, sensors):
        wait_for(lambda: largest_shared_memory_segment(sensors.pid) >= 32 << 20, 30,
                 "the sensors' 32 MiB shared-memory segment")
        output = sensors.communicate(timeout=60)[0]
        wait_received(dict(zip((GPS_TOPIC, CLOUD_TOPIC), published(output), strict=True)))
    assert "XMLPARSER" not in output
    fixes, clouds = published(output)
    [bag] = bag_dirs(str(tmp_path / "capture"))
    messages = read_bag(bag)
    assert len(messages["/gps1/position"]) == fixes > 0
    assert len(messages["/camera1/point_cloud"]) == clouds > 0



@pytest.mark.parametrize("live", [False, True], ids=["at_start", "set_live"])
def test_use_sim_time_stamps_messages_with_clock_time(tmp_path, live):
    """As `ros2 bag record --use-sim-time`: log_time comes from /clock, not the wall, from
    the start (``-p use_sim_time:=true``) or from a `ros2 param set` on."""
    path = config(tmp_path, {"gps1": [{"method": "Position"}]})
    flag = () if live else ("-p", "use_sim_time:=true")
    node = NodeProcess(path, str(tmp_path / "node.log"), *flag).start()
    sim = [1_000 * SECOND]  # a simulator 1000 s after its epoch, in real time
    with stopped_after(node), ros_client() as client:
        publisher = client.node.create_publisher(Clock, "/clock", 10)

        def tick() -> bool:
            sim[0] += 100_000_000  # wait_for polls every 0.1 s
            publisher.publish(Clock(clock=Time(nanoseconds=sim[0]).to_msg()))
            return "capturing /gps1/position" in node.log() and sim[0] >= 1_003 * SECOND

        if not live:  # the simulator runs before the sensors do, as in a real simulation
            wait_for(lambda: client.node.count_subscribers("/clock") > 0, 30,
                     "the node on /clock")
            wait_for(lambda: tick() or sim[0] >= 1_000_500_000_000, 30, "0.5 s of /clock")
        sensors = start_sensors(100, 0)
        try:
            if live:
                client.next_message(DiagnosticArray, "/diagnostics", lambda m: any(
                    kv.key == "written" and int(kv.value) > 10 for st in m.status
                    for kv in st.values))  # some messages on the wall clock first
                assert client.set("use_sim_time", True) == (True, "")
                switched = sim[0]
            wait_for(tick, 60, "3 simulated seconds of capture")
        finally:
            sensors.terminate()
            sensors.wait()
    [bag] = bag_dirs(str(tmp_path / "capture"))
    with Reader(bag) as reader:
        times = [t for _, t, _ in reader.messages()]
    # as with rosbag2, a message taken before the first /clock message is stamped 0
    in_sim = [t for t in times if 1_000 * SECOND <= t <= sim[0] or (live and t == 0)]
    if not live:
        assert times and in_sim == times
        return
    wall = [t for t in times if t > time.time_ns() - 600 * SECOND]
    assert wall and in_sim and len(wall) + len(in_sim) == len(times)
    assert max(in_sim) - switched > 2 * SECOND  # the later messages are on the sim clock


@pytest.mark.slow
def test_switching_capture_dir_under_a_1_khz_stream_loses_nothing(tmp_path):
    """The writer thread moves to the new capture_dir while callbacks keep queueing."""
    path = config(tmp_path, {"gps1": [{"method": "Position"}]})
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    sensors = start_sensors(1000, 0, 6.0, "--wait-subscribers", "1")
    with stopped_after(node, sensors), ros_client() as client:
        node.wait_log("capturing /gps1/position")

        def flushed_bytes() -> int:  # the writer flushes every second
            bags = bag_dirs(str(tmp_path / "capture"))
            return sum(os.path.getsize(os.path.join(bags[0], n)) for n in os.listdir(bags[0])
                       if n.endswith(".active")) if bags else 0

        wait_for(lambda: flushed_bytes() > 50_000, 30, "fixes flushed to the first bag")
        assert client.set("capture_dir", str(tmp_path / "moved")) == (True, "")
        fixes = published(sensors.communicate(timeout=60)[0])[0]
    [first] = bag_dirs(str(tmp_path / "capture"))
    [second] = bag_dirs(str(tmp_path / "moved"))
    before = [int(m.latitude) for m in read_bag(first)["/gps1/position"]]
    after = [int(m.latitude) for m in read_bag(second)["/gps1/position"]]
    assert before and after
    assert before + after == list(range(fixes))


def test_no_bag_is_made_until_a_topic_is_there_to_record(tmp_path):
    path = config(tmp_path, {"gps1": [{"method": "Position"}]})
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node):
        with ros_client() as client:  # the node runs and knows its method: still no bag
            client.next_message(DiagnosticArray, "/diagnostics", lambda m: any(
                "waiting for a publisher on /gps1/position" in s.message for s in m.status))
        assert bag_dirs(str(tmp_path / "capture")) == []
        fixes, _ = run_sensors(100, 0, 1.0)
    [bag] = bag_dirs(str(tmp_path / "capture"))
    assert len(read_bag(bag)["/gps1/position"]) == fixes


@pytest.mark.parametrize("cloud_size, budget, deepest", [
    # 1 MiB clouds under a 16 MiB budget: the readers' part (4 MiB, less the fixes' and the
    # pool's three clouds) holds one: at depth 10 DDS could hold 10 of them, so it moves down
    ("256x256", 16 << 20, 1),
    # 1 KiB clouds: the cloud type could carry megabytes, these do not; up to qos_depth
    ("8x8", 256 << 20, 1000),
], ids=["large", "small"])
def test_a_topic_moves_to_a_reader_of_the_depth_its_messages_call_for_with_none_lost_or_doubled(
        tmp_path, cloud_size, budget, deepest):
    """A cloud topic starts at rosbag2's depth 10 because its type can carry bulk data, a fix
    topic at qos_depth because its type is bounded (capture/reader_depth.py). Once the
    clouds' size and rate are seen, the node moves their topic to a reader of the depth the
    memory budget's split calls for (capture/memory_budget.py, capture/handover.py); the bag
    holds every cloud published, each once."""
    path = config(tmp_path, {"camera1": [{"method": "PointCloud"}],
                             "gps1": [{"method": "Position"}]}, memory_budget_bytes=budget)
    node = NodeProcess(path, str(tmp_path / "node.log")).start()
    with stopped_after(node), ros_client() as client:
        sensors = start_sensors(10, 20, 8.0, "--cloud-size", cloud_size, "--wait-subscribers", "1")
        node.wait_log(f"capturing {CLOUD_TOPIC} with depth")
        [depth] = re.findall(rf"capturing {CLOUD_TOPIC} with depth (\d+)", node.log())
        assert int(depth) == deepest, depth
        fixes, clouds = published(sensors.communicate(timeout=60)[0])
        wait_received({GPS_TOPIC: fixes, CLOUD_TOPIC: clouds})
        readers = client.node.count_subscribers(CLOUD_TOPIC)  # seconds after the move
        with open(f"/proc/{node.process.pid}/maps") as maps:
            mapped = maps.read()
    assert readers == 1, f"{readers} readers of {CLOUD_TOPIC}: the old one was not closed"
    # recording raw never builds a message with an array field (node/deferred_import.py)
    assert "_multiarray_umath" not in mapped, "the node loaded numpy"
    log = node.log()
    assert f"capturing {CLOUD_TOPIC} (sensor_msgs/msg/PointCloud2) for camera1/PointCloud at " \
        "every message (reliable, depth 10)" in log
    assert f"capturing {GPS_TOPIC} (sensor_msgs/msg/NavSatFix) for gps1/Position at every " \
        "message (reliable, depth 1000)" in log
    assert f"capturing {GPS_TOPIC} with depth" not in log
    [bag] = bag_dirs(str(tmp_path / "capture"))
    stamps = [raw[4:12] for _, raw in read_rosbag2(bag)[CLOUD_TOPIC][1]]  # header.stamp
    assert clouds >= 140 and len(stamps) == clouds and len(set(stamps)) == clouds
