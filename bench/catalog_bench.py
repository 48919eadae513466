"""The fleet's catalog against the sidecar listing it replaced: filtered `list` queries over
a catalog of --rows synthetic files from --robots robots (a real PostgreSQL, initdb'd for
the run), and, on a bucket of --sidecar-files files (moto), the sidecar listing (one LIST
page per 1,000 keys and one GET per file) against the catalog query that answers the same.

    python bench/catalog_bench.py [--rows 1000000] [--robots 1000] [--repeat 50]
                                  [--sidecar-files 2000]

Each query is timed from the client (psycopg, a warm connection) as a `data_manager_fleet
list` runs it, rows converted to Python included, for its first page (--limit, 1,000 rows;
"rows" shows 1,001 where more match): median and p99 over --repeat runs, with the filter's
values drawn anew each run so no answer is cached by PostgreSQL's buffer alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "test")]

from data_manager_ros.fleet.catalog import Catalog, Filters  # noqa: E402
from data_manager_ros.fleet.sidecars import stored  # noqa: E402
from helpers.fleet import Ingest, S3Server  # noqa: E402
from helpers.postgres import PostgresServer  # noqa: E402

SECOND = 1_000_000_000
DAY0 = 1_780_000_000 * SECOND
TOPICS = ["/gps1/position", "/camera1/point_cloud", "/imu", "/odom", "/tf", "/battery",
          "/lidar/scan", "/joint_states"]
TAGS = ["field-test", "night", "rain", "warehouse", "outdoor", "calibration"]


def fill(database: str, rows: int, robots: int) -> None:
    """``rows`` files: per robot, 10 s bag files back to back over days, two to four topics,
    a tag or two, one file in 50 a clip with a reason, some with custom_data."""
    with psycopg.connect(database, autocommit=True) as db:
        db.execute(f"""
            INSERT INTO catalog_files (key, robot, bag, kind, size, digest, start_ns, end_ns,
                message_count, topics, types, topic_counts, tags, methods, clip_reasons,
                custom_data)
            SELECT format('robot%s/bag_%s/bag_%s_%s.mcap', r, n / 100, n / 100, n % 100),
                   'robot' || r, 'bag_' || (n / 100),
                   CASE WHEN n % 50 = 0 THEN 'clip' ELSE 'bag' END,
                   50000000, 'blake3:' || md5(n::text || r::text),
                   {DAY0} + n::bigint * {10 * SECOND} + r::bigint * 1000,
                   {DAY0} + n::bigint * {10 * SECOND} + r::bigint * 1000 + {10 * SECOND - 1},
                   10000,
                   (ARRAY[{", ".join(repr(t) for t in TOPICS)}])[1 + (n + r) % 6:
                                                                  3 + (n + r) % 6],
                   ARRAY['sensor_msgs/msg/NavSatFix'], '{{}}',
                   (ARRAY[{", ".join(repr(t) for t in TAGS)}])[1 + (n * 7 + r) % 6:
                                                                1 + (n * 7 + r) % 6],
                   '{{}}',
                   CASE WHEN n % 50 = 0 THEN ARRAY['bumper hit'] ELSE '{{}}' END,
                   CASE WHEN n % 10 = 0 THEN jsonb_build_object('site', 'site' || (r % 20))
                        ELSE '{{}}' END
            FROM generate_series(1, {robots}) AS r,
                 generate_series(0, {rows // robots - 1}) AS n""")
        db.execute("ANALYZE catalog_files")


def timed(run, repeat: int) -> tuple[float, float, int]:
    """(median ms, p99 ms, rows of the last run)."""
    times, rows = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = run()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], rows


def queries(robots: int, per_robot: int) -> dict:
    """Filters as operators use them; values drawn per run."""
    pick = random.Random(1)

    def robot() -> str:
        return f"robot{pick.randint(1, robots)}"

    def window(seconds: int) -> tuple[int, int]:
        start = DAY0 + pick.randint(0, per_robot * 10 - seconds) * SECOND
        return start, start + seconds * SECOND

    return {
        "a robot's files in an hour": lambda: Filters(robot(), *window(3600)),
        "a robot's clips with a reason": lambda: Filters(robot(), kind="clip",
                                                         reason="bumper hit"),
        "a topic in a 10-minute window, all robots": lambda: Filters(
            None, *window(600), topic=pick.choice(TOPICS)),
        "a robot, a tag and a topic": lambda: Filters(robot(), tag=pick.choice(TAGS),
                                                      topic=pick.choice(TOPICS)),
        "a robot's custom_data site": lambda: Filters(
            robot(), custom=(("site", f"site{pick.randint(0, 19)}"),)),
        "a 1-minute window, all robots": lambda: Filters(None, *window(60)),
    }


@contextlib.contextmanager
def synthetic_fleet(rows: int, robots: int) -> Iterator[tuple[S3Server, str]]:
    """(moto, the database URL) of a fleet whose catalog ``fill`` wrote, for the body."""
    postgres = PostgresServer().start()
    s3 = S3Server().start()
    try:
        database = postgres.new_database()
        Ingest(s3, database).start().kill()  # the schema, as the ingest migrates it
        start = time.perf_counter()
        fill(database, rows, robots)
        print(f"{rows} rows for {robots} robots written in {time.perf_counter() - start:.0f} s")
        yield s3, database
    finally:
        s3.stop()
        postgres.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--robots", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--sidecar-files", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=1000, help="list's page (its default)")
    args = parser.parse_args()
    with synthetic_fleet(args.rows, args.robots) as (s3, database):
        with psycopg.connect(database, autocommit=True) as db:
            catalog = Catalog(db)
            print(f"{'query':45} {'median ms':>9} {'p99 ms':>7} {'rows':>6}")
            for name, make in queries(args.robots, args.rows // args.robots).items():
                # as `list` asks: its first page (--limit, default 1000)
                median, p99, rows = timed(lambda make=make: len(list(catalog.files(
                    make(), limit=args.limit + 1))), args.repeat)
                print(f"{name:45} {median:9.1f} {p99:7.1f} {rows:6d}")
            pick = random.Random(2)
            median, p99, count = timed(lambda: catalog.count(
                Filters(f"robot{pick.randint(1, args.robots)}")), args.repeat)
            print(f"{'count of one robot files (unfiltered)':45} {median:9.1f} {p99:7.1f} "
                  f"{count:6d}")
        # the sidecar listing it replaced, on a bucket this machine can hold
        bucket = s3.bucket()
        bucket.create()
        for index in range(args.sidecar_files):
            key = f"robot{index % 10}/bag/f{index}.mcap"
            bucket.put(f".meta/{key}.json", json.dumps(
                {"key": key, "size": 1, "digest": "blake3:" + "0" * 64,
                 "metadata": {"kind": "bag", "topics": "/gps"}}).encode())
        median, _, found = timed(lambda: len(list(stored(bucket, "", print))), 3)
        print(f"sidecar listing of {args.sidecar_files} files (moto): median {median:.0f} ms, "
              f"{found} files, {found + (found + 999) // 1000} S3 requests")
        with psycopg.connect(database, autocommit=True) as db:
            median, _, _ = timed(lambda: len(list(Catalog(db).files(
                Filters("robot7"), limit=args.sidecar_files))), args.repeat)
        print(f"catalog: the same number of one robot's files: median {median:.1f} ms, "
              "1 query")
    return 0


if __name__ == "__main__":
    sys.exit(main())
