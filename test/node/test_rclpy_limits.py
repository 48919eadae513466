"""What this rclpy cannot do yet, and the capture path works around.

rosbag2 stores the publisher's source timestamp as publish_time. rclpy passes it in a
MessageInfo to callbacks that take two arguments, but the EventsExecutor (the only Python
executor that keeps up with kHz topics here) calls such a callback with ONE argument, the
(message, info) tuple, and the TypeError surfaces as a SystemError. The node's callbacks
take either form (``capture.intake.with_message_info``). When this test fails, rclpy has
fixed it and that wrapper can become a plain two-argument callback.
"""

from __future__ import annotations

import time

import pytest
import rclpy
from std_msgs.msg import String

try:
    from rclpy.experimental import EventsExecutor
except ImportError:  # Jazzy: the node runs the SingleThreadedExecutor, which passes it
    pytest.skip("this rclpy has no EventsExecutor", allow_module_level=True)


def test_events_executor_cannot_pass_message_info():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("message_info_probe", context=context)
    received = []
    node.create_subscription(String, "message_info_probe", lambda m, info: received.append(info),
                             10, raw=True)
    publisher = node.create_publisher(String, "message_info_probe", 10)
    executor = EventsExecutor(context=context)
    executor.add_node(node)
    try:
        with pytest.raises(SystemError):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                publisher.publish(String(data="x"))
                executor.spin_once(timeout_sec=0.05)
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert not received
