"""Messages a publisher sent that never reached the node: gaps in its sequence numbers.

The node counts what it refuses and what it fails to write, but a message DDS lost before the
node's reader took it (a history that overflowed on either side, a best-effort link, a
publisher's KEEP_LAST history that overwrote unacknowledged samples) left no trace: the 30-
minute run's driver on Fast DDS's defaults lost 3,759 clouds that way while every status said
OK. Every message's MessageInfo carries its publisher's GID and sequence number, which count
up by one per message the publisher sends, so a jump is a loss the operator is told of.

Jazzy's rclpy hands no publisher GID. Without it two publishers' numbers, or a restarted
driver's, cannot be told from a loss, so there the count is "not counted", said as such
rather than a 0 that would claim nothing was lost.
"""

from __future__ import annotations

# publishers remembered per topic: a driver restarted every few seconds for weeks has a new GID
# each time, and only the newest can still send
MAX_PUBLISHERS = 64
NOT_COUNTED = "not counted (this rclpy gives no publisher GID)"


class SequenceGaps:
    """One topic's count of messages missed, over every publisher of it. Called on the
    executor's thread only."""

    __slots__ = ("missed", "counted", "_last")

    def __init__(self) -> None:
        self.missed = 0
        self.counted = True  # False once a message came without its publisher's GID
        self._last: dict[bytes, int] = {}  # publisher GID → last sequence number seen

    def describe(self) -> str:
        return str(self.missed) if self.counted else NOT_COUNTED

    def forget_publishers(self) -> None:
        """A new subscription (after a pause, a new QoS): what was sent while the topic had
        none was not to be received."""
        self._last.clear()

    def see(self, info: dict) -> None:
        """Note one received message (its MessageInfo)."""
        sequence = info.get("publication_sequence_number")
        if not sequence:  # an rmw that does not number its messages
            return
        gid = info.get("publisher_gid")
        if gid is None:
            self.counted = False
            return
        publisher = gid["data"]
        last = self._last.get(publisher)
        if last is None:  # its first message here: what it sent before we joined is no loss
            if len(self._last) >= MAX_PUBLISHERS:
                del self._last[next(iter(self._last))]
        elif sequence > last:
            self.missed += sequence - last - 1
        else:  # late: a moved reader's held message, counted missed when its successor came
            self.missed -= min(1, self.missed)
            return
        self._last[publisher] = sequence
