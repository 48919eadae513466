"""Writers alone, same disk, same run: a raw write of the message bytes, rosbag2's C++
SequentialWriter (rosbag2_py, MCAP storage) and the node's McapFile, for large and small
messages.

    python bench/writer_bench.py [--large-mib 4.9] [--large-count 200] [--small-count 300000]
                                 [--repeat 6]

Each writer writes the same messages into a file of its own under a temporary directory
(no fsync: what is measured is the cost of getting the bytes to the OS), each writer first in
turn from one repeat to the next; the report gives the median MB/s and messages/s, each as a
ratio to the raw write. PYTHONPATH=<an older checkout>
measures that checkout's McapFile instead (what a change bought).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if not os.environ.get("PYTHONPATH"):  # this tree's, not the installed package's
    sys.path.insert(0, os.path.join(HERE, ".."))

from data_manager_ros.bag.mcap_file import McapFile, Topic  # noqa: E402
from data_manager_ros.bag.message_definitions import message_definition, type_hash  # noqa: E402

CLOUD = "sensor_msgs/msg/PointCloud2"


def raw(path: str, messages: list[bytes]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for data in messages:
            os.write(fd, data)
    finally:
        os.close(fd)


def ours(path: str, messages: list[bytes]) -> None:
    file = McapFile(path, 768 * 1024, "opening")
    file.add_topic(Topic("/t", CLOUD, (), type_hash(CLOUD), message_definition(CLOUD)))
    for index, data in enumerate(messages):
        file.write("/t", index, index, data)
    file.finish("closing")
    file.abandon()  # closes the descriptor; no fsync, no rename


def rosbag2(path: str, messages: list[bytes]) -> None:
    import rosbag2_py

    writer = rosbag2_py.SequentialWriter()
    writer.open(rosbag2_py.StorageOptions(uri=path, storage_id="mcap"),
                rosbag2_py.ConverterOptions("cdr", "cdr"))
    writer.create_topic(rosbag2_py.TopicMetadata(0, "/t", CLOUD, "cdr", [], ""))
    for index, data in enumerate(messages):
        writer.write("/t", data, index)
    writer.close()


def timed(writer, path: str, messages: list[bytes]) -> float:  # noqa: ANN001
    start = time.perf_counter()
    writer(path, messages)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large-mib", type=float, default=4.9)
    parser.add_argument("--large-count", type=int, default=200)
    parser.add_argument("--small-count", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=6)
    args = parser.parse_args()
    try:
        import rosbag2_py  # noqa: F401
        writers = {"raw write": raw, "rosbag2_py": rosbag2, "McapFile": ours}
    except ImportError:
        print("rosbag2_py is not installed: measuring the raw write and McapFile only")
        writers = {"raw write": raw, "McapFile": ours}
    import data_manager_ros
    print(f"McapFile from {os.path.dirname(data_manager_ros.__file__)}")
    large = [os.urandom(int(args.large_mib * (1 << 20)))] * args.large_count
    small = [os.urandom(100) for _ in range(1000)] * (args.small_count // 1000)
    for name, messages in (("large", large), ("small", small)):
        seconds: dict[str, list[float]] = {w: [] for w in writers}
        order = list(writers.items())
        for repeat in range(args.repeat):
            # alternating, each writer first in turn: the first after a deleted file finds its
            # pages free, and the machine is noisy
            for writer_name, writer in order[repeat % len(order):] + order[:repeat % len(order)]:
                with tempfile.TemporaryDirectory(prefix="dm-writer-bench-") as work:
                    seconds[writer_name].append(
                        timed(writer, os.path.join(work, "out"), messages))
        size = sum(len(m) for m in messages)
        base = statistics.median(seconds["raw write"])
        print(f"{name}: {len(messages)} messages of {len(messages[0])} B")
        for writer_name, values in seconds.items():
            median = statistics.median(values)
            print(f"  {writer_name:10} {size / median / 1e6:8.0f} MB/s "
                  f"{len(messages) / median:10.0f} msg/s  ratio to raw {base / median:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
