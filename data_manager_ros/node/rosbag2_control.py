"""rosbag2's recorder services (``rosbag2_interfaces``) on this node, so a tool that drives
``ros2 bag record`` (pause, resume, split, snapshot) drives the data manager unchanged.
They sit beside the node's own services and do the same work: ``~/pause`` and
``~/resume`` are ``~/pause_capture``, ``~/split_bagfile`` is ``~/split_bag`` and
``~/snapshot`` writes an incident clip, this node's snapshot (before and after the
request). Where ``rosbag2_interfaces`` is not installed the node runs without them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.node import Node


class Rosbag2Control:
    def __init__(self, node: Node, *, pause: Callable[[bool], None],
                 paused: Callable[[], bool], split: Callable[[], bool],
                 snapshot: Callable[[], bool]) -> None:
        """``split``/``snapshot``: whether they could be done (rosbag2 answers ``success``
        for a snapshot only)."""
        self.offered = False
        try:
            from rosbag2_interfaces.srv import IsPaused, Pause, Resume, Snapshot, SplitBagfile
        except ImportError:
            node.get_logger().info("rosbag2_interfaces is not installed: the rosbag2 recorder "
                                   "services (~/pause, ~/resume, ~/is_paused, ~/split_bagfile, "
                                   "~/snapshot) are not offered")
            return

        def answer(work: Callable[[Any], object]) -> Callable[[Any, Any], Any]:
            def serve(request: Any, response: Any) -> Any:
                work(response)
                return response
            return serve

        def is_paused(response: Any) -> None:
            response.paused = paused()

        def take_snapshot(response: Any) -> None:
            response.success = snapshot()

        node.create_service(Pause, "~/pause", answer(lambda response: pause(True)))
        node.create_service(Resume, "~/resume", answer(lambda response: pause(False)))
        node.create_service(IsPaused, "~/is_paused", answer(is_paused))
        node.create_service(SplitBagfile, "~/split_bagfile", answer(lambda response: split()))
        node.create_service(Snapshot, "~/snapshot", answer(take_snapshot))
        self.offered = True
