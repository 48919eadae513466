"""A fleet's ingest measured: three robots uploading at once through the ingest
(@tus/server + @tus/s3-store) into an S3 API (moto), against the same files through the
reference file-store server, in the same run; the ingest's memory; and how long after a
bag file closes `data_manager_fleet` lists it. Each robot uploads with a token of its own,
which the ingest checks in PostgreSQL on every request (a real server, initdb'd for the run),
where it also takes each upload's lock.

    python bench/fleet_bench.py [--robots 3] [--mib 96] [--repeat 2] [--listing-s 20]

Each robot is a `data_manager_sync` process of its own with a capture dir holding one bag
of --mib MiB (8 MiB split files). For each destination, alternately: every robot starts at
once, and the aggregate rate is all bytes over the time until the last one exits. The
ingest's and moto's peak RSS are sampled every 0.1 s (moto keeps the bucket in memory: its
RSS is the data, not a cost of the ingest). Then a node records a 50 Hz GPS stream with
2 s files and syncs every 0.6 s through the ingest, and each closed file's time from its
final name on disk to its sidecar in the bucket is reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psutil
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "test")]

from data_manager_ros.fleet.sidecars import stored  # noqa: E402
from helpers.fleet import CREDENTIALS, Ingest, S3Server, robot_token  # noqa: E402
from helpers.postgres import PostgresServer  # noqa: E402
from helpers.sync_setup import make_bag  # noqa: E402
from helpers.tus_server import TusServer  # noqa: E402


def peak_rss(pid: int, stop: threading.Event, out: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.wait(0.1):
        try:
            out.append(process.memory_info().rss)
        except psutil.NoSuchProcess:
            return


def config(path: str, capture: str, url: str, robot: str, **more: object) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"data_manager": {"capture_dir": capture, "sync_url": url,
                                         "robot_id": robot, "minimum_free_space_fraction": 0.0,
                                         "components": {}, **more}}, handle)
    return path


def cpu_s(processes: list[psutil.Process]) -> list[float]:
    return [sum(p.cpu_times()[:2]) for p in processes]


def upload_all(work: str, url: str, robots: int, mib: int, env: dict[str, str],
               servers: list[psutil.Process], tokens: dict[str, str]
               ) -> tuple[float, list[float]]:
    """MB/s of all robots together, each a `data_manager_sync` of one bag (with its token
    from ``tokens``, where it has one), and the share of one core each of ``servers`` used
    meanwhile."""
    configs = []
    for index in range(robots):
        capture = os.path.join(work, f"robot{index}")
        make_bag(capture, "bag", mib, split_mb=8)
        configs.append(config(os.path.join(work, f"robot{index}.yaml"), capture, url,
                              f"robot{index}"))
    start, before = time.perf_counter(), cpu_s(servers)
    children = [subprocess.Popen([sys.executable, "-m", "data_manager_ros.tools.sync_cli",
                                  path], env={**env, "DATA_MANAGER_API_KEY":
                                              tokens.get(f"robot{index}", "")},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for index, path in enumerate(configs)]
    if any(child.wait(600) for child in children):
        raise RuntimeError("a data_manager_sync failed")
    elapsed = time.perf_counter() - start
    used = [(b - a) / elapsed for a, b in zip(before, cpu_s(servers), strict=True)]
    return robots * mib * (1 << 20) / 1e6 / elapsed, used


def listing_delay(work: str, s3: S3Server, database: str, ingest: Ingest, seconds: float,
                  env: dict[str, str]) -> list[float]:
    """Seconds from each closed file's final name on disk to its sidecar in the bucket."""
    capture = os.path.join(work, "node")
    path = config(os.path.join(work, "node.yaml"), capture, ingest.url, "listing",
                  sync_interval_mins=0.01, maximum_capture_file_duration_s=2.0)
    with open(path, encoding="utf-8") as handle:
        settings = yaml.safe_load(handle)
    settings["data_manager"]["components"] = {"gps1": [{"method": "Position"}]}
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(settings, handle)
    token = robot_token(s3, database, "listing")
    node = subprocess.Popen([sys.executable, "-m", "data_manager_ros.node.main", "--ros-args",
                             "-p", f"config_file:={path}"],
                            env={**env, "DATA_MANAGER_API_KEY": token},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sensors = subprocess.Popen([sys.executable, "-m", "data_manager_ros.tools.demo_sensors",
                                "--gps-hz", "50", "--cloud-hz", "0", "--duration",
                                str(seconds), "--wait-subscribers", "1"], env=env,
                               stdout=subprocess.DEVNULL)
    closed: dict[str, float] = {}
    listed: dict[str, float] = {}
    bucket = s3.bucket()
    ended = 0.0
    try:
        # until every file closed is listed, at most 30 s after the sensors ended
        while not ended or (len(listed) < len(closed) and time.monotonic() < ended + 30):
            now = time.monotonic()
            for _, _, names in os.walk(capture):
                for name in names:
                    if name.endswith(".mcap"):
                        closed.setdefault(name, now)
            for item in stored(bucket, "listing/", print):
                listed.setdefault(item.key.rsplit("/", 1)[1], time.monotonic())
            if not ended and sensors.poll() is not None:
                ended = time.monotonic() + 3.0  # the last file closes by age 2 s later
            time.sleep(0.1)
    finally:
        node.terminate()
        node.wait(60)
    return sorted(listed[name] - closed[name] for name in closed if name in listed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", type=int, default=3)
    parser.add_argument("--mib", type=int, default=96)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--listing-s", type=float, default=20.0)
    args = parser.parse_args()
    env = {**os.environ, **CREDENTIALS}
    s3 = S3Server().start()
    postgres = PostgresServer().start()
    database = postgres.new_database()
    ingest = Ingest(s3, database).start()
    tokens = {f"robot{i}": robot_token(s3, database, f"robot{i}") for i in range(args.robots)}
    stop = threading.Event()
    ingest_rss: list[int] = []
    moto_rss: list[int] = []
    threading.Thread(target=peak_rss, args=(ingest.process.pid, stop, ingest_rss),
                     daemon=True).start()
    threading.Thread(target=peak_rss, args=(s3.process.pid, stop, moto_rss),
                     daemon=True).start()
    rates: dict[str, list[float]] = {"file-store server": [], "ingest into S3": []}
    try:
        for run in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="dm-fleet-bench-") as work:
                server = TusServer(os.path.join(work, "server")).start()
                try:
                    rate, (server_cpu,) = upload_all(
                        os.path.join(work, "a"), server.url, args.robots, args.mib, env,
                        [psutil.Process(server.process.pid)], {})
                finally:
                    server.kill()
                rates["file-store server"].append(rate)
                rate, (ingest_cpu, moto_cpu) = upload_all(
                    os.path.join(work, "b"), ingest.url, args.robots, args.mib, env,
                    [psutil.Process(ingest.process.pid), psutil.Process(s3.process.pid)], tokens)
                rates["ingest into S3"].append(rate)
            print(f"run {run + 1}: file-store server {rates['file-store server'][-1]:.0f} MB/s "
                  f"(server {100 * server_cpu:.0f}% of a core); ingest into S3 {rate:.0f} MB/s "
                  f"(ingest {100 * ingest_cpu:.0f}%, moto {100 * moto_cpu:.0f}% of a core)",
                  flush=True)
        with tempfile.TemporaryDirectory(prefix="dm-fleet-bench-") as work:
            delays = listing_delay(work, s3, database, ingest, args.listing_s, env)
    finally:
        stop.set()
        ingest.kill()
        s3.stop()
        postgres.stop()
    ratios = [b / a for a, b in zip(rates["file-store server"], rates["ingest into S3"],
                                    strict=True)]
    print(f"{args.robots} robots x {args.mib} MiB at once, {args.repeat} runs: file-store "
          f"{statistics.median(rates['file-store server']):.0f} MB/s, ingest into S3 "
          f"{statistics.median(rates['ingest into S3']):.0f} MB/s (ratio "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"peak RSS: ingest {max(ingest_rss) / 2**20:.0f} MiB; moto (the bucket, in memory) "
          f"{max(moto_rss) / 2**20:.0f} MiB")
    if delays:
        print(f"closed file to listed, {len(delays)} files of 2 s at sync_interval 0.6 s: "
              f"median {statistics.median(delays):.2f} s, max {max(delays):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
