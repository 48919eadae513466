"""How soon the node subscribes to a topic that appears, and what watching the graph costs.

    python bench/discovery_bench.py [--topics 5] [--idle 15] [--reference TREE]

The node is configured with --topics methods whose topics do not exist yet. Phase 1: its CPU
while it waits for them (the graph is read every 100 ms then), against a bare rclpy node
that spins and does nothing, measured in the same run. Phase 2: a publisher appears on
each topic in turn; the latency is from create_publisher here to the node's "capturing"
log line (the clocks are the same machine's). Phase 3: its CPU with every topic
subscribed (the graph is read once a second, for lost publishers and type changes).
--reference TREE measures the node of another checkout too, in the same run (e.g. the commit
before a change: ``git worktree add /tmp/before <commit>``), and prints the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import psutil
import rclpy
import yaml
from std_msgs.msg import String

BARE = """
import rclpy, signal, sys
rclpy.init()
node = rclpy.create_node("bare_idle")
try:
    rclpy.spin(node)
except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
    pass
"""


def cpu_percent(process: psutil.Process, seconds: float) -> float:
    before = process.cpu_times()
    time.sleep(seconds)
    after = process.cpu_times()
    return 100.0 * ((after.user + after.system) - (before.user + before.system)) / seconds


def measure(tree: str, topics: int, idle: float) -> tuple[float, float, list[float]]:
    """(CPU waiting, CPU subscribed, latencies in ms) of the node of ``tree``."""
    tmp = tempfile.mkdtemp(prefix="dm-discovery-")
    config = os.path.join(tmp, "dm.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"data_manager": {
            "capture_dir": os.path.join(tmp, "capture"), "sync_disabled": True,
            "minimum_free_space_bytes": 0, "minimum_free_space_fraction": 0.0,
            "components": {"probe": [{"method": f"Topic{i}", "type": "std_msgs/msg/String",
                                      "topic": f"/probe/topic{i}"} for i in range(topics)]}}},
                       handle)
    log_path = os.path.join(tmp, "node.log")
    with open(log_path, "w") as log:
        node = subprocess.Popen(  # -m imports from the cwd first
            [sys.executable, "-m", "data_manager_ros.node.main", "--ros-args", "-p",
             f"config_file:={config}"], stdout=log, stderr=subprocess.STDOUT, cwd=tree,
            env={**os.environ, "PYTHONPATH": tree})
    publisher_node = rclpy.create_node("discovery_bench_publishers")
    try:
        time.sleep(3.0)  # started and settled
        waiting = cpu_percent(psutil.Process(node.pid), idle)
        latencies = []
        publishers = []
        for i in range(topics):
            topic = f"/probe/topic{i}"
            created = time.time()
            publishers.append(publisher_node.create_publisher(String, topic, 10))
            stamp = None
            while stamp is None and time.time() < created + 10:
                with open(log_path, encoding="utf-8") as handle:
                    found = re.search(r"\[(\d+\.\d+)\] \[data_manager\]: capturing " + topic
                                      + r" ", handle.read())
                stamp = float(found.group(1)) if found else None
                time.sleep(0.01)
            latencies.append((stamp - created) * 1000 if stamp else float("inf"))
            time.sleep(1.0)
        subscribed = cpu_percent(psutil.Process(node.pid), idle)
    finally:
        node.send_signal(2)
        node.wait(30)
        publisher_node.destroy_node()
    return waiting, subscribed, latencies


def report(name: str, result: tuple[float, float, list[float]]) -> None:
    waiting, subscribed, latencies = result
    print(f"{name}: CPU waiting for topics {waiting:.2f}%, all subscribed {subscribed:.2f}%; "
          f"new topic to subscription {', '.join(f'{ms:.0f}' for ms in latencies)} ms "
          f"(worst {max(latencies):.0f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=5)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds per CPU phase")
    parser.add_argument("--reference", help="another checkout whose node is measured too")
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rclpy.init()
    bare = subprocess.Popen([sys.executable, "-c", BARE])
    try:
        time.sleep(3.0)
        bare_cpu = cpu_percent(psutil.Process(bare.pid), args.idle)
        this = measure(here, args.topics, args.idle)
        reference = measure(args.reference, args.topics, args.idle) if args.reference else None
    finally:
        bare.send_signal(2)
        bare.wait(30)
        rclpy.shutdown()
    print(f"bare rclpy node, idle: {bare_cpu:.2f}% CPU")
    report("this tree", this)
    if reference:
        report("reference", reference)
        print(f"ratios this / reference: CPU waiting {this[0] / max(reference[0], 0.01):.2f}, "
              f"subscribed {this[1] / max(reference[1], 0.01):.2f}, worst latency "
              f"{max(this[2]) / max(reference[2]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
