"""One subscription to a topic that a parameter names: made again when the name changes,
dropped when it is set to "" (the trigger topic of clips, the sync condition topic)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.node import Node
from rclpy.subscription import Subscription

DEPTH = 10


class TopicFollower:
    def __init__(self, node: Node, msg_type: type, callback: Callable[[Any], None]) -> None:
        self._node = node
        self._msg_type = msg_type
        self._callback = callback
        self.topic = ""
        self._subscription: Subscription | None = None

    def follow(self, topic: str) -> None:
        if topic == self.topic:
            return
        if self._subscription is not None:
            self._node.destroy_subscription(self._subscription)
            self._subscription = None
        self.topic = topic
        if topic:
            self._subscription = self._node.create_subscription(
                self._msg_type, topic, self._callback, DEPTH)
