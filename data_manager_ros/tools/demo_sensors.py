"""The seed's two example sensors, for the demo, the tests and the benchmarks.

A GPS (``sensor_msgs/NavSatFix`` on ``/gps1/position``) at a high rate and a
depth camera (``sensor_msgs/PointCloud2`` on ``/camera1/point_cloud``, 640x480
points of 16 bytes) at 30 Hz. Each GPS fix carries its sequence number in
``latitude`` and each cloud in ``header.frame_id``, so a test can tell exactly
which messages a bag holds.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time

import rclpy
from rclpy._rclpy_pybind11 import RCLError
from rclpy.duration import Duration
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import NavSatFix, PointCloud2, PointField

GPS_TOPIC = "/gps1/position"
CLOUD_TOPIC = "/camera1/point_cloud"
DELIVERY_TIMEOUT_S = 10.0


def point_cloud(width: int = 640, height: int = 480) -> PointCloud2:
    fields = [PointField(name=n, offset=4 * i, datatype=PointField.FLOAT32, count=1)
              for i, n in enumerate("xyz")]
    fields.append(PointField(name="intensity", offset=12, datatype=PointField.FLOAT32, count=1))
    return PointCloud2(height=height, width=width, fields=fields, is_bigendian=False,
                       point_step=16, row_step=16 * width, is_dense=True,
                       data=bytes(16 * width * height))


def gps_fix(sequence: int) -> NavSatFix:
    """Stamped when made, as a driver stamps a reading: benchmarks tell stalls apart by it."""
    fix = NavSatFix(latitude=float(sequence), longitude=-122.0, altitude=10.0)
    fix.header.frame_id = "gps"
    fix.header.stamp.sec, fix.header.stamp.nanosec = divmod(time.time_ns(), 1_000_000_000)
    return fix


class Publisher:
    """Publishes at fixed rates by catching up on a schedule (a Python timer cannot tick at kHz)."""

    def __init__(self, node: rclpy.node.Node, gps_hz: float, cloud_hz: float,
                 reliable: bool = True, depth: int = 1000,
                 cloud_size: tuple[int, int] = (640, 480)) -> None:
        qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE if reliable
                         else ReliabilityPolicy.BEST_EFFORT)
        self._gps = node.create_publisher(NavSatFix, GPS_TOPIC, qos)
        self._cloud = node.create_publisher(PointCloud2, CLOUD_TOPIC, qos)
        self._gps_hz = gps_hz
        self._cloud_hz = cloud_hz
        self._cloud_msg = point_cloud(*cloud_size)
        self.gps_sent = 0
        self.clouds_sent = 0
        self.failed = 0

    def _publish(self, publisher: rclpy.publisher.Publisher, msg: object) -> None:
        """A reliable writer refuses messages while a crashed reader still holds its history
        (until DDS expires that reader's lease); a sensor keeps going and counts them."""
        try:
            publisher.publish(msg)
        except RCLError:
            self.failed += 1

    def run(self, duration_s: float, node: rclpy.node.Node, stop: threading.Event) -> None:
        start = time.monotonic()
        while not stop.is_set():
            elapsed = time.monotonic() - start
            if duration_s and elapsed >= duration_s:
                break
            while self.gps_sent < int(elapsed * self._gps_hz):
                self._publish(self._gps, gps_fix(self.gps_sent))
                self.gps_sent += 1
            while self.clouds_sent < int(elapsed * self._cloud_hz):
                self._cloud_msg.header.frame_id = str(self.clouds_sent)
                self._cloud_msg.header.stamp = node.get_clock().now().to_msg()
                self._publish(self._cloud, self._cloud_msg)
                self.clouds_sent += 1
            time.sleep(0.0005)

    def wait_delivered(self, timeout_s: float) -> bool:
        """Whether every reliable subscriber acknowledged everything sent: a big message
        whose fragments are being resent would be lost if the process exited first."""
        timeout = Duration(seconds=timeout_s)
        return all(publisher.wait_for_all_acked(timeout) for publisher in (self._gps, self._cloud))


def _wait_for_subscribers(node: rclpy.node.Node, topics: list[str], count: int,
                          stop: threading.Event) -> None:
    deadline = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < deadline and min(
            node.count_subscribers(topic) for topic in topics) < count:
        time.sleep(0.05)
    time.sleep(1.0)  # discovery saw the subscriber; let reliable matching finish



def published(output: str) -> tuple[int, int]:
    """(fixes, clouds) from this program's closing line, whatever DDS logged around it: what
    the demo, the benches and the tests compare a recording with."""
    found = re.findall(r"^published (\d+) GPS fixes and (\d+) point clouds", output, re.MULTILINE)
    if len(found) != 1:
        raise ValueError(f"no single 'published ... point clouds' line in {output[-300:]!r}")
    return int(found[0][0]), int(found[0][1])

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gps-hz", type=float, default=1000.0)
    parser.add_argument("--cloud-hz", type=float, default=30.0)
    parser.add_argument("--duration", type=float, default=0.0, help="seconds; 0 = until Ctrl-C")
    parser.add_argument("--wait-subscribers", type=int, default=0,
                        help="wait until this many subscribers see each topic before publishing")
    parser.add_argument("--best-effort", action="store_true")
    parser.add_argument("--depth", type=int, default=1000,
                        help="the publishers' history: a driver of depth 10 overwrites what a "
                             "stalled subscriber has not acknowledged")
    parser.add_argument("--cloud-size", default="640x480", help="WIDTHxHEIGHT points")
    args, ros_args = parser.parse_known_args(argv)
    # SIGINT and SIGTERM (`ros2 launch` sends both) end the publishing loop only: the context
    # stays valid for the last deliveries and a clean exit 0, as a well-behaved driver's does
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    rclpy.init(args=ros_args, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("data_manager_demo_sensors")
    width, height = (int(v) for v in args.cloud_size.split("x"))
    publisher = Publisher(node, args.gps_hz, args.cloud_hz, not args.best_effort, args.depth,
                          cloud_size=(width, height))
    try:
        published = [t for t, hz in ((GPS_TOPIC, args.gps_hz), (CLOUD_TOPIC, args.cloud_hz))
                     if hz > 0]  # a topic published at 0 Hz waits for nobody
        if args.wait_subscribers and published:
            _wait_for_subscribers(node, published, args.wait_subscribers, stop)
        publisher.run(args.duration, node, stop)
        # stopped by a signal, the subscribers are likely shutting down too: wait less
        timeout = 1.0 if stop.is_set() else DELIVERY_TIMEOUT_S
        if not publisher.wait_delivered(timeout):
            node.get_logger().warning(f"not every subscriber acknowledged the last messages "
                                      f"within {timeout:.0f} s")
    finally:
        print(f"published {publisher.gps_sent} GPS fixes and {publisher.clouds_sent} point clouds"
              f" ({publisher.failed} refused by DDS)", flush=True)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
