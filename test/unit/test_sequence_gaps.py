"""Gaps in a publisher's sequence numbers are messages lost before the node."""

from __future__ import annotations

from data_manager_ros.capture.sequence_gaps import MAX_PUBLISHERS, NOT_COUNTED, SequenceGaps


def info(sequence: int, publisher: bytes = b"a" * 16) -> dict:
    return {"publication_sequence_number": sequence, "publisher_gid": {"data": publisher}}


def test_a_jump_counts_the_messages_skipped_per_publisher():
    gaps = SequenceGaps()
    for sequence in (7, 8, 11, 12):  # joined at 7: the six before are not lost
        gaps.see(info(sequence))
    gaps.see(info(1, b"b" * 16))  # another publisher's own numbering
    gaps.see(info(3, b"b" * 16))
    assert gaps.missed == 2 + 1


def test_a_late_message_fills_the_gap_it_left():
    gaps = SequenceGaps()
    for sequence in (1, 2, 4, 3, 5):  # 3 held by a moved reader, written after 4
        gaps.see(info(sequence))
    assert gaps.missed == 0


def test_a_new_subscription_does_not_count_what_was_sent_meanwhile():
    gaps = SequenceGaps()
    gaps.see(info(1))
    gaps.forget_publishers()
    gaps.see(info(500))
    gaps.see(info(501))
    assert gaps.missed == 0


def test_unnumbered_messages_and_many_publishers_are_taken_in_stride():
    gaps = SequenceGaps()
    gaps.see({"publication_sequence_number": 0, "publisher_gid": {"data": b""}})
    for publisher in range(MAX_PUBLISHERS * 2):  # a driver restarted again and again
        gaps.see(info(1, publisher.to_bytes(16, "big")))
    gaps.see(info(3, (MAX_PUBLISHERS * 2 - 1).to_bytes(16, "big")))
    assert gaps.missed == 1


def test_without_publisher_gids_the_count_says_it_is_not_counted():
    gaps = SequenceGaps()  # Jazzy's MessageInfo: a sequence number, no GID
    for sequence in (1, 5, 9):
        gaps.see({"publication_sequence_number": sequence})
    assert gaps.describe() == NOT_COUNTED and not gaps.missed
    numbered = SequenceGaps()
    numbered.see(info(1))
    numbered.see(info(4))
    assert numbered.describe() == "2"
