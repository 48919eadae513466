"""What this rclpy cannot do yet, and the capture path works around.

rosbag2 stores the publisher's source timestamp as publish_time. rclpy passes it in a
MessageInfo to callbacks that take two arguments, but the EventsExecutor (the only Python
executor that keeps up with kHz topics here) calls such a callback with ONE argument, the
(message, info) tuple, and the TypeError surfaces as a SystemError. The node's callbacks
take either form (``capture.intake.with_message_info``). When this test fails, rclpy has
fixed it and that wrapper can become a plain two-argument callback.
"""

from __future__ import annotations

import sys
import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.experimental import EventsExecutor  # Kilted's and Jazzy's rclpy both have it
from std_msgs.msg import String

from data_manager_ros.node.main import fastest_executor


def test_without_the_events_executor_the_node_falls_back_and_says_why(monkeypatch):
    """An rclpy without it (before Jazzy) gets the SingleThreadedExecutor, which passes a
    MessageInfo as two arguments, and a warning with what it costs."""
    rclpy.init()  # executors are made in the default context, as the node's main does
    try:
        monkeypatch.setitem(sys.modules, "rclpy.experimental", None)  # its import now fails
        executor, warning = fastest_executor()
        assert type(executor) is SingleThreadedExecutor
        assert warning.startswith("rclpy has no EventsExecutor: using the "
                                  "SingleThreadedExecutor")
        monkeypatch.undo()
        executor, warning = fastest_executor()
        assert type(executor).__name__ == "EventsExecutor" and warning == ""
    finally:
        rclpy.try_shutdown()


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
