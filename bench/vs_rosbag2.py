"""The node against the C++ recorder its users would otherwise run (`ros2 bag record` from the
rosbag2 wheel), on the same stream, in the same run.

    python bench/vs_rosbag2.py [--duration 15] [--runs 1] [--workloads gps cloud ...] [--threads]

Workloads (publishers are processes of their own, one per sensor, as on a robot):
  gps        15 kHz NavSatFix
  pair       15 kHz NavSatFix + 30 Hz 640x480 point cloud (the seed's pair)
  cameras    three 640x480 point clouds at 30 Hz each (441 MB/s)
  uploading  the seed pair while the node uploads to the local tus server (rosbag2 records
             only: it has no upload); the upload process is counted with the node
  many       15 kHz NavSatFix beside 200 small topics at 10 Hz (bench/many_topics.py, one
             process, started before the recorders); both record them by a regex
For each workload and run, each recorder in turn records the same publishers (they start
once the recorder subscribed): kept / sent from the bag (rosbag2: metadata.yaml; the node:
its written counts, since uploaded files leave the disk), the CPU seconds of the recorder's
process tree while the publishers ran (also as % of one core over the publishing time,
--duration: the window also holds the publishers' start and their wait for the recorder's
subscription, 16-18 s for 15 s of publishing, which says nothing of the recorder; CPU % over
that window made the ratios of earlier sessions), and its peak RSS with its split (anonymous
= private memory, shmem = Fast DDS shared-memory segments, file = mapped files) and the
tree's peak PSS (shared pages divided among the processes that map them, so the node's
upload process does not count libpython twice). rosbag2 runs with its
defaults and MCAP storage; the node with its defaults. Each recorder's writeback is synced
to disk before the next starts (3 cameras write 441 MB/s: more than this disk takes, so
the second recorder would otherwise be throttled for the first one's dirty pages). The
node's line adds what its writer dropped (its backlog full: the disk too slow) apart from
what never reached it. Without rosbag2 it says so and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import psutil
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "test"), HERE]

from capture_bench import memory  # noqa: E402

from data_manager_ros.tools.demo_sensors import published  # noqa: E402
from helpers.processes import dds_profile_env  # noqa: E402
from helpers.tus_server import TusServer  # noqa: E402

GPS = "/gps1/position"
LARGE_MESSAGES = os.path.join(HERE, "..", "config", "fastdds_large_messages.xml")
WORKLOADS = {  # name: (GPS Hz, cloud Hz per camera, upload, small 10 Hz topics beside)
    "gps": (15000, (), False, 0),
    "pair": (15000, (30,), False, 0),
    "cameras": (0, (30, 30, 30), False, 0),
    "uploading": (15000, (30,), True, 0),
    "many": (15000, (), False, 200),
}
GRAPH = "/graph/.*"  # bench/many_topics.py's topics


def cloud_topic(index: int) -> str:
    return f"/camera{index + 1}/point_cloud"


def publishers(gps_hz: float, clouds: tuple[float, ...], duration: float,
               cloud_size: str = "640x480") -> list[subprocess.Popen]:
    base = [sys.executable, "-m", "data_manager_ros.tools.demo_sensors", "--duration",
            str(duration), "--wait-subscribers", "1", "--cloud-size", cloud_size]
    out = []
    if gps_hz:
        out.append(subprocess.Popen([*base, "--gps-hz", str(gps_hz), "--cloud-hz", "0"],
                                    stdout=subprocess.PIPE, text=True))
    env = {**os.environ, **dds_profile_env(os.path.abspath(LARGE_MESSAGES))}
    for index, hz in enumerate(clouds):
        out.append(subprocess.Popen(
            [*base, "--gps-hz", "0", "--cloud-hz", str(hz), "--ros-args", "-r",
             f"/camera1/point_cloud:={cloud_topic(index)}"], stdout=subprocess.PIPE, text=True,
            env=env))
    return out


def sent(processes: list[subprocess.Popen], gps_hz: float) -> dict[str, int]:
    counts = {}
    for index, process in enumerate(processes):
        fixes, clouds = published(process.communicate(timeout=120)[0])
        if gps_hz and index == 0:
            counts[GPS] = fixes
        else:
            counts[cloud_topic(index - (1 if gps_hz else 0))] = clouds
    return counts


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_s(pid: int) -> float:
    return sum(process_cpu_s(pid).values())


def process_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of each process of the tree, by "process name/pid" (the node and its upload
    process apart)."""
    out = {}
    for process in tree(pid):
        try:
            out[f"process {process.name()}/{process.pid}"] = sum(process.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return out


def proportional(pid: int) -> int:
    """PSS: a page shared by n processes counts 1/n in each (libpython in the node and its
    upload process, Fast DDS's libraries in the recorder and the publishers)."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        return next(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))


def tree_memory(pid: int) -> dict[str, int]:
    total: dict[str, int] = {}
    for process in tree(pid):
        try:
            for key, value in {**memory(process.pid), "Pss": proportional(process.pid)}.items():
                total[key] = total.get(key, 0) + value
        except FileNotFoundError:
            pass
    return total


def thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of one process, by "name/tid" (Python threads are all
    named after the interpreter; the tids tell them apart, the main one has the pid)."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                name, fields = stat.read().split(" (", 1)[1].rsplit(") ", 1)
        except FileNotFoundError:
            continue
        values = fields.split()
        out[f"{name}/{tid}"] = (int(values[11]) + int(values[12])) / tick
    return out


def record(recorder: list[str], env: dict[str, str], gps_hz: float, clouds: tuple[float, ...],
           duration: float, cloud_size: str = "640x480",
           publishing: Callable[[], None] = lambda: None
           ) -> tuple[dict[str, int], float, dict[str, int], str, dict[str, float]]:
    """(sent per topic, CPU seconds of the tree, peak memory of the tree (and its RSS before
    the publishers started, "idle"), recorder's output, CPU seconds of each thread of the
    recorder's process and of each process of its tree while the publishers ran).
    ``publishing()`` is called once the publishers are started (a fault to inject)."""
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    # not from this checkout: `python -m` puts the working directory before PYTHONPATH, and the
    # node would be this tree's whatever PYTHONPATH says
    process = subprocess.Popen(recorder, stdout=log, stderr=subprocess.STDOUT, env=env,
                               cwd=tempfile.gettempdir())
    time.sleep(2.0)  # up and discovering before the publishers look for it
    idle = tree_memory(process.pid).get("VmRSS", 0)
    pubs = publishers(gps_hz, clouds, duration, cloud_size)
    publishing()
    start_cpu = cpu_s(process.pid)
    threads_start = threads = {**thread_cpu_s(process.pid), **process_cpu_s(process.pid)}
    peak: dict[str, int] = {"idle": idle}
    used = 0.0
    while any(p.poll() is None for p in pubs):
        threads = {**thread_cpu_s(process.pid), **process_cpu_s(process.pid)}
        sample = tree_memory(process.pid)
        if sample.get("VmRSS", 0) > peak.get("VmRSS", 0):
            peak = {**sample, "Pss": max(sample.get("Pss", 0), peak.get("Pss", 0)),
                    "idle": idle}
        elif sample.get("Pss", 0) > peak.get("Pss", 0):
            peak["Pss"] = sample["Pss"]
        used = cpu_s(process.pid) - start_cpu
        time.sleep(0.1)
    counts = sent(pubs, gps_hz)
    time.sleep(2.0)  # the last messages reach the recorder
    process.send_signal(signal.SIGINT)
    process.wait(120)
    os.sync()  # the next recorder does not pay for this one's writeback
    log.seek(0)
    return counts, used, peak, log.read(), {
        name: seconds - threads_start.get(name, 0.0) for name, seconds in threads.items()}


@contextlib.contextmanager
def many_topics(count: int) -> Iterator[None]:
    """``count`` small topics in a process of their own while the body runs (none for 0)."""
    if not count:
        yield
        return
    graph = subprocess.Popen([sys.executable, os.path.join(HERE, "many_topics.py"), str(count)])
    try:
        time.sleep(2.0)  # in the graph before a recorder lists it
        yield
    finally:
        graph.send_signal(signal.SIGINT)
        graph.wait(30)


def busiest(threads: dict[str, float], count: int = 7) -> str:
    top = sorted(threads.items(), key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in top)


def rosbag2_kept(bag: str) -> dict[str, int]:
    with open(os.path.join(bag, "metadata.yaml"), encoding="utf-8") as handle:
        info = yaml.safe_load(handle)["rosbag2_bagfile_information"]
    return {t["topic_metadata"]["name"]: t["message_count"]
            for t in info["topics_with_message_count"]}


def node_kept(log: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(
        r"capture stats (\S+): received \d+ written (\d+)", log)}


def node_dropped(log: str) -> int:
    """What the node received but its writer had to drop (the backlog full)."""
    return sum(int(m.group(1)) for m in re.finditer(r"capture stats \S+: .* dropped (\d+)",
                                                        log))


def node_env() -> dict[str, str]:
    """This tree's node, or PYTHONPATH's (an older checkout: what a change bought)."""
    return {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or os.path.join(HERE, "..")}


def node_config(work: str, gps_hz: float, clouds: tuple[float, ...], url: str,
                graph: int = 0) -> str:
    components: dict = {}
    if gps_hz:
        components["gps1"] = [{"method": "Position", "type": "sensor_msgs/msg/NavSatFix"}]
    for index in range(len(clouds)):
        components[f"camera{index + 1}"] = [{"method": "PointCloud",
                                             "type": "sensor_msgs/msg/PointCloud2"}]
    path = os.path.join(work, "dm.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"data_manager": {
            "capture_dir": os.path.join(work, "capture"), "sync_disabled": not url,
            "sync_url": url or "file://" + os.path.join(work, "uploaded"),
            "sync_interval_mins": 0.05, "minimum_free_space_fraction": 0.0,
            "topics_regex": GRAPH if graph else "", "components": components}}, handle)
    return path


def ratio(counts: dict[str, int], kept: dict[str, int]) -> str:
    return " ".join(f"{kept.get(topic, 0) / max(n, 1):.3f}" for topic, n in counts.items())


def graph_line(theirs: dict[str, int], ours: dict[str, int]) -> str:
    """The small topics each recorded (they publish as long as the run: no kept ratio)."""
    def recorded(kept: dict[str, int]) -> str:
        graph = [n for topic, n in kept.items() if topic.startswith("/graph/")]
        return f"{len(graph)} topics, {sum(graph)} messages"
    return f"    graph: rosbag2 {recorded(theirs)} / node {recorded(ours)}"


def cpu(seconds: float, duration: float) -> str:
    return f"{seconds:.1f} ({100 * seconds / duration:.0f}%)"


def sent_line(counts: dict[str, int]) -> str:
    """What the publishers sent for this recorder: the same stream for both, to the percent."""
    return " ".join(str(n) for n in counts.values())


def mib(peak: dict[str, int]) -> str:
    return (f"{peak.get('VmRSS', 0) / 2**20:.0f} (anon {peak.get('RssAnon', 0) / 2**20:.0f}, "
            f"shmem {peak.get('RssShmem', 0) / 2**20:.0f}, file "
            f"{peak.get('RssFile', 0) / 2**20:.0f}; PSS {peak.get('Pss', 0) / 2**20:.0f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--threads", action="store_true",
                        help="also the CPU seconds of each recorder's busiest threads and "
                        "processes")
    args = parser.parse_args()
    if shutil.which("ros2") is None or subprocess.run(
            ["ros2", "bag", "--help"], capture_output=True).returncode != 0:
        print("rosbag2 (`ros2 bag`) is not installed: nothing to compare against; install "
              "it from ../shared/wheels (bash .ci/setup does) or a ROS image")
        return 0
    print("workload   run  kept: rosbag2 / node (per topic)        CPU s (% of --duration): "
          "rosbag2 / node (ratio)   peak RSS MiB: rosbag2 / node (ratio)   sent")
    for name in args.workloads:
        gps_hz, clouds, upload, graph = WORKLOADS[name]
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="dm-vs-rosbag2-") as work, \
                    many_topics(graph):
                topics = ([GPS] if gps_hz else []) + [cloud_topic(i) for i in range(len(clouds))]
                if graph:
                    topics += ["-e", GRAPH]
                theirs = record(["ros2", "bag", "record", "-s", "mcap", "-o",
                                 os.path.join(work, "rosbag2"), *topics], dict(os.environ),
                                gps_hz, clouds, args.duration)
                kept_theirs = rosbag2_kept(os.path.join(work, "rosbag2"))
                server = TusServer(os.path.join(work, "server")).start() if upload else None
                try:
                    config = node_config(work, gps_hz, clouds, server.url if server else "",
                                         graph)
                    ours = record([sys.executable, "-m", "data_manager_ros.node.main",
                                   "--ros-args", "-p", f"config_file:={config}"],
                                  node_env(), gps_hz, clouds, args.duration)
                finally:
                    if server:
                        server.kill()
                kept_ours = node_kept(ours[3])
            print(f"{name:10} {run + 1:3}  {ratio(theirs[0], kept_theirs)} / "
                  f"{ratio(ours[0], kept_ours)}    {cpu(theirs[1], args.duration)} / "
                  f"{cpu(ours[1], args.duration)} (x{ours[1] / max(theirs[1], 1e-9):.2f})    "
                  f"{mib(theirs[2])} / {mib(ours[2])} "
                  f"(x{ours[2].get('VmRSS', 0) / max(theirs[2].get('VmRSS', 1), 1):.2f}, PSS "
                  f"x{ours[2].get('Pss', 0) / max(theirs[2].get('Pss', 1), 1):.2f})"
                  f"    {sent_line(theirs[0])} / {sent_line(ours[0])}"
                  f"    node writer dropped {node_dropped(ours[3])}"
                  f"{graph_line(kept_theirs, kept_ours) if graph else ''}", flush=True)
            if args.threads:
                print(f"    threads, CPU s: rosbag2 {busiest(theirs[4])}\n"
                      f"                    node {busiest(ours[4])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
