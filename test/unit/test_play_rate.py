"""The play check slows only topics too dense for the player's history of 10."""

from data_manager_ros.bag.metadata import BagMetadata, FileEntry, TopicEntry
from data_manager_ros.tools.play_check import MAX_PLAY_HZ, play_rate


def _bag(counts: dict[str, int], seconds: float) -> BagMetadata:
    meta = BagMetadata(files=[FileEntry("bag_0.mcap", 10**18, int(seconds * 1e9),
                                        sum(counts.values()))])
    for name, count in counts.items():
        meta.topics[name] = TopicEntry(name, "std_msgs/msg/String", [], "", count)
    return meta


def test_a_topic_at_1_khz_is_played_at_max_play_hz():
    meta = _bag({"/gps": 1000, "/chatter": 10}, 1.0)
    assert play_rate(meta, "/gps") * 1000 == MAX_PLAY_HZ
    assert play_rate(meta, "/chatter") == 1.0


def test_a_topic_without_messages_or_duration_plays_at_its_recorded_rate():
    assert play_rate(_bag({"/gps": 0}, 1.0), "/gps") == 1.0
    assert play_rate(_bag({"/gps": 5}, 0.0), "/gps") == 1.0
