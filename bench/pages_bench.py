"""The fleet's pages over a catalog of --rows files (catalog_bench's synthetic fleet, a real
PostgreSQL), timed in a real headless Chromium: from the request to the page's load event,
the server's queries and rendering included.

    python bench/pages_bench.py [--rows 1000000] [--robots 1000] [--repeat 5]

Prints the median and the slowest of --repeat loads of each page: the robots page, one
robot's day, one hour of it, a bag and a filtered file list. Target: the robots page and a
robot's day under 1 s.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "test")]

from catalog_bench import DAY0, SECOND, synthetic_fleet  # noqa: E402

from helpers.browser import browse  # noqa: E402
from helpers.fleet import FleetPages, fleet_command  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--robots", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with synthetic_fleet(args.rows, args.robots) as (s3, database):
        token = fleet_command(s3, database, "operators", "add", "bench").stdout.decode().strip()
        web = FleetPages(s3, database).start()
        try:
            time_pages(web, token, args)
        finally:
            web.stop()
    return 0


def time_pages(web: FleetPages, token: str, args: argparse.Namespace) -> None:
    day = datetime.datetime.fromtimestamp(DAY0 / SECOND, datetime.timezone.utc).date()
    robot = f"robot{args.robots // 2}"
    paths = {"robots": "/", "a robot's day": f"/robots/{robot}?day={day}",
             "an hour of it": f"/robots/{robot}?day={day}&hour=1",
             "a bag": f"/bags/{robot}/bag_3",
             "files: one robot's clips": f"/files?robot={robot}&kind=clip"}
    print(f"{'page':28} {'median ms':>9} {'slowest':>8}")
    for name, path in paths.items():
        times = []
        for _ in range(args.repeat):
            seen = browse(web.url + path, token)
            assert seen["status"] == 200, (path, seen)
            times.append(seen["ms"])
        print(f"{name:28} {statistics.median(times):9.0f} {max(times):8.0f}")


if __name__ == "__main__":
    sys.exit(main())
