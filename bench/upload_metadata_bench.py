"""What the uploader spends reading a bag file's custom_data, as the bag grows.

    python bench/upload_metadata_bench.py [--files 100 1000 2000 10000] [--repeat 5]

Every file's closing ``rosbag2`` record lists all the bag's files before it, as rosbag2's
does, so a whole read of it grows with the bag. For records of N files (the custom_data of a
clip beside them) it prints the median CPU seconds per file of three readers, measured in
the same run: PyYAML's pure-Python loader on the whole record (the uploader before), libyaml
on the whole record, and ``custom_data_of`` (the tail from ``custom_data:`` on, the uploader
now), with the last one's ratio to the first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # this tree's

from data_manager_ros.bag.metadata import (  # noqa: E402
    BagMetadata,
    FileEntry,
    custom_data_of,
    parse,
)


def record(files: int) -> str:
    meta = BagMetadata(files=[FileEntry(f"rosbag2_2026_12_07-04_08_03_{i}.mcap", 10**18 + i,
                                        10**9, 1000) for i in range(files)],
                       custom_data={"reasons": "bumper hit", "tags": "field-test"})
    return meta.serialize()


def cpu_s(read: Callable[[str], object], text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        read(text)
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[100, 1000, 2000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("files in the record   pure-Python whole   libyaml whole   custom_data_of   ratio")
    for files in args.files:
        text = record(files)
        before = cpu_s(lambda t: yaml.load(t, Loader=yaml.SafeLoader), text, args.repeat)
        whole = cpu_s(parse, text, args.repeat)
        now = cpu_s(custom_data_of, text, args.repeat)
        print(f"{files:19d}   {before:15.4f} s   {whole:11.4f} s   {now:12.6f} s   "
              f"x{now / before:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
