"""One topic moving from one subscription to another without a message lost or written twice.

A DDS reader's depth is fixed when it is created, and the depth that suits a topic is known
only once its messages are seen (capture/reader_depth.py). To change it, the recorder creates
a second reader of the new depth, lets both receive side by side, and closes the first once
the second is seen to receive what the first does. A message is known by its
publisher's source timestamp and sequence number:

- the old reader keeps writing what it receives, noting each message's key;
- the new one holds what it receives before the old one does, and drops what the old one
  already had;
- when the old reader is closed, what the new one held is written (the old one may have
  lost it with its history), and from then on the new one writes, skipping the keys the old
  one wrote until the first message the old one never saw: a reader's messages come in
  order, so nothing after that can be a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable

Deliver = Callable[[bytes, dict], None]


def message_key(info: dict) -> tuple[int, int]:
    return info["source_timestamp"], info.get("publication_sequence_number", 0)


class Handover:
    def __init__(self, old: Deliver, new: Deliver) -> None:
        """``old`` and ``new`` write a message (each reader's own intake callback)."""
        self._old, self._new = old, new
        self._old_only: set[tuple[int, int]] = set()
        self._new_first: dict[tuple[int, int], tuple[bytes, dict]] = {}
        self.old_open = True
        self.both_receive = False  # a message reached both readers: the new one is matched
        self.done = False  # no duplicate can come any more: the new reader writes directly

    def from_old(self, data: bytes, info: dict) -> None:
        if not self.old_open:  # an event the executor still held for the closed reader: the
            return  # new reader, matched before the close, receives this message too
        key = message_key(info)
        if self._new_first.pop(key, None) is None:
            self._old_only.add(key)
        else:
            self.both_receive = True
        self._old(data, info)

    def from_new(self, data: bytes, info: dict) -> None:
        if self.done:
            self._new(data, info)
            return
        key = message_key(info)
        if key in self._old_only:
            self._old_only.discard(key)
            self.both_receive = True
        elif self.old_open:
            self._new_first[key] = (data, info)
        else:
            self.done = True  # the first message the old reader never had
            self._old_only.clear()
            self._new(data, info)

    def close_old(self) -> None:
        """The old reader is gone: write what only the new one received, in its order."""
        self.old_open = False
        held, self._new_first = self._new_first, {}
        for data, info in held.values():
            self._new(data, info)
