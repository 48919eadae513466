"""What the judges say of a bag: run in the judges' own Python (see helpers/judges.py), in
the test's process on the Kilted leg and from the Kilted venv on the Jazzy leg, where
``python -m helpers.judged <function> <args>`` writes the answer pickled to stdout."""

from __future__ import annotations

import pickle
import sys


def read_rosbag2(bag_dir: str) -> dict[str, tuple[str, list[tuple[int, bytes]]]]:
    """topic → (type, [(log time, raw CDR)]) of the topics with messages, read by rosbag2_py."""
    import rosbag2_py

    reader = rosbag2_py.SequentialReader()
    reader.open(rosbag2_py.StorageOptions(uri=bag_dir, storage_id="mcap"),
                rosbag2_py.ConverterOptions("cdr", "cdr"))
    types = {t.name: t.type for t in reader.get_all_topics_and_types()}
    out: dict[str, tuple[str, list[tuple[int, bytes]]]] = {}
    while reader.has_next():
        topic, data, log_time = reader.read_next()
        out.setdefault(topic, (types[topic], []))[1].append((log_time, bytes(data)))
    return out


def custom_data(bag_dir: str) -> dict[str, str]:
    """metadata.yaml's custom_data as rosbag2_py reads it."""
    import rosbag2_py

    return dict(rosbag2_py.Info().read_metadata(bag_dir, "mcap").custom_data)


def play(bag_dir: str) -> dict[str, int]:
    """Messages a subscriber received per topic while `ros2 bag play` played the bag."""
    from data_manager_ros.tools.play_check import play as played

    return played(bag_dir)


if __name__ == "__main__":
    sys.stdout.buffer.write(pickle.dumps(globals()[sys.argv[1]](*sys.argv[2:])))
