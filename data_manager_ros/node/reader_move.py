"""A topic moving to a reader of another depth, one step per recorder poll.

The ROS side of ``capture/handover.py``: the second reader is created beside the first, the
first reader's callback is routed through the handover, the first is destroyed once the
second is seen to receive the same messages, and the handover's check is taken off the
second reader's path once no duplicate can come.
"""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.subscription import Subscription

from data_manager_ros.capture.handover import Handover
from data_manager_ros.capture.intake import MessageCallback, with_message_info


class ReaderMove:
    def __init__(self, node: Node, old: Subscription, old_callback: MessageCallback,
                 topic: str, profile: QoSProfile, callback: MessageCallback) -> None:
        """``old_callback`` and ``callback`` write a message; ``profile`` is the new reader's."""
        self._node = node
        self.old: Subscription | None = old
        self.callback = callback
        self._handover = Handover(old_callback, callback)
        # created before the old reader's callback changes, so that a reader that cannot be
        # created leaves the old one as it was; no callback runs between the two (both on
        # the executor's thread)
        self.reader = node.create_subscription(old.msg_type, topic,
                                               with_message_info(self._handover.from_new),
                                               profile, raw=True)
        old.callback = with_message_info(self._handover.from_old)

    def step(self) -> bool:
        """One poll's step; True once the move is complete (one reader, its own callback)."""
        handover = self._handover
        if self.old is not None and handover.both_receive:
            self._node.destroy_subscription(self.old)
            self.old = None
            handover.close_old()
        elif self.old is None and handover.done:
            self.reader.callback = self.callback
            return True
        return False

    def cancel(self) -> None:
        """The topic is dropped mid-move: the old reader goes too (the recorder destroys the
        new one, which is the topic's subscription from the start of the move)."""
        if self.old is not None:
            self._node.destroy_subscription(self.old)
            self.old = None
