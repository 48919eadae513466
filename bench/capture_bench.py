"""Capture rate of the data_manager node against a bare rclpy subscriber, same run.

    python bench/capture_bench.py [--gps-hz 1000] [--cloud-hz 30] [--duration 20]
                                  [--best-effort] [--executor events|single|multi]
                                  [--deserialized] [--gps-capture-hz HZ] [--sync]
                                  [--upload-limit BYTES_PER_S] [--discard-uploaded]
                                  [--qos-depth N] [--latency] [--publisher-profile XML]
                                  [--server-store DIR] [--graph-topics N]
                                  [--clip-buffer-mb MB [--clip-at S] [--clip-pre S]
                                   [--clip-post S]]

The demo sensors (a process each) publish NavSatFix at --gps-hz and 640x480x16 B
PointCloud2 at --cloud-hz. First a bare subscriber (raw, empty callback) counts
what arrives: the ceiling of Python on this machine. Then the node records the
same stream into a bag. Reports published / received / written / dropped per
topic, the CPU and peak memory of the node and of its upload process (RSS split
into private memory, Fast DDS shared memory and mapped files), the node's RSS
each minute and the median and p99 of its samples (every 0.1 s: how much of
the peak is a brief swing), and the ratio of the node's capture to the bare
subscriber's.
--deserialized makes the bare subscriber take messages instead of bytes;
--gps-capture-hz throttles the node's GPS method and reports the rate it kept;
--sync uploads the closed files to a local tus server while capturing (the
server runs at nice 19: it stands in for a remote one; --server-store /dev/shm
keeps it off the robot's disk as well). --latency reports how
long after its stamp each message reached the bare subscriber and the node: how
long messages wait in DDS and in the executor, which is what costs memory
(with --discard-uploaded, each upload is read for it before it is deleted).
--publisher-profile gives the sensor processes a Fast DDS profile
(config/fastdds_large_messages.xml: what point cloud drivers should run with).
--clip-buffer-mb marks the GPS method for incident clips with that buffer and
triggers one clip --clip-at seconds into the capture (on the trigger topic):
reports the clip's messages, whether their sequence numbers have a gap, how
many the window should hold, and with --sync how long after its window closed
the clip was on the server.
--graph-topics N adds a process publishing N more topics at 10 Hz each, and the
node records with all_topics: true (ros2 bag record -a): the cost of following a
whole graph, seen in the GPS ratio and the node's CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

import psutil
import yaml
from mcap.reader import make_reader

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test"))

from data_manager_ros.tools.demo_sensors import published  # noqa: E402
from helpers.processes import dds_profile_env  # noqa: E402
from helpers.tus_server import TusServer  # noqa: E402

GPS, CLOUD = "/gps1/position", "/camera1/point_cloud"


def bare(duration: float, executor: str, best_effort: bool, raw: bool, depth: int,
         latency: bool) -> None:
    """Child: count raw messages with an empty callback (with --latency: one that notes
    how long after its stamp each message arrived); print the counts as JSON."""
    import rclpy
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
    from rclpy.experimental import EventsExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.task import Future
    from sensor_msgs.msg import NavSatFix, PointCloud2

    rclpy.init()
    node = rclpy.create_node("bare_subscriber")
    counts = {GPS: 0, CLOUD: 0}
    latencies: dict[str, list[int]] = {GPS: [], CLOUD: []}
    qos = QoSProfile(depth=depth, reliability=ReliabilityPolicy.BEST_EFFORT if best_effort
                     else ReliabilityPolicy.RELIABLE)
    for topic, msg_type in ((GPS, NavSatFix), (CLOUD, PointCloud2)):
        def count(_: bytes, topic: str = topic) -> None:
            counts[topic] += 1

        def count_and_time(data: bytes, topic: str = topic) -> None:
            counts[topic] += 1
            latencies[topic].append(time.time_ns() - stamp_ns(data))
        node.create_subscription(msg_type, topic, count_and_time if latency else count, qos,
                                 raw=raw)
    chosen = {"events": EventsExecutor, "single": SingleThreadedExecutor,
              "multi": MultiThreadedExecutor}[executor]()
    chosen.add_node(node)
    stop = time.monotonic() + duration
    never = Future()
    while time.monotonic() < stop:
        chosen.spin_until_future_complete(never, timeout_sec=0.2)
    print(json.dumps({"counts": [counts[GPS], counts[CLOUD]], "latency_ns": latencies}),
          flush=True)


def sensors(args: argparse.Namespace) -> list[subprocess.Popen]:
    """One process per sensor, as on a robot with a driver each: a Python publisher
    stalls its other topic while it publishes a 4.9 MB cloud."""
    processes = []
    for gps_hz, cloud_hz in ((args.gps_hz, 0), (0, args.cloud_hz)):
        if not gps_hz and not cloud_hz:
            continue
        command = [sys.executable, "-m", "data_manager_ros.tools.demo_sensors",
                   "--gps-hz", str(gps_hz), "--cloud-hz", str(cloud_hz),
                   "--duration", str(args.duration),
                   "--wait-subscribers", "1"]
        if args.best_effort:
            command.append("--best-effort")
        env = dict(os.environ)
        if args.publisher_profile:  # this profile alone, whatever the node is given
            env.update(dds_profile_env(os.path.abspath(args.publisher_profile)))
            env.pop("RMW_FASTRTPS_USE_QOS_FROM_XML", None)
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env))
    return processes


def published_by(processes: list[subprocess.Popen]) -> tuple[int, int]:
    gps = clouds = 0
    for process in processes:
        fixes, sent_clouds = published(process.communicate(timeout=120)[0])
        gps, clouds = gps + fixes, clouds + sent_clouds
    return gps, clouds


def memory(pid: int) -> dict[str, int]:
    """RSS and its parts (RssShmem: Fast DDS's shared-memory transport)."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    if "VmRSS" not in fields:
        raise FileNotFoundError(f"process {pid} has exited")
    return {key: int(fields[key].split()[0]) * 1024
            for key in ("VmRSS", "RssAnon", "RssFile", "RssShmem")}


def watch_memory(pid: int, until: list[subprocess.Popen]
                 ) -> tuple[dict, dict, list[int], list[int]]:
    """Peaks of the process and of its children (the upload process), its RSS each minute,
    and all its RSS samples."""
    peak: dict[str, int] = {}
    children_peak: dict[str, int] = {}
    per_minute: list[int] = []
    samples: list[int] = []
    start = time.monotonic()
    while any(process.poll() is None for process in until):
        try:
            sample = memory(pid)
            kids = [memory(child.pid) for child in psutil.Process(pid).children()]
        except (FileNotFoundError, psutil.NoSuchProcess):
            break
        for key, value in sample.items():
            peak[key] = max(peak.get(key, 0), value)
            children_peak[key] = max([children_peak.get(key, 0)] + [k[key] for k in kids])
        samples.append(sample["VmRSS"])
        if time.monotonic() - start >= 60 * (len(per_minute) + 1):
            per_minute.append(sample["VmRSS"])
        time.sleep(0.1)
    return peak, children_peak, per_minute, samples


def run_bare(args: argparse.Namespace) -> tuple[tuple[int, int], dict, dict]:
    child = subprocess.Popen([sys.executable, __file__, "--bare", args.executor,
                              str(args.duration + 6), "--qos-depth", str(args.qos_depth)]
                             + (["--best-effort"] * args.best_effort)
                             + (["--deserialized"] * args.deserialized)
                             + (["--latency"] * args.latency),
                             stdout=subprocess.PIPE, text=True)
    pub = sensors(args)
    peak = watch_memory(child.pid, pub)[0]
    sent = published_by(pub)
    return sent, json.loads(child.communicate(timeout=120)[0].splitlines()[-1]), peak


CLIP_TOPIC = "/bench_incident"


def trigger_clip(args: argparse.Namespace, server: TusServer | None, found: dict) -> None:
    """Thread: one clip trigger ``--clip-at`` s after the node subscribed to the trigger
    topic; with a server, when the clip's file was there, counted from its window's end."""
    import rclpy
    from std_msgs.msg import String

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("bench_clip_trigger", context=context)
    publisher = node.create_publisher(String, CLIP_TOPIC, 10)
    try:
        while publisher.get_subscription_count() == 0:
            time.sleep(0.05)
        time.sleep(args.clip_at)
        publisher.publish(String(data="bench"))
        found["window_end"] = time.monotonic() + args.clip_post
        while server is not None and "on_server_s" not in found:
            if any(u["metadata"]["relative_path"].startswith("clip_")
                   and u["metadata"]["relative_path"].endswith(".mcap")
                   for u in server.completed()):
                found["on_server_s"] = time.monotonic() - found["window_end"]
            time.sleep(0.02)
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


def clip_report(args: argparse.Namespace, tmp: str, server: TusServer | None) -> str:
    """The clip's messages by sequence number (the demo GPS's latitude), from the disk or,
    once uploaded, from the server."""
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import NavSatFix

    blobs = []
    for directory, _, files in os.walk(os.path.join(tmp, "capture")):
        for name in files:
            if name.endswith(".mcap") and "clip_" in directory:
                with open(os.path.join(directory, name), "rb") as handle:
                    blobs.append(handle.read())
    for upload in server.completed() if server else []:
        path = upload["metadata"]["relative_path"]
        if path.startswith("clip_") and path.endswith(".mcap"):
            blobs.append(server.stored(upload["id"]))
    sequences = sorted(int(deserialize_message(m.data, NavSatFix).latitude) for blob in blobs
                       for _, _, m in make_reader(io.BytesIO(blob)).iter_messages())
    if not sequences:
        return "clip: none found"
    gaps = sum(1 for a, b in zip(sequences, sequences[1:], strict=False) if b != a + 1)
    expected = (args.clip_pre + args.clip_post) * args.gps_hz
    return (f"clip: {len(sequences)} fixes, sequence {sequences[0]}..{sequences[-1]}, "
            f"{gaps} gap(s); its {args.clip_pre:g}+{args.clip_post:g} s window at "
            f"{args.gps_hz:g} Hz holds about {expected:.0f}")


def run_node(args: argparse.Namespace, tmp: str, server: TusServer | None) -> dict:
    sync_url = server.url if server else ""
    config = os.path.join(tmp, "dm.yaml")
    gps = {"method": "Position", "type": "sensor_msgs/msg/NavSatFix"}
    if args.gps_capture_hz:
        gps["capture_frequency_hz"] = args.gps_capture_hz
    clips = {}
    if args.clip_buffer_mb:
        gps["clip"] = True
        clips = {"clip_pre_s": args.clip_pre, "clip_post_s": args.clip_post,
                 "clip_buffer_bytes": args.clip_buffer_mb << 20,
                 "clip_trigger_topic": CLIP_TOPIC}
    with open(config, "w") as handle:
        yaml.safe_dump({"data_manager": {**clips,
            "capture_dir": os.path.join(tmp, "capture"), "sync_disabled": not sync_url,
            "sync_url": sync_url or "file://" + os.path.join(tmp, "uploaded"),
            "sync_interval_mins": 0.05, "maximum_capture_file_duration_s": 5.0,
            "qos_depth": args.qos_depth, "all_topics": args.graph_topics > 0,
            "upload_bandwidth_limit_bytes_per_s": args.upload_limit,
            "components": {"gps1": [gps], "camera1": [{"method": "PointCloud",
                                                       "type": "sensor_msgs/msg/PointCloud2"}]}}},
            handle)
    log_path = os.path.join(tmp, "node.log")
    with open(log_path, "w") as log:
        node = subprocess.Popen([sys.executable, "-m", "data_manager_ros.node.main", "--ros-args",
                                 "-p", f"config_file:={config}"], stdout=log,
                                stderr=subprocess.STDOUT)
    proc = psutil.Process(node.pid)
    pub = sensors(args)
    clip: dict[str, float] = {}
    if args.clip_buffer_mb:
        threading.Thread(target=trigger_clip, args=(args, server, clip), daemon=True).start()
    time.sleep(1.0)  # the upload process has started
    processes = [proc] + proc.children()
    cpu_start = [p.cpu_times() for p in processes]
    wall_start = time.monotonic()
    peak, upload_peak, per_minute, samples = watch_memory(node.pid, pub)
    sent = published_by(pub)
    time.sleep(2.0)
    cpu_end = [p.cpu_times() for p in processes]
    wall = time.monotonic() - wall_start
    node.send_signal(signal.SIGINT)
    node.wait(60)
    with open(log_path) as handle:
        text = handle.read()
    stats = {m.group(1): tuple(int(g) for g in m.groups()[1:]) for m in re.finditer(
        r"capture stats (\S+): received (\d+) written (\d+) dropped (\d+) throttled \d+ "
        r"missed before the node (\d+)", text)}
    cpu = [100 * ((end.user + end.system) - (start.user + start.system)) / wall
           for start, end in zip(cpu_start, cpu_end, strict=True)]
    backlog = re.search(r"backlog peak (\d+) bytes", text)
    return {"sent": sent, "stats": stats, "cpu_percent": cpu[0],
            "backlog_peak": int(backlog.group(1)) if backlog else 0,
            "upload_cpu_percent": sum(cpu[1:]), "peak": peak, "upload_peak": upload_peak,
            "per_minute": per_minute, "samples": sorted(samples),
            "capture_s": sent[0] / args.gps_hz if args.gps_hz else 0.0,
            "clip": clip}


def bag_files_kept(capture_dir: str, server: TusServer | None) -> list[str]:
    """The finalized .mcap files still on disk and the uploads the server verified."""
    paths = [os.path.join(root, name) for root, _, names in os.walk(capture_dir)
             for name in names if name.endswith(".mcap")]
    if server:
        paths += [os.path.join(server.directory, upload["id"]) for upload in server.completed()
                  if upload["metadata"]["relative_path"].endswith(".mcap")]
    return [path for path in paths if os.path.exists(path)]


def stamped_times(paths: list[str], topics: list[str]) -> dict[str, list[tuple[int, int]]]:
    """(receive (log) time, publisher stamp) of every message of these topics, by topic."""
    times: dict[str, list[tuple[int, int]]] = {topic: [] for topic in topics}
    for path in paths if topics else []:
        with open(path, "rb") as handle:
            for _, channel, message in make_reader(handle).iter_messages(topics=topics):
                times[channel.topic].append((message.log_time, stamp_ns(message.data)))
    for pairs in times.values():
        pairs.sort()
    return times


def stamp_ns(cdr: bytes) -> int:
    """header.stamp of a little-endian CDR message that starts with a std_msgs/Header."""
    sec, nanosec = struct.unpack_from("<iI", cdr, 4)
    return sec * 1_000_000_000 + nanosec


def latency_report(latencies_ns: list[int]) -> str:
    """Stamp to receive: the publisher's and DDS's delay plus the subscriber's."""
    if not latencies_ns:
        return "none"
    ordered = sorted(latencies_ns)
    median, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]
    return f"median {median / 1e6:.1f}, p99 {p99 / 1e6:.1f}, max {ordered[-1] / 1e6:.1f} ms"


def gap_report(times: list[int], period_ms: float) -> str:
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(times)]
    late = [gap for gap in gaps if gap > 2 * period_ms]
    return (f"longest {max(gaps, default=0):.0f} ms, {len(late)} longer than two periods "
            f"({sum(late) / 1000:.2f} s in all)")


def discard_verified_uploads(server: TusServer, stop: threading.Event,
                             times: dict[str, list[tuple[int, int]]]) -> None:
    """The cloud keeps nothing here: long runs would not fit on this disk twice. The stamps
    of ``times``' topics are read first, at nice 19 so as not to take the node's CPU."""
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    while not stop.wait(2.0):
        for upload in server.completed():
            path = os.path.join(server.directory, upload["id"])
            if upload["metadata"]["relative_path"].endswith(".mcap") and os.path.exists(path):
                for topic, pairs in stamped_times([path], list(times)).items():
                    times[topic] += pairs
            for suffix in ("", ".json"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(server.directory, upload["id"] + suffix))


def mib(memory_peaks: dict[str, int]) -> str:
    return (f"{memory_peaks.get('VmRSS', 0) / 2**20:.0f} MiB (private "
            f"{memory_peaks.get('RssAnon', 0) / 2**20:.0f}, DDS shared memory "
            f"{memory_peaks.get('RssShmem', 0) / 2**20:.0f}, files "
            f"{memory_peaks.get('RssFile', 0) / 2**20:.0f})")


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
    parser.add_argument("--upload-limit", type=int, default=0,
                        help="upload_bandwidth_limit_bytes_per_s with --sync (0: none)")
    parser.add_argument("--discard-uploaded", action="store_true",
                        help="with --sync, the server deletes what it verified (long runs)")
    parser.add_argument("--qos-depth", type=int, default=1000,
                        help="history depth of the bare and the node's subscriptions")
    parser.add_argument("--latency", action="store_true",
                        help="report stamp-to-receive delays (the bare callback stops being "
                             "empty)")
    parser.add_argument("--publisher-profile", metavar="XML",
                        help="Fast DDS profile of the sensor processes, e.g. "
                             "config/fastdds_large_messages.xml")
    parser.add_argument("--server-store", metavar="DIR",
                        help="with --sync, where the tus server stores uploads (default: the "
                             "run's temporary directory, on the same disk as the bag)")
    parser.add_argument("--clip-buffer-mb", type=int, default=0,
                        help="mark the GPS method for incident clips with this buffer")
    parser.add_argument("--clip-at", type=float, default=8.0,
                        help="seconds into the capture of the clip trigger")
    parser.add_argument("--clip-pre", type=float, default=2.0)
    parser.add_argument("--clip-post", type=float, default=2.0)
    parser.add_argument("--graph-topics", type=int, default=0, metavar="N",
                        help="N more 10 Hz topics, recorded with all_topics")
    parser.add_argument("--no-bare", action="store_true",
                        help="no bare subscriber first (long runs): the ratio is then the "
                             "node's written over what was published, which no subscriber "
                             "exceeds, so it is the stricter one")
    parser.add_argument("--bare", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.latency and args.deserialized:
        parser.error("--latency reads the stamp from raw messages: drop --deserialized")
    if args.bare:
        bare(float(args.bare[1]), args.bare[0], args.best_effort, not args.deserialized,
             args.qos_depth, args.latency)
        return 0
    graph = subprocess.Popen([sys.executable, os.path.join(HERE, "many_topics.py"),
                              str(args.graph_topics)]) if args.graph_topics else None
    try:
        if args.no_bare:  # what was published stands for what a subscriber could receive
            return report(args, (1, 1), {"counts": [1, 1], "latency_ns": {}}, {})
        return report(args, *run_bare(args))
    finally:
        if graph is not None:
            graph.send_signal(signal.SIGINT)
            graph.wait(30)


def report(args: argparse.Namespace, sent_bare: tuple[int, int], bare_result: dict,
           bare_peak: dict) -> int:
    got_bare = bare_result["counts"]
    with tempfile.TemporaryDirectory(prefix="dm-capture-bench-") as tmp:
        store = tempfile.mkdtemp(dir=args.server_store) if args.server_store else tmp
        server = TusServer(os.path.join(store, "server")).start() if args.sync else None
        if server:  # it stands in for a remote server: it must not take the robot's CPU
            os.setpriority(os.PRIO_PROCESS, server.process.pid, 19)
        stop_discarding = threading.Event()
        topics = [GPS, CLOUD] if args.latency else [GPS] if args.gps_capture_hz else []
        discarded: dict[str, list[tuple[int, int]]] = {topic: [] for topic in topics}
        discarding = threading.Thread(target=discard_verified_uploads,
                                      args=(server, stop_discarding, discarded))
        if server and args.discard_uploaded:
            discarding.start()
        try:
            result = run_node(args, tmp, server)
        finally:
            stop_discarding.set()
            if discarding.is_alive():
                discarding.join()
        try:
            clip_line = clip_report(args, tmp, server) if args.clip_buffer_mb else ""
            uploaded = len(server.completed()) if server else 0
            times = stamped_times(bag_files_kept(os.path.join(tmp, "capture"), server), topics)
            for topic, pairs in discarded.items():
                times[topic] = sorted(times[topic] + pairs)
        finally:
            if server:
                server.kill()
            if store != tmp:
                shutil.rmtree(store)
    profile = os.path.basename(args.publisher_profile or "")
    graph = f", all_topics over {args.graph_topics} more 10 Hz topics" if args.graph_topics else ""
    print(f"gps {args.gps_hz:g} Hz, clouds {args.cloud_hz:g} Hz, {args.duration:g} s, "
          f"{'best effort' if args.best_effort else 'reliable'}, bare executor {args.executor}"
          f"{' deserialized' if args.deserialized else ' raw'}, depth {args.qos_depth}"
          f"{f', sensors with {profile}' if profile else ''}"
          f"{f', {uploaded} files uploaded during capture' if args.sync else ''}"
          f"{graph}"
          f"{f' (limit {args.upload_limit / 1e6:g} MB/s)' if args.upload_limit else ''}")
    print("topic                  bare: sent  received | node: sent  received   written  dropped"
          "  ratio  missed before the node (its count)")
    for index, topic in enumerate((GPS, CLOUD)):
        received, written, dropped, missed = result["stats"].get(topic, (0, 0, 0, 0))
        bare_rate = got_bare[index] / max(sent_bare[index], 1)
        node_rate = written / max(result["sent"][index], 1)
        print(f"{topic:22} {sent_bare[index]:10d} {got_bare[index]:9d} | "
              f"{result['sent'][index]:10d} {received:9d} {written:9d} {dropped:8d}  "
              f"{node_rate / max(bare_rate, 1e-9):5.3f}  {missed}")
    if args.graph_topics:
        graph_stats = [v for k, v in result["stats"].items() if k.startswith("/graph/")]
        print(f"all_topics: {len(graph_stats)} of the {args.graph_topics} graph topics "
              f"recorded, {sum(v[1] for v in graph_stats)} messages written, "
              f"{sum(v[2] for v in graph_stats)} dropped")
    print(f"node CPU {result['cpu_percent']:.0f}% of one core, upload process CPU "
          f"{result['upload_cpu_percent']:.0f}%, writer backlog peak "
          f"{result['backlog_peak'] / 2**20:.1f} MiB")
    print(f"peak RSS: node {mib(result['peak'])}; upload process {mib(result['upload_peak'])}; "
          f"bare subscriber {mib(bare_peak)}")
    if result["per_minute"]:
        print("node RSS at each minute (MiB): "
              + " ".join(f"{value / 2**20:.0f}" for value in result["per_minute"]))
    if samples := result["samples"]:
        print(f"node RSS samples every 0.1 s: median {samples[len(samples) // 2] / 2**20:.0f}, "
              f"p99 {samples[int(len(samples) * 0.99)] / 2**20:.0f} MiB")
    if args.gps_capture_hz:
        kept = result["stats"].get(GPS, (0, 0, 0, 0))[1]
        achieved = kept / result["capture_s"]
        print(f"throttled GPS: kept {achieved:.2f} Hz of {args.gps_capture_hz:g} Hz configured "
              f"({100 * (achieved / args.gps_capture_hz - 1):+.2f}%)")
        period_ms = 1000 / args.gps_capture_hz
        received_at = [log for log, _ in times[GPS]]
        stamped_at = sorted(stamp for _, stamp in times[GPS])
        print(f"gaps between kept fixes by receive time: {gap_report(received_at, period_ms)}")
        print(f"gaps between kept fixes by publisher stamp: {gap_report(stamped_at, period_ms)}")
    if clip_line:
        on_server = result["clip"].get("on_server_s")
        print(clip_line + (f"; on the server {on_server:.2f} s after its window closed"
                           if on_server is not None else ""))
    if args.latency:
        for topic in (GPS, CLOUD):
            print(f"stamp to receive, {topic}: bare "
                  f"{latency_report(bare_result['latency_ns'][topic])}; node "
                  f"{latency_report([log - stamp for log, stamp in times[topic]])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
