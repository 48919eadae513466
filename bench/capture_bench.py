"""Capture rate of the data_manager node against a bare rclpy subscriber, same run.

    python bench/capture_bench.py [--gps-hz 1000] [--cloud-hz 30] [--duration 20]
                                  [--best-effort] [--executor events|single|multi]
                                  [--deserialized] [--gps-capture-hz HZ] [--sync]

The demo sensors (another process) publish NavSatFix at --gps-hz and 640x480x16 B
PointCloud2 at --cloud-hz. First a bare subscriber (raw, empty callback) counts
what arrives: the ceiling of Python on this machine. Then the node records the
same stream into a bag. Reports published / received / written / dropped per
topic, the node's CPU, its peak RSS, and the ratio of the node's capture to
the bare subscriber's (and the bare subscriber's own peak RSS for reference).
--deserialized makes the bare subscriber take messages instead of bytes;
--gps-capture-hz throttles the node's GPS method and reports the rate it kept;
--sync uploads the closed files to a local tus server while capturing.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import psutil
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test"))

from helpers.tus_server import TusServer  # noqa: E402

GPS, CLOUD = "/gps1/position", "/camera1/point_cloud"


def bare(duration: float, executor: str, best_effort: bool, raw: bool) -> None:
    """Child: count raw messages with an empty callback; print the counts."""
    import rclpy
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
    from rclpy.experimental import EventsExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.task import Future
    from sensor_msgs.msg import NavSatFix, PointCloud2

    rclpy.init()
    node = rclpy.create_node("bare_subscriber")
    counts = {GPS: 0, CLOUD: 0}
    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT if best_effort
                     else ReliabilityPolicy.RELIABLE)
    for topic, msg_type in ((GPS, NavSatFix), (CLOUD, PointCloud2)):
        def count(_: bytes, topic: str = topic) -> None:
            counts[topic] += 1
        node.create_subscription(msg_type, topic, count, qos, raw=raw)
    chosen = {"events": EventsExecutor, "single": SingleThreadedExecutor,
              "multi": MultiThreadedExecutor}[executor]()
    chosen.add_node(node)
    stop = time.monotonic() + duration
    never = Future()
    while time.monotonic() < stop:
        chosen.spin_until_future_complete(never, timeout_sec=0.2)
    print(f"bare {counts[GPS]} {counts[CLOUD]}", flush=True)


def sensors(args: argparse.Namespace) -> subprocess.Popen:
    command = [sys.executable, "-m", "data_manager_ros.demo", "--gps-hz", str(args.gps_hz),
               "--cloud-hz", str(args.cloud_hz), "--duration", str(args.duration),
               "--wait-subscribers", "1"]
    if args.best_effort:
        command.append("--best-effort")
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def published(process: subprocess.Popen) -> tuple[int, int]:
    out = process.communicate(timeout=120)[0]
    match = re.search(r"published (\d+) GPS fixes and (\d+) point clouds", out)
    return int(match.group(1)), int(match.group(2))


def watch_peak_rss(pid: int, until: subprocess.Popen) -> int:
    process, peak = psutil.Process(pid), 0
    while until.poll() is None:
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.2)
    return peak


def run_bare(args: argparse.Namespace) -> tuple[tuple[int, int], tuple[int, int], int]:
    child = subprocess.Popen([sys.executable, __file__, "--bare", args.executor,
                              str(args.duration + 6)] + (["--best-effort"] * args.best_effort)
                             + (["--deserialized"] * args.deserialized),
                             stdout=subprocess.PIPE, text=True)
    pub = sensors(args)
    peak = watch_peak_rss(child.pid, pub)
    sent = published(pub)
    words = child.communicate(timeout=120)[0].split()
    return sent, (int(words[-2]), int(words[-1])), peak


def run_node(args: argparse.Namespace, tmp: str, sync_url: str) -> dict:
    config = os.path.join(tmp, "dm.yaml")
    gps = {"method": "Position", "type": "sensor_msgs/msg/NavSatFix"}
    if args.gps_capture_hz:
        gps["capture_frequency_hz"] = args.gps_capture_hz
    with open(config, "w") as handle:
        yaml.safe_dump({"data_manager": {
            "capture_dir": os.path.join(tmp, "capture"), "sync_disabled": not sync_url,
            "sync_url": sync_url or "file://" + os.path.join(tmp, "uploaded"),
            "sync_interval_mins": 0.05, "maximum_capture_file_duration_s": 5.0,
            "components": {"gps1": [gps], "camera1": [{"method": "PointCloud",
                                                       "type": "sensor_msgs/msg/PointCloud2"}]}}},
            handle)
    log_path = os.path.join(tmp, "node.log")
    with open(log_path, "w") as log:
        node = subprocess.Popen([sys.executable, "-m", "data_manager_ros.main", "--ros-args",
                                 "-p", f"config_file:={config}"], stdout=log,
                                stderr=subprocess.STDOUT)
    proc = psutil.Process(node.pid)
    pub = sensors(args)
    cpu_start = proc.cpu_times()
    wall_start = time.monotonic()
    peak = watch_peak_rss(node.pid, pub)
    sent = published(pub)
    time.sleep(2.0)
    cpu_end = proc.cpu_times()
    wall = time.monotonic() - wall_start
    node.send_signal(signal.SIGINT)
    node.wait(60)
    with open(log_path) as handle:
        text = handle.read()
    stats = {m.group(1): tuple(int(g) for g in m.groups()[1:]) for m in re.finditer(
        r"capture stats (\S+): received (\d+) written (\d+) dropped (\d+)", text)}
    cpu = (cpu_end.user + cpu_end.system) - (cpu_start.user + cpu_start.system)
    return {"sent": sent, "stats": stats, "cpu_percent": 100 * cpu / wall,
            "peak_rss_mib": peak / 2**20, "capture_s": sent[0] / args.gps_hz}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gps-hz", type=float, default=1000)
    parser.add_argument("--cloud-hz", type=float, default=30)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--best-effort", action="store_true")
    parser.add_argument("--executor", default="events", choices=["events", "single", "multi"])
    parser.add_argument("--deserialized", action="store_true")
    parser.add_argument("--gps-capture-hz", type=float, default=0.0)
    parser.add_argument("--sync", action="store_true")
    parser.add_argument("--bare", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare(float(args.bare[1]), args.bare[0], args.best_effort, not args.deserialized)
        return 0
    sent_bare, got_bare, bare_peak = run_bare(args)
    with tempfile.TemporaryDirectory(prefix="dm-capture-bench-") as tmp:
        server = TusServer(os.path.join(tmp, "server")).start() if args.sync else None
        try:
            result = run_node(args, tmp, server.url if server else "")
            uploaded = len(server.completed()) if server else 0
        finally:
            if server:
                server.kill()
    print(f"gps {args.gps_hz:g} Hz, clouds {args.cloud_hz:g} Hz, {args.duration:g} s, "
          f"{'best effort' if args.best_effort else 'reliable'}, bare executor {args.executor}"
          f"{' deserialized' if args.deserialized else ' raw'}"
          f"{f', {uploaded} files uploaded during capture' if args.sync else ''}")
    print("topic                  bare: sent  received | node: sent  received   written  dropped"
          "  ratio")
    for index, topic in enumerate((GPS, CLOUD)):
        received, written, dropped = result["stats"].get(topic, (0, 0, 0))
        bare_rate = got_bare[index] / max(sent_bare[index], 1)
        node_rate = written / max(result["sent"][index], 1)
        print(f"{topic:22} {sent_bare[index]:10d} {got_bare[index]:9d} | "
              f"{result['sent'][index]:10d} {received:9d} {written:9d} {dropped:8d}  "
              f"{node_rate / max(bare_rate, 1e-9):5.3f}")
    print(f"node CPU {result['cpu_percent']:.0f}% of one core, peak RSS "
          f"{result['peak_rss_mib']:.0f} MiB (bare subscriber {bare_peak / 2**20:.0f} MiB)")
    if args.gps_capture_hz:
        kept = result["stats"].get(GPS, (0, 0, 0))[1]
        achieved = kept / result["capture_s"]
        print(f"throttled GPS: kept {achieved:.2f} Hz of {args.gps_capture_hz:g} Hz configured "
              f"({100 * (achieved / args.gps_capture_hz - 1):+.2f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
