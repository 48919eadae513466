"""Topics other nodes react to: a file closed, a file uploaded (like rosbag2's
``events/write_split``).

ament_python cannot generate message types, so each event is a
``diagnostic_msgs/DiagnosticStatus``: ``name`` says which event, ``message`` is the
file's path, ``hardware_id`` the data manager, and ``values`` the fields (bag,
path, message_count, bytes; location for an upload). Transient-local with a depth
of ``HISTORY``: a subscriber that comes late still gets the last events.
"""

from __future__ import annotations

import os

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

HISTORY = 10
FILE_CLOSED = "file_closed"
FILE_UPLOADED = "file_uploaded"


def _event(name: str, source: str, path: str, fields: dict[str, object]) -> DiagnosticStatus:
    return DiagnosticStatus(level=DiagnosticStatus.OK, name=name, message=path,
                            hardware_id=source,
                            values=[KeyValue(key=k, value=str(v)) for k, v in fields.items()])


class FileEvents:
    def __init__(self, node: Node) -> None:
        qos = QoSProfile(depth=HISTORY, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                         reliability=ReliabilityPolicy.RELIABLE)
        self._source = node.get_fully_qualified_name()
        self._closed = node.create_publisher(DiagnosticStatus, f"~/events/{FILE_CLOSED}", qos)
        self._uploaded = node.create_publisher(DiagnosticStatus, f"~/events/{FILE_UPLOADED}",
                                               qos)

    def closed(self, path: str, message_count: int) -> None:
        """A bag file has its final name (any thread: rclpy publishers are thread-safe)."""
        self._closed.publish(_event(FILE_CLOSED, self._source, path, {
            "bag": os.path.basename(os.path.dirname(path)), "path": path,
            "message_count": message_count, "bytes": os.path.getsize(path)}))

    def uploaded(self, path: str, size: int, location: str) -> None:
        self._uploaded.publish(_event(FILE_UPLOADED, self._source, path, {
            "path": path, "bytes": size, "location": location}))
