"""What `data_manager_fleet export` reads to cut a slice from a long recording: a bag of the
seed's two sensors (a 1 kHz GPS fix, a 30 Hz point cloud) over --minutes, split every 60 s
as a robot uploads it, put in an S3 API (moto) with its sidecars and indexed in the catalog
(a real PostgreSQL); then a --slice-s window of the GPS topic in its middle is exported.

    python bench/export_bench.py [--minutes 10] [--cloud-bytes 65536] [--slice-s 10]

Prints the bytes the export read (footers and summaries, chunks) against the bytes of the
chunks that hold the slice, and against the whole files it touched, and checks the slice
against the same window read from the full files (byte for byte). The seed's clouds are
4.9 MB; --cloud-bytes keeps ten minutes of them within what moto can hold in memory here.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time

import psycopg
from mcap.reader import make_reader
from rclpy.serialization import serialize_message
from sensor_msgs.msg import PointCloud2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "test")]

from data_manager_ros.bag.writer import BagWriter  # noqa: E402
from data_manager_ros.digest import of_file  # noqa: E402
from data_manager_ros.fleet.catalog import Catalog, Filters  # noqa: E402
from data_manager_ros.fleet.export import Window, export  # noqa: E402
from helpers.bag_samples import NAVSAT, START_NS, fix, topic  # noqa: E402
from helpers.fleet import Ingest, S3Server  # noqa: E402
from helpers.postgres import PostgresServer  # noqa: E402

GPS, CLOUD = "/gps1/position", "/camera1/point_cloud"
SECOND = 1_000_000_000


def record(bag_dir: str, minutes: float, cloud_bytes: int) -> None:
    writer = BagWriter(bag_dir, max_file_bytes=1 << 40, max_file_duration_ns=60 * SECOND,
                       chunk_size=768 * 1024)
    writer.add_topic(topic(GPS, NAVSAT))
    writer.add_topic(topic(CLOUD, "sensor_msgs/msg/PointCloud2"))
    cloud = serialize_message(PointCloud2(height=1, width=cloud_bytes // 16, point_step=16,
                                          row_step=cloud_bytes, data=os.urandom(cloud_bytes)))
    for ms in range(int(minutes * 60_000)):
        t = START_NS + ms * 1_000_000
        writer.write(GPS, t, t, serialize_message(fix(ms)))
        if ms % 33 == 0:
            writer.write(CLOUD, t, t, cloud)
    writer.close()


def window_of(paths: list[str], since: int, until: int) -> list[tuple[int, bytes]]:
    found = []
    for path in paths:
        with open(path, "rb") as handle:
            for _, _, message in make_reader(handle).iter_messages(topics=[GPS]):
                if since <= message.log_time <= until:
                    found.append((message.log_time, message.data))
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cloud-bytes", type=int, default=65536)
    parser.add_argument("--slice-s", type=float, default=10.0)
    args = parser.parse_args()
    postgres, s3 = PostgresServer().start(), S3Server().start()
    try:
        with tempfile.TemporaryDirectory(prefix="dm-export-bench-") as work:
            bag_dir = os.path.join(work, "bag")
            start = time.perf_counter()
            record(bag_dir, args.minutes, args.cloud_bytes)
            paths = sorted(glob.glob(os.path.join(bag_dir, "*.mcap")))
            total = sum(os.path.getsize(p) for p in paths)
            print(f"recorded {args.minutes:g} min in {len(paths)} files, {total / 1e6:.0f} MB "
                  f"({time.perf_counter() - start:.0f} s)")
            database = postgres.new_database()
            Ingest(s3, database).start().kill()  # the schema
            bucket = s3.bucket()
            bucket.create()
            with psycopg.connect(database, autocommit=True) as db:
                catalog = Catalog(db)
                for path in paths:
                    with open(path, "rb") as handle:
                        data = handle.read()
                        handle.seek(0)
                        summary = make_reader(handle).get_summary()
                    key = f"robot1/bag/{os.path.basename(path)}"
                    bucket.put(key, data)
                    stats = summary.statistics
                    db.execute("SELECT catalog_record_file(%s::jsonb)", (json.dumps(
                        {"key": key, "size": len(data), "digest": of_file(path, "blake3"),
                         "metadata": {"kind": "bag", "topics": f"{CLOUD},{GPS}",
                                      "start_ns": str(stats.message_start_time),
                                      "end_ns": str(stats.message_end_time)}}),))
                middle = START_NS + int(args.minutes * 30 * SECOND)
                since, until = middle, middle + int(args.slice_s * SECOND) - 1
                rows = [r for r in catalog.files(Filters("robot1", since, until, kind="bag"))]
                out = os.path.join(work, "out")
                start = time.perf_counter()
                fetched = export(bucket, rows, Window(since, until, frozenset([GPS])), out,
                                 print)
                took = time.perf_counter() - start
            exported = window_of(glob.glob(os.path.join(out, "*.mcap")), 0, 2**63)
            identical = exported == window_of(paths, since, until)
            read = fetched.summary_bytes + fetched.chunk_bytes
            touched = sum(r["size"] for r in rows)
            print(f"{args.slice_s:g} s of {GPS}: {len(exported)} messages, byte-identical to "
                  f"the full files' window: {identical} ({took:.1f} s)")
            print(f"read {read} bytes in {fetched.requests} range requests: summaries "
                  f"{fetched.summary_bytes}, chunks {fetched.chunk_bytes}")
            print(f"chunks holding the slice: {fetched.needed_bytes} bytes; read / those: "
                  f"x{read / fetched.needed_bytes:.3f}; the {len(rows)} whole file(s) touched: "
                  f"{touched} bytes (x{touched / fetched.needed_bytes:.0f})")
            return 0 if identical else 1
    finally:
        s3.stop()
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
