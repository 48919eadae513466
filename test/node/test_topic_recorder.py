"""TopicRecorder with a real rclpy node and CaptureEngine in this process, no node binary."""

from __future__ import annotations

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import NavSatFix
from std_msgs.msg import String

from data_manager_ros.capture.engine import CaptureEngine
from data_manager_ros.config.settings import make_method
from data_manager_ros.node.topic_recorder import TopicRecorder
from helpers.bag_samples import engine_settings, fix
from helpers.processes import wait_for
from helpers.sync_setup import ListLogger


@pytest.fixture
def recorder(tmp_path):
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("recorder_under_test", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    engine = CaptureEngine(engine_settings(str(tmp_path)), ListLogger())
    engine.start()
    yield TopicRecorder(node, engine, qos_depth=100), node, executor, engine
    engine.close()
    node.destroy_node()
    rclpy.shutdown(context=context)


def test_a_topic_is_subscribed_with_the_graphs_type_once_a_publisher_appears(recorder):
    topics, node, executor, engine = recorder
    topics.update((make_method("gps1", {"method": "Position", "topic": "/rec_gps"}),))
    assert topics.subscribed == {} and topics.discover()  # still waiting
    publisher = node.create_publisher(NavSatFix, "/rec_gps", 10)
    wait_for(lambda: not topics.discover(), 10, "the publisher to be discovered")
    assert topics.subscribed == {"/rec_gps": "sensor_msgs/msg/NavSatFix"}
    for i in range(5):
        publisher.publish(fix(i))
    wait_for(lambda: executor.spin_once(timeout_sec=0.05) or
             engine.stats["/rec_gps"].written == 5, 10, "five fixes written")


def test_a_topic_of_another_type_than_configured_is_not_recorded(recorder):
    topics, node, _, engine = recorder
    topics.update((make_method("gps1", {"method": "Position", "topic": "/rec_wrong",
                                        "type": "sensor_msgs/msg/NavSatFix"}),))
    node.create_publisher(String, "/rec_wrong", 10)
    wait_for(lambda: node.count_publishers("/rec_wrong") == 1, 10, "the publisher in the graph")
    topics.poll()
    assert topics.subscribed == {} and "/rec_wrong" not in engine.stats


def test_update_keeps_unchanged_subscriptions_and_drops_removed_ones(recorder):
    topics, node, _, _ = recorder
    node.create_publisher(NavSatFix, "/rec_a", 10)
    node.create_publisher(NavSatFix, "/rec_b", 10)
    a = make_method("gps1", {"method": "Position", "topic": "/rec_a"})
    b = make_method("gps2", {"method": "Position", "topic": "/rec_b"})
    topics.update((a, b))
    wait_for(lambda: not topics.discover(), 10, "both topics subscribed")
    kept = node.count_subscribers("/rec_a")
    topics.update((a,))
    assert topics.subscribed == {"/rec_a": "sensor_msgs/msg/NavSatFix"}
    assert node.count_subscribers("/rec_a") == kept == 1
    wait_for(lambda: node.count_subscribers("/rec_b") == 0, 10, "the removed subscription gone")
