"""Upload throughput against the reference tus server, as a ratio to curl in the same run.

    python bench/upload_bench.py [--sizes-mib 64 512] [--repeat 3]
    python bench/upload_bench.py --sizes-mib 300 --repeat 1 --cut-mb 5 50
    python bench/upload_bench.py --limit-mb-s 5 --workers 4
    python bench/upload_bench.py --small-beside-large --workers 2
    python bench/upload_bench.py --sizes-mib 256 --checksum

For each size, alternately: curl sends the file in one PATCH to a fresh
upload; our uploader (Uploader + TusDestination, in a child process of its
own) uploads the same bytes as a closed bag file, including the digest (BLAKE3) it
computes first for the server to verify. Reports MB/s of both and their
ratio, our time split into hashing and transfer, the child's peak RSS,
which must not grow with the file size, and the CPU seconds per GB of each (median; curl's
processes against our child from enqueue to confirmed, its hashing included).
--cut-mb LOW HIGH also uploads each file through a proxy that cuts every connection at a
random point LOW-HIGH MB into it, and reports that time against the uncut one of the
same run (with backoff that never started again, this took 1,355 s for 300 MiB).
--limit-mb-s R --workers N uploads N files of 16 MiB with N workers under
upload_bandwidth_limit_bytes_per_s = R MB/s and reports the rate they took together, as a
ratio to R (a limit per upload used to give N times R).
--small-beside-large queues 2 files of 150 MiB, then 500 of 4 KiB, for N workers, and
reports when the first and the last small file landed against when the large ones did (the
first small one used to wait 32 s).
--checksum runs the server with the tus checksum extension: ours then sends 16 MiB
PATCHes, each with its sha256, against curl's one unchecked PATCH.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from statistics import median
from urllib.parse import urljoin

HERE = os.path.dirname(os.path.abspath(__file__))
# this tree's package, not an installed copy, and the test helpers
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "test")]

from helpers.proxy import FaultProxy  # noqa: E402
from helpers.tus_server import TusServer  # noqa: E402


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def curl_upload(url: str, path: str) -> tuple[float, float]:
    """Seconds of the PATCH, and the CPU seconds of curl's processes."""
    size = os.path.getsize(path)
    cpu_before = cpu_seconds(resource.RUSAGE_CHILDREN)
    # curl creates the upload too: the child process, the same script, must not import
    # an HTTP library the uploader does not use (its peak RSS is measured)
    answer = subprocess.run(["curl", "-sS", "-f", "-D", "-", "-o", "/dev/null", "-X", "POST",
                             "-H", "Tus-Resumable: 1.0.0", "-H", f"Upload-Length: {size}", url],
                            check=True, capture_output=True, text=True).stdout
    location = next(line.split(":", 1)[1].strip() for line in answer.splitlines()
                    if line.lower().startswith("location:"))
    start = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-X", "PATCH", "-T", path, "-o", "/dev/null",
                    "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0",
                    "-H", "Content-Type: application/offset+octet-stream",
                    urljoin(url, location)], check=True)
    return time.perf_counter() - start, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before


def child(url: str, path: str, work: str) -> None:
    """Upload ``path`` as a bag file with the real uploader; print timings and peak RSS."""
    from data_manager_ros.sync.destinations import TusDestination
    from data_manager_ros.sync.journal import Journal
    from data_manager_ros.sync.scanner import bag_files
    from data_manager_ros.sync.upload_metadata import UploadPolicy
    from data_manager_ros.sync.uploader import Uploader

    bag = os.path.join(work, "capture", "bench_bag")
    os.makedirs(bag)
    os.link(path, os.path.join(bag, "bench_bag_0.mcap"))
    uploader = Uploader(TusDestination(url, {}), Journal(os.path.join(work, "j.sqlite3")),
                        logging_sink(), policy=UploadPolicy(robot_id="bench"))
    uploader.enqueue(bag_files(os.path.join(work, "capture"), print))
    start, cpu_start = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
    while uploader.pending():  # one attempt, or as many as cuts make it take
        if not uploader.run_due():
            time.sleep(max(0.0, (uploader.next_due() or 0.0) - time.monotonic()))
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "cpu": cpu_seconds(resource.RUSAGE_SELF) - cpu_start,
                      "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def limited_rate(url: str, work: str, workers: int, limit_bps: int) -> float:
    """Bytes per second that ``workers`` uploads of 16 MiB each took under one limit."""
    from data_manager_ros.sync.bandwidth import BandwidthLimit
    from data_manager_ros.sync.destinations import TusDestination
    from data_manager_ros.sync.journal import Journal
    from data_manager_ros.sync.scanner import bag_files
    from data_manager_ros.sync.upload_metadata import UploadPolicy
    from data_manager_ros.sync.uploader import Uploader

    bag = os.path.join(work, "capture", "limited")
    os.makedirs(bag)
    for index in range(workers):
        with open(os.path.join(bag, f"limited_{index}.mcap"), "wb") as handle:
            handle.write(os.urandom(16 << 20))
    uploader = Uploader(TusDestination(url, {}, BandwidthLimit(limit_bps)),
                        Journal(os.path.join(work, "j")), logging_sink(),
                        workers=workers, policy=UploadPolicy(robot_id="bench"))
    uploader.enqueue(f for f in bag_files(os.path.join(work, "capture"), print)
                     if f.path.endswith(".mcap"))
    for file, _, _ in uploader.pending():  # hash first: only the transfer is timed
        uploader._entry_for(file, file.size, file.mtime_ns)
    start = time.perf_counter()
    uploader.start()
    while uploader.pending():
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    uploader.close()
    return workers * (16 << 20) / elapsed


def small_beside_large(url: str, work: str, workers: int) -> str:
    import logging

    from data_manager_ros.sync.destinations import TusDestination
    from data_manager_ros.sync.journal import Journal
    from data_manager_ros.sync.scanner import bag_files, quiet_files
    from data_manager_ros.sync.upload_metadata import UploadPolicy
    from data_manager_ros.sync.uploader import Uploader

    bag = os.path.join(work, "capture", "large")
    extra = os.path.join(work, "extra")
    os.makedirs(bag)
    os.makedirs(extra)
    for index in range(2):
        with open(os.path.join(bag, f"large_{index}.mcap"), "wb") as handle:
            for _ in range(150):
                handle.write(os.urandom(1 << 20))
    for index in range(500):
        with open(os.path.join(extra, f"small_{index:03d}"), "wb") as handle:
            handle.write(os.urandom(4096))
    landed: dict[str, float] = {}

    class Clock(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.startswith("uploaded "):
                landed[message.split()[1]] = time.perf_counter()

    log = logging.getLogger("bench.small")
    log.addHandler(Clock())
    log.setLevel(logging.INFO)
    log.propagate = False
    uploader = Uploader(TusDestination(url, {}), Journal(os.path.join(work, "j")), log,
                        workers=workers, policy=UploadPolicy(robot_id="bench"))
    files = [f for f in bag_files(os.path.join(work, "capture"), print)
             if f.path.endswith(".mcap")] + list(quiet_files(extra, 0, time.time_ns(), print))
    uploader.enqueue(files)
    start = time.perf_counter()
    uploader.start()
    while uploader.pending():
        time.sleep(0.01)
    uploader.close()
    small = sorted(t - start for name, t in landed.items() if name.startswith("small_"))
    large = sorted(t - start for name, t in landed.items() if name.startswith("large/"))
    return (f"{workers} workers: first small file after {small[0]:.2f} s, all 500 after "
            f"{small[-1]:.2f} s; the large files after {large[0]:.2f} and {large[-1]:.2f} s")


def logging_sink():
    import logging
    return logging.getLogger("bench")


def ours(url: str, path: str, work: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", url, path, work],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def hash_seconds(path: str) -> float:
    from data_manager_ros import digest
    from data_manager_ros.sync.upload_metadata import UploadPolicy
    start = time.perf_counter()
    digest.of_file(path, UploadPolicy().digest)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cut-mb", type=float, nargs=2, metavar=("LOW", "HIGH"))
    parser.add_argument("--limit-mb-s", type=float)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--small-beside-large", action="store_true")
    parser.add_argument("--checksum", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="dm-upload-bench-") as tmp:
        server = TusServer(os.path.join(tmp, "server"), checksum=args.checksum).start()
        try:
            if args.small_beside_large:
                print(small_beside_large(server.url, os.path.join(tmp, "small"), args.workers))
                return 0
            if args.limit_mb_s:
                limit = int(args.limit_mb_s * 1e6)
                rate = limited_rate(server.url, os.path.join(tmp, "limited"), args.workers,
                                    limit)
                print(f"{args.workers} workers under a {args.limit_mb_s:g} MB/s limit: "
                      f"{rate / 1e6:.2f} MB/s together, ratio {rate / limit:.3f}")
                return 0
            print("size_MiB  curl_MB/s  ours_MB/s  ratio  ours_hash_s  transfer_ratio"
                  "  ours_peak_RSS_MiB  CPU_s/GB:curl  ours  ratio")
            for size_mib in args.sizes_mib:
                source = os.path.join(tmp, f"src_{size_mib}")
                with open(source, "wb") as handle:
                    for _ in range(size_mib):
                        handle.write(os.urandom(1 << 20))
                curl_s, ours_s, peaks, curl_cpu, ours_cpu = [], [], [], [], []
                for run in range(args.repeat):
                    seconds, cpu = curl_upload(server.url, source)
                    curl_s.append(seconds)
                    curl_cpu.append(cpu)
                    result = ours(server.url, source, os.path.join(tmp, f"w{size_mib}_{run}"))
                    ours_s.append(result["seconds"])
                    ours_cpu.append(result["cpu"])
                    peaks.append(result["peak_rss"])
                megabytes = size_mib * 1.048576
                gigabytes = megabytes / 1000
                best_curl, best_ours = min(curl_s), min(ours_s)
                hashing = hash_seconds(source)
                print(f"{size_mib:8d}  {megabytes / best_curl:9.0f}  {megabytes / best_ours:9.0f}"
                      f"  {best_curl / best_ours:5.2f}  {hashing:11.2f}"
                      f"  {best_curl / (best_ours - hashing):14.2f}  {max(peaks) / 2**20:17.0f}"
                      f"  {median(curl_cpu) / gigabytes:13.2f}  {median(ours_cpu) / gigabytes:4.2f}"
                      f"  {median(ours_cpu) / median(curl_cpu):5.2f}")
                if args.cut_mb:
                    low, high = (int(mb * 1e6) for mb in args.cut_mb)
                    proxy = FaultProxy(server.port, cut_after=(low, high), cuts=10**6)
                    try:
                        cut = ours(proxy.url(), source, os.path.join(tmp, f"cut{size_mib}"))
                    finally:
                        proxy.close()
                    print(f"  through a proxy cutting every {args.cut_mb[0]:g}-"
                          f"{args.cut_mb[1]:g} MB: {cut['seconds']:.1f} s against "
                          f"{best_ours:.1f} s uncut, ratio {cut['seconds'] / best_ours:.2f}; "
                          f"{proxy.connections} connections, "
                          f"{proxy.upstream_bytes / (size_mib << 20):.4f} x the file sent")
                os.unlink(source)
        finally:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
