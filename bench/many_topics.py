"""N low-rate topics in one process (std_msgs/String at --hz each), the rest of a robot's graph
for ``capture_bench.py --graph-topics N``. Runs until stopped."""

from __future__ import annotations

import argparse

import rclpy
from rclpy.executors import ExternalShutdownException
from std_msgs.msg import String


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("--hz", type=float, default=10.0)
    args = parser.parse_args()
    rclpy.init()
    node = rclpy.create_node("many_topics")
    publishers = [node.create_publisher(String, f"/graph/topic_{index:03d}", 10)
                  for index in range(args.count)]
    message = String(data="x" * 64)
    node.create_timer(1.0 / args.hz, lambda: [p.publish(message) for p in publishers])
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == "__main__":
    main()
