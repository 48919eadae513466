"""Handover: a topic moves to a new reader with every message written once, in any interleaving
of the two readers' callbacks that DDS and the executor can produce."""

from __future__ import annotations

import random

from data_manager_ros.capture.handover import Handover


def info(sequence: int) -> dict:
    return {"source_timestamp": 1000 + sequence, "publication_sequence_number": sequence}


def run(old_gets: range, new_gets: range, interleave_seed: int, close_after: int) -> list[int]:
    """The old reader receives ``old_gets``, the new one ``new_gets`` (it matched later; the old
    one is closed after ``close_after`` of its callbacks, losing the rest of its history);
    callbacks interleave at random, each reader's in order. Returns what was written."""
    written: list[int] = []

    def write(data: bytes, _info: dict) -> None:
        written.append(int(data))

    handover = Handover(write, write)
    old = [("old", s) for s in old_gets][:close_after]
    new = [("new", s) for s in new_gets]
    rng = random.Random(interleave_seed)
    closed = False
    while old or new:
        if not old and not closed:
            handover.close_old()
            closed = True
        side, sequence = (old if old and (not new or rng.random() < 0.5) else new).pop(0)
        deliver = handover.from_old if side == "old" else handover.from_new
        deliver(str(sequence).encode(), info(sequence))
    if not closed:
        handover.close_old()
    return written


def test_every_message_is_written_once_whatever_the_interleaving():
    for seed in range(300):
        rng = random.Random(seed)
        matched_at = rng.randrange(0, 20)  # the new reader's first message
        closed_at = rng.randrange(matched_at + 1, 40)  # the old reader's last one taken
        written = run(range(0, 40), range(matched_at, 60), seed, closed_at)
        assert sorted(written) == list(range(60)), (seed, written)


def test_a_late_event_of_the_closed_reader_is_not_written_twice():
    written: list[int] = []
    handover = Handover(lambda d, i: written.append(int(d)), lambda d, i: written.append(int(d)))
    handover.from_new(b"1", info(1))
    handover.close_old()
    handover.from_old(b"1", info(1))  # the executor still held this event of the old reader
    assert written == [1]


def test_the_new_reader_is_known_matched_once_both_received_a_message():
    handover = Handover(lambda d, i: None, lambda d, i: None)
    handover.from_old(b"1", info(1))
    assert not handover.both_receive
    handover.from_new(b"1", info(1))
    assert handover.both_receive
