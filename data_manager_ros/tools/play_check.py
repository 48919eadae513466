"""Play a bag with the real ``ros2 bag play`` into subscribers and count what arrives.

The end of the demo (``data_manager_play_check <bag>``) and the rosbag2 tests: the proof that
a user's ``ros2 bag play`` of a recorded bag delivers every message. The player starts paused
and is resumed only once its publisher has matched a subscriber, so nothing is published
into the void while discovery runs.

Each topic is played on its own (``--topics``). The player publishes with a history of 10
(rosbag2's default; ``--qos-profile-overrides-path`` fails in the pip-built rosbag2), and
while a 1.2 MB point cloud is being sent the fixes published around it overflow that
history: on a loaded two-core machine a check of all topics at once lost up to 14 fixes
next to a cloud (87 of a bag's 399 in one CI run), every one of them in the file; played
alone, every topic arrived whole under the same load.

The player reads ahead ``READ_AHEAD`` messages, not rosbag2's default 1000: of 4.9 MB point
clouds that is 4.9 GB, and filling it took the player a core and 2.9 GB while it played;
the clouds went out late and in bursts that overflowed that same history of 10, and 456-529
of the demo's 597 clouds arrived in five plays on an idle machine (597 of 597 in each play
with 30, three plays).

A topic denser than ``MAX_PLAY_HZ`` is played slower (``--rate``), so that the history of 10
spans at least 40 ms: the tests' fixes at 1 kHz left 10 ms for each acknowledgement, and a
loaded CI machine lost 2 of 600 that were in the file. The check is of what a bag holds, not
of its timing; 100 Hz would take the demo's 20 s of 1 kHz GPS 200 s to play.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable

import rclpy
from rclpy.client import Client
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from data_manager_ros.bag.metadata import BagMetadata
from data_manager_ros.node.message_types import message_class

Sink = Callable[[str, bytes], None]
READ_AHEAD = 30  # messages: a second of a 30 Hz camera
MAX_PLAY_HZ = 250.0


def play(bag_dir: str, sink: Sink | None = None, timeout_s: float = 120.0,
         player_env: dict[str, str] | None = None) -> dict[str, int]:
    """Messages received per topic while ``ros2 bag play`` plays ``bag_dir`` once; ``sink``
    sees each one's raw CDR. Raises RuntimeError if the player fails or time runs out."""
    metadata = BagMetadata.load(bag_dir)
    deadline = time.monotonic() + timeout_s
    return {name: _play_topic(bag_dir, name, entry.type, play_rate(metadata, name), sink,
                              deadline, player_env or {})
            for name, entry in metadata.topics.items()}


def play_rate(metadata: BagMetadata, topic: str) -> float:
    """The player's ``--rate`` for ``topic``: 1, or what brings its average to MAX_PLAY_HZ."""
    start = min((f.starting_time_ns for f in metadata.files), default=0)
    end = max((f.starting_time_ns + f.duration_ns for f in metadata.files), default=0)
    count = metadata.topics[topic].message_count
    if count < 2 or end <= start:  # no spacing to stretch
        return 1.0
    return min(1.0, MAX_PLAY_HZ / (count / (end - start) * 1e9))


def _play_topic(bag_dir: str, topic: str, msg_type: str, rate: float, sink: Sink | None,
                deadline: float, player_env: dict[str, str]) -> int:
    from rosbag2_interfaces.srv import Resume  # with rosbag2 only, as is ``ros2 bag``

    count = 0
    player = subprocess.Popen(
        ["ros2", "bag", "play", bag_dir, "--topics", topic, "--start-paused",
         "--disable-keyboard-controls", "--read-ahead-queue-size", str(READ_AHEAD),
         "--rate", f"{rate:.6g}",
         "--wait-for-all-acked", "10000"],  # reliable topics: exit only once all arrived
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **player_env})
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("data_manager_play_check", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)

    def on_message(data: bytes) -> None:
        nonlocal count
        count += 1
        if sink is not None:
            sink(topic, data)

    def spin_until(condition: Callable[[], bool], what: str) -> None:
        while not condition():
            if player.poll() is not None:
                raise RuntimeError(f"ros2 bag play exited {player.returncode} before {what}: "
                                   f"{player.communicate()[0]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            executor.spin_once(timeout_sec=0.05)

    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.VOLATILE)
    try:
        subscription = node.create_subscription(message_class(msg_type), topic, on_message,
                                                qos, raw=True)
        spin_until(lambda: subscription.get_publisher_count() > 0,
                   f"the player's publisher of {topic}")
        resume: Client = node.create_client(Resume, "/rosbag2_player/resume")
        spin_until(resume.service_is_ready, "the player's resume service")
        answer = resume.call_async(Resume.Request())
        # a short bag may be played, and the player gone, before its answer is taken here
        spin_until(lambda: answer.done() or player.poll() == 0, "the player to resume")
        spin_until(lambda: player.poll() is not None, "the player to finish")
        drained = -1
        while drained != count:  # take what is still queued here
            drained = count
            for _ in range(20):
                executor.spin_once(timeout_sec=0.01)
    finally:
        player.kill()
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    if player.returncode != 0:
        raise RuntimeError(f"ros2 bag play exited {player.returncode}: {player.communicate()[0]}")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Play a bag with `ros2 bag play` and report what a subscriber received.")
    parser.add_argument("bag", help="bag directory (with metadata.yaml)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    args = parser.parse_args(argv)
    expected = {name: t.message_count for name, t in BagMetadata.load(args.bag).topics.items()}
    try:
        received = play(args.bag, timeout_s=args.timeout)
    except RuntimeError as error:
        print(f"play check of {args.bag}: {error}", file=sys.stderr)
        return 1
    print(f"ros2 bag play {args.bag}:")
    for topic, count in received.items():
        print(f"  {topic:24} received {count} of {expected[topic]} messages")
    return 0 if received == expected else 1


if __name__ == "__main__":
    sys.exit(main())
