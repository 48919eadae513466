"""The ROS side of incident clips: ``~/capture_clip``, the trigger topic, and the timer that
closes a clip once its ``post`` seconds have passed. Everything runs on the executor's
thread, which is what ClipRecorder relies on."""

from __future__ import annotations

from collections.abc import Callable

from rclpy.node import Node
from std_msgs.msg import String
from std_srvs.srv import Trigger

from data_manager_ros.capture.clips import ClipRecorder, ClipSettings
from data_manager_ros.config.settings import DataManagerConfig, part_settings
from data_manager_ros.node.topic_follower import TopicFollower

POLL_S = 0.1


def clip_settings(config: DataManagerConfig) -> ClipSettings:
    return part_settings(config, "clip", ClipSettings)


def opened(outcome: str) -> bool:
    return not outcome.startswith("no clip")


class ClipTriggers:
    def __init__(self, node: Node, clips: ClipRecorder, clock: Callable[[], int]) -> None:
        self._node = node
        self._clips = clips
        self.clock = clock  # the receive clock, so triggers and messages share a time base
        self._trigger_topic = TopicFollower(node, String, self._on_message)
        node.create_service(Trigger, "~/capture_clip", self._on_service)
        node.create_timer(POLL_S, lambda: clips.poll(self.clock()))

    def configure(self, config: DataManagerConfig, topic: str) -> None:
        """``topic``: clip_trigger_topic as the node resolved it ("" for none)."""
        self._clips.configure(clip_settings(config), config.expanded_capture_dir())
        self._trigger_topic.follow(topic)

    def _on_message(self, message: String) -> None:
        self._trigger(message.data or self._trigger_topic.topic)

    def _on_service(self, request: Trigger.Request,
                    response: Trigger.Response) -> Trigger.Response:
        response.message = self._trigger("~/capture_clip")
        response.success = opened(response.message)
        return response

    def snapshot(self) -> bool:
        """rosbag2's ``~/snapshot``: a clip of what the buffers hold and what follows."""
        return opened(self._trigger("~/snapshot"))

    def _trigger(self, reason: str) -> str:
        outcome = self._clips.trigger(reason, self.clock())
        self._node.get_logger().info(f"clip trigger ({reason}): {outcome}")
        return outcome
