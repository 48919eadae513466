"""``data_manager`` executable: runs the node until SIGINT/SIGTERM, then closes bags cleanly.

The EventsExecutor is the only Python executor that keeps up with kHz topics
on a small robot computer (docs/performance.md). In the Kilted wheels its
``spin()`` and ``spin_until_future_complete()`` without a timeout busy-loop
without running timers, so the main thread spins in short slices; signal
handlers run between slices and only set a flag.
"""

from __future__ import annotations

import signal
import sys
import threading

import rclpy
from rclpy.executors import Executor, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

from data_manager_ros.config.settings import ConfigError

try:
    from data_manager_ros.node.data_manager_node import DataManagerNode
except ModuleNotFoundError as missing:  # rosdep installs everything but the mcap library
    if missing.name != "mcap":
        raise
    sys.exit("data_manager: the Python library 'mcap' is not installed (it has no rosdep "
             "key); install it with: pip install 'mcap>=1.6'")

SLICE_S = 0.5  # how soon SIGINT/SIGTERM is noticed


def fastest_executor() -> tuple[Executor, str]:
    """The EventsExecutor where this rclpy has it (Kilted); older ones fall back."""
    try:
        from rclpy.experimental import EventsExecutor
    except ImportError:
        return SingleThreadedExecutor(), ("rclpy has no EventsExecutor: using the "
                                          "SingleThreadedExecutor, which tops out at a few "
                                          "kHz of small messages")
    return EventsExecutor(), ""


def main(args: list[str] | None = None) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        node = DataManagerNode()
    except ConfigError as error:
        print(f"data_manager: invalid configuration: {error}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    executor, warning = fastest_executor()
    if warning:
        node.get_logger().warning(warning)
    executor.add_node(node)
    never: Future = Future()
    while not stop.is_set():
        executor.spin_until_future_complete(never, timeout_sec=SLICE_S)
    node.get_logger().info("stopping: closing the bag")
    node.close()
    executor.shutdown(timeout_sec=0)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
