"""What the judges say of a bag: run in the judges' own Python (see helpers/judges.py), in
the test's process on the Kilted leg and from the Kilted venv on the Jazzy leg, where
``python -m helpers.judged <function>`` reads the arguments pickled from stdin and writes
the answer pickled to stdout."""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from collections.abc import Iterator


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
    return play_raw(bag_dir)[0]


def play_raw(bag_dir: str) -> tuple[dict[str, int], dict[str, list[bytes]]]:
    """What `ros2 bag play` delivered: the count and the raw CDR of each topic's messages."""
    from data_manager_ros.tools.play_check import play as played

    received: dict[str, list[bytes]] = {}
    counts = played(bag_dir, lambda topic, data: received.setdefault(topic, []).append(data),
                    60)
    return counts, received


def info(bag_dir: str) -> tuple[int, list[str]]:
    """(message count, file paths) as `rosbag2_py.Info` reads metadata.yaml."""
    import rosbag2_py

    read = rosbag2_py.Info().read_metadata(bag_dir, "mcap")
    return read.message_count, list(read.relative_file_paths)


def reindex(bag_dir: str) -> None:
    """metadata.yaml rebuilt by rosbag2's reindexer (`ros2 bag reindex`)."""
    import rosbag2_py

    rosbag2_py.Reindexer().reindex(rosbag2_py.StorageOptions(uri=bag_dir, storage_id="mcap"))


@contextlib.contextmanager
def _as_on(distro: str, prefix: str) -> Iterator[None]:
    """rosbag2 as it would run on the test's distro: ``distro`` recorded, message definitions
    found under ``prefix`` first (Jazzy's .msg files differ from Kilted's in comments). The
    environment is left as found: on the Kilted leg this is the test's own process."""
    saved = dict(os.environ)
    os.environ["ROS_DISTRO"] = distro
    os.environ["AMENT_PREFIX_PATH"] = os.pathsep.join([prefix, os.environ["AMENT_PREFIX_PATH"]])
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def rosbag2_writes(bag_dir: str, topic: str, msg_type: str, offered_qos: str, type_hash: str,
                   messages: list[tuple[int, bytes]], distro: str, prefix: str) -> None:
    """A bag of one topic written by rosbag2's own writer, as on the test's distro."""
    import rosbag2_py

    with _as_on(distro, prefix):
        writer = rosbag2_py.SequentialWriter()
        writer.open(rosbag2_py.StorageOptions(uri=bag_dir, storage_id="mcap"),
                    rosbag2_py.ConverterOptions("cdr", "cdr"))
        qos = rosbag2_py.to_rclcpp_qos_vector(offered_qos, 9)
        writer.create_topic(rosbag2_py.TopicMetadata(0, topic, msg_type, "cdr", qos,
                                                     type_hash))
        for log_ns, data in messages:
            writer.write(topic, data, log_ns)
        writer.close()


def definition(msg_type: str, distro: str, prefix: str) -> tuple[str, str]:
    """(encoding, text) of a type's definition as rosbag2's own definition source finds it."""
    import rosbag2_py

    with _as_on(distro, prefix):
        found = rosbag2_py.LocalMessageDefinitionSource().get_full_text(msg_type)
    return found.encoding, found.encoded_message_definition


if __name__ == "__main__":
    arguments = pickle.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(pickle.dumps(globals()[sys.argv[1]](*arguments)))
