"""``data_manager`` executable: runs the node until SIGINT/SIGTERM, then closes bags cleanly.

The EventsExecutor is the only Python executor that keeps up with kHz topics
on a small robot computer (docs/performance.md). In the Kilted wheels its
``spin()`` and ``spin_until_future_complete()`` without a timeout busy-loop
without running timers, so the main thread spins in short slices; signal
handlers run between slices and only set a flag.
"""

from __future__ import annotations

from data_manager_ros.node.deferred_import import defer

defer("numpy")  # before rclpy imports it: 12 MiB the node never uses (deferred_import.py)

import importlib.util
import signal
import sys
import threading

import rclpy
from rclpy.executors import Executor, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

from data_manager_ros.config.settings import ConfigError
from data_manager_ros.node.data_manager_node import DataManagerNode
from data_manager_ros.node.heap import keep_large_blocks

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
    if importlib.util.find_spec("mcap") is None:  # rosdep installs everything but this one,
        # which the node loads only to recover a bag: say so now, not after a crash
        sys.exit("data_manager: the Python library 'mcap' is not installed (it has no rosdep "
                 "key); install it with: pip install 'mcap>=1.6'")
    heap_set = keep_large_blocks()  # before the first message is allocated
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
    if not heap_set:
        node.get_logger().info("the C library has no glibc mallopt: large messages are "
                               "allocated with its defaults")
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
