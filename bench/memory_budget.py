"""The node's memory against its budget while the disk is stopped for real, and against
`ros2 bag record` on the same stream.

    python bench/memory_budget.py [--budgets 64 128 256] [--bulk 1 3 8] [--freeze 10]

Each run records the 15 kHz GPS and N bulk topics (1 MiB point clouds at 15 Hz: what a
camera's image weighs) onto a small ext4 file system of its own (an image in /dev/shm,
loop-mounted), which the bench freezes with `fsfreeze -f` for --freeze seconds, 5 s into the
publishing, and thaws (also on any error: writers block on a frozen disk). Per run it prints
the recorder's RSS before the publishers started (idle) and its peak, the peak against
idle + budget x 1.1 (the target), what it kept of what was sent, and for the node whether its
reported drops are exactly what the bag lacks (sent - written = dropped, per topic, when
nothing was lost before the node). rosbag2 records each topic set once (it has no budget).
Needs root (mount, fsfreeze); without it, says so and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import yaml
from vs_rosbag2 import (
    GPS,
    cloud_topic,
    mib,
    node_env,
    record,
    rosbag2_kept,
)

MIB = 1 << 20
CLOUD = "256x256"  # 16 bytes a point: 1 MiB a cloud
HZ = 15.0
GPS_HZ = 15000.0


@contextlib.contextmanager
def small_disk(size: str = "6G") -> Iterator[str]:
    """A fresh ext4 mounted on a loop device; unmounted and removed afterwards."""
    work = tempfile.mkdtemp(prefix="dm-memory-", dir="/dev/shm")
    image, mount = os.path.join(work, "disk.img"), os.path.join(work, "mnt")
    os.mkdir(mount)
    subprocess.run(["truncate", "-s", size, image], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
    subprocess.run(["mount", "-o", "loop", image, mount], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["fsfreeze", "-u", mount], capture_output=True)
        subprocess.run(["umount", mount], check=True)
        shutil.rmtree(work)


def freezer(mount: str, after_s: float, for_s: float) -> threading.Thread:
    """A thread that stops the disk for real after ``after_s`` and starts it ``for_s`` later."""
    def run() -> None:
        time.sleep(after_s)
        subprocess.run(["fsfreeze", "-f", mount], check=True)
        try:
            time.sleep(for_s)
        finally:
            subprocess.run(["fsfreeze", "-u", mount], check=True)
    return threading.Thread(target=run, daemon=True)


def node_counts(log: str) -> dict[str, tuple[int, int, int, int]]:
    """(received, written, dropped, missed before the node) per topic, from the node's stop
    lines."""
    return {m.group(1): tuple(int(v) for v in m.groups()[1:]) for m in re.finditer(
        r"capture stats (\S+): received (\d+) written (\d+) dropped (\d+) throttled \d+ "
        r"missed before the node (\d+)", log)}


def node_config(path: str, capture_dir: str, bulk: int, budget: int) -> str:
    components = {"gps1": [{"method": "Position", "type": "sensor_msgs/msg/NavSatFix"}]}
    for index in range(bulk):
        components[f"camera{index + 1}"] = [{"method": "PointCloud",
                                             "type": "sensor_msgs/msg/PointCloud2"}]
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"data_manager": {
            "capture_dir": capture_dir, "sync_disabled": True, "memory_budget_bytes": budget,
            "minimum_free_space_bytes": 0, "minimum_free_space_fraction": 0.0,
            "components": components}}, handle)
    return path


def run(recorder: list[str], env: dict[str, str], mount: str, bulk: int,
        args: argparse.Namespace) -> tuple[dict[str, int], dict[str, int], str]:
    clouds = tuple(HZ for _ in range(bulk))
    stop = freezer(mount, 5.0, args.freeze)
    sent, _, peak, log, _ = record(recorder, env, GPS_HZ, clouds, args.duration, CLOUD,
                                   publishing=stop.start)
    stop.join()
    return sent, peak, log


def kept(sent: dict[str, int], counts: dict[str, int]) -> str:
    return f"{sum(counts.get(t, 0) for t in sent) / max(sum(sent.values()), 1):.3f}"


def rss_line(peak: dict[str, int], budget: int) -> str:
    idle, top = peak["idle"] / MIB, peak.get("VmRSS", 0) / MIB
    line = f"idle {idle:.0f} peak {mib(peak)} MiB"
    if budget:
        target = idle + budget / MIB * 1.1
        line += f" (target {target:.0f}: {'met' if top <= target else 'MISSED'})"
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[64, 128, 256],
                        help="MiB")
    parser.add_argument("--bulk", type=int, nargs="+", default=[1, 3, 8])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--freeze", type=float, default=10.0)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("fsfreeze") is None:
        print("needs root and fsfreeze (a loop mount, a frozen file system): not run")
        return 0
    rosbag2 = shutil.which("ros2") is not None
    print(f"15 kHz GPS + N x 1 MiB clouds at {HZ:g} Hz, {args.duration:g} s, disk frozen "
          f"{args.freeze:g} s from 5 s in")
    for bulk in args.bulk:
        topics = [GPS] + [cloud_topic(i) for i in range(bulk)]
        if rosbag2:
            with small_disk() as mount:
                bag = os.path.join(mount, "rosbag2")
                sent, peak, _ = run(["ros2", "bag", "record", "-s", "mcap", "-o", bag, *topics],
                                    dict(os.environ), mount, bulk, args)
                print(f"N={bulk} rosbag2         kept {kept(sent, rosbag2_kept(bag))}  "
                      f"{rss_line(peak, 0)}", flush=True)
        for budget in args.budgets:
            with small_disk() as mount, tempfile.TemporaryDirectory() as work:
                config = node_config(os.path.join(work, "dm.yaml"),
                                     os.path.join(mount, "capture"), bulk, budget * MIB)
                sent, peak, log = run([sys.executable, "-m", "data_manager_ros.node.main",
                                       "--ros-args", "-p", f"config_file:={config}"],
                                      node_env(), mount, bulk, args)
            counts = node_counts(log)
            none = (0, 0, 0, 0)
            written = {t: c[1] for t, c in counts.items()}
            dropped = sum(c[2] for c in counts.values())
            missed = sum(c[3] for c in counts.values())
            unseen = sum(n - counts.get(t, none)[0] for t, n in sent.items())
            exact = all(n - counts.get(t, none)[1] == counts.get(t, none)[2] + counts.get(
                t, none)[3] for t, n in sent.items())
            print(f"N={bulk} node {budget:4} MiB kept {kept(sent, written)}  "
                  f"{rss_line(peak, budget * MIB)}  dropped {dropped}, never received "
                  f"{unseen} (counted missed before the node: {missed}): sent - written = "
                  f"dropped + missed {'exactly' if exact else 'NOT exactly'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
