"""Bring bags left open by a crash back to the state a clean close leaves.

After SIGKILL or power loss a bag has an ``.active`` file without summary or
footer, no final metadata.yaml entry for it, and a stale ``.recording`` lock.
Every complete chunk in the active file is copied into a finalized file under
its final name (what was flushed survives; only the unflushed tail is lost),
and metadata.yaml is rebuilt so ``ros2 bag info`` sees the whole bag. The
original is deleted only once its copy is written, read back whole and
committed; a failure on the way (a full disk) keeps the original for the next
try and reports it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import yaml

from data_manager_ros.bag.mcap_file import McapFile, Topic
from data_manager_ros.bag.mcap_writer import MAGIC
from data_manager_ros.bag.message_definitions import MessageDefinition
from data_manager_ros.bag.metadata import BagMetadata, FileEntry, TopicEntry
from data_manager_ros.fsutil import set_aside
from data_manager_ros.layout import (
    ACTIVE_SUFFIX,
    RECOVERING_SUFFIX,
    is_active_split_file,
    is_split_file,
    recording_marker,
)

if TYPE_CHECKING:  # the mcap library is imported where a bag is read: a node that has
    from mcap.records import Channel, Schema  # nothing to recover never loads it (3.5 MiB)


@dataclass
class RecoveryReport:
    bag_dir: str
    recovered_files: list[str]
    salvaged_messages: int
    error: str = ""
    salvaged_by_topic: dict[str, int] = field(default_factory=dict)
    set_aside: list[str] = field(default_factory=list)  # damaged things kept as found


def bag_is_open(bag_dir: str) -> bool:
    """True while a live process holds the bag's recording lock."""
    marker = recording_marker(bag_dir)
    try:
        handle = open(marker)
    except (FileNotFoundError, IsADirectoryError):  # a lock is only ever held on a file
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def needs_recovery(bag_dir: str) -> bool:
    if bag_is_open(bag_dir):
        return False
    return os.path.exists(recording_marker(bag_dir)) or any(
        name.endswith(ACTIVE_SUFFIX) for name in os.listdir(bag_dir))


def recover_capture_dir(capture_dir: str, chunk_size: int) -> list[RecoveryReport]:
    """Recover every orphaned bag directly under ``capture_dir``.

    A bag that cannot be recovered (e.g. a garbled metadata.yaml) is left as it
    is and reported with its error; the others are still recovered.
    """
    reports: list[RecoveryReport] = []
    if not os.path.isdir(capture_dir):
        return reports
    for name in sorted(os.listdir(capture_dir)):
        path = os.path.join(capture_dir, name)
        if os.path.isdir(path) and not os.path.islink(path) and needs_recovery(path):
            try:
                reports.append(recover_bag(path, chunk_size))
            except Exception as error:  # noqa: BLE001 - one bad bag must not stop the rest
                reports.append(RecoveryReport(path, [], 0, f"{type(error).__name__}: {error}"))
    return reports


def topic_of(schema: Schema, channel: Channel) -> Topic:
    """A recorded topic as a file's MCAP schema and channel describe it."""
    profiles = yaml.safe_load(channel.metadata.get("offered_qos_profiles", "")) or []
    return Topic(channel.topic, schema.name, tuple(profiles),
                 channel.metadata.get("topic_type_hash", ""),
                 MessageDefinition(schema.encoding, schema.data.decode()))


def _intact_records(handle: BinaryIO) -> Iterator[object]:
    """The records of a torn file up to the first that does not parse (the torn tail).
    Only reading stops quietly here; an error while writing the copy is the caller's."""
    from mcap.stream_reader import StreamReader

    records = StreamReader(handle, validate_crcs=True).records
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception:  # noqa: BLE001 - any parse error marks the torn tail: stop there
            return
        yield record


def _salvage(active_path: str, chunk_size: int, meta: BagMetadata) -> tuple[McapFile, list[Topic]]:
    """Copy every intact record of a torn file into a ``.recovering`` file, not yet final."""
    from mcap.records import Channel, Message, Schema

    final_path = active_path[: -len(ACTIVE_SUFFIX)]
    opening = meta.opening(os.path.basename(final_path)).serialize()
    out = McapFile(final_path, chunk_size, opening, temp_suffix=RECOVERING_SUFFIX)
    schemas: dict[int, Schema] = {}
    channels: dict[int, Topic] = {}
    with open(active_path, "rb") as handle:
        for record in _intact_records(handle):
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel) and record.schema_id in schemas:
                topic = topic_of(schemas[record.schema_id], record)
                channels[record.id] = topic
                out.add_topic(topic)
            elif isinstance(record, Message) and record.channel_id in channels:
                out.write(channels[record.channel_id].name, record.log_time,
                          record.publish_time, record.data)
    return out, list(channels.values())


def _remember(meta: BagMetadata, topics: list[Topic]) -> None:
    for topic in topics:
        meta.topics.setdefault(topic.name, TopicEntry(
            topic.name, topic.type, list(topic.offered_qos_profiles), topic.type_hash))


def _verify(path: str, messages: int) -> None:
    """Read back what was written: a salvaged copy replaces nothing unless it is whole."""
    from mcap.reader import make_reader

    with open(path, "rb") as handle:
        summary = make_reader(handle).get_summary()
    found = summary.statistics.message_count if summary and summary.statistics else None
    if found != messages:
        raise OSError(f"salvaged copy {path} reads back {found} message(s), not {messages}")


def _replace_with_salvaged(bag_dir: str, name: str, chunk_size: int,
                           meta: BagMetadata, report: RecoveryReport) -> McapFile:
    """Salvage ``name`` (an ``.active`` file) into its final file, verified, then delete it.
    Any failure (a full disk, say) removes the partial copy and keeps the original."""
    path = os.path.join(bag_dir, name)
    salvaged: McapFile | None = None
    try:
        salvaged, topics = _salvage(path, chunk_size, meta)
        _remember(meta, topics)
        meta.add_file(salvaged.entry(), salvaged.counts)
        salvaged.finish(meta.serialize())
        salvaged.sync()
        _verify(salvaged.active_path, salvaged.message_count)
        salvaged.commit()
    except BaseException:
        if salvaged is not None:
            salvaged.abandon()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path[: -len(ACTIVE_SUFFIX)] + RECOVERING_SUFFIX)
        raise
    with open(path, "rb") as handle:
        head = handle.read(len(MAGIC))
    if MAGIC.startswith(head) or salvaged.message_count:  # ours, even torn in its magic
        os.unlink(path)
    else:  # not a file this writer began: whatever it is, it is kept as found
        report.set_aside.append(set_aside(path))
    return salvaged


def _closed_file_topics(path: str) -> tuple[list[Topic], dict[str, int], int, int, int]:
    from mcap.reader import make_reader

    with open(path, "rb") as handle:
        summary = make_reader(handle).get_summary()
    if summary is None or summary.statistics is None:
        raise ValueError(f"{path} has a final name but no summary; move it aside to recover "
                         "the rest of the bag")
    topics = [topic_of(summary.schemas[c.schema_id], c) for c in summary.channels.values()]
    stats = summary.statistics
    counts = {summary.channels[cid].topic: n for cid, n in stats.channel_message_counts.items()}
    return topics, counts, stats.message_start_time, stats.message_end_time, stats.message_count


def _clear_interrupted_recovery(bag_dir: str) -> None:
    """Undo what a recovery cut short left behind, so it can simply run again."""
    for name in os.listdir(bag_dir):
        path = os.path.join(bag_dir, name)
        if name.endswith(RECOVERING_SUFFIX):
            os.unlink(path)
        elif name.endswith(ACTIVE_SUFFIX) and os.path.exists(path[: -len(ACTIVE_SUFFIX)]):
            os.unlink(path)  # its salvaged copy was already finalized


def recover_bag(bag_dir: str, chunk_size: int) -> RecoveryReport:
    meta = BagMetadata.load(bag_dir)
    listed = {f.path for f in meta.files}
    report = RecoveryReport(bag_dir, [], 0)

    _clear_interrupted_recovery(bag_dir)
    for name in sorted(os.listdir(bag_dir)):
        path = os.path.join(bag_dir, name)
        if is_split_file(name) and name not in listed:
            topics, counts, start, end, count = _closed_file_topics(path)
            _remember(meta, topics)
            meta.add_file(FileEntry(name, start, end - start, count), counts)
        elif is_active_split_file(name):
            salvaged = _replace_with_salvaged(bag_dir, name, chunk_size, meta, report)
            report.recovered_files.append(salvaged.final_path)
            report.salvaged_messages += salvaged.message_count
            for topic, count in salvaged.counts.items():
                report.salvaged_by_topic[topic] = report.salvaged_by_topic.get(topic, 0) + count
    meta.save(bag_dir)
    marker = recording_marker(bag_dir)
    if os.path.isdir(marker) and not os.path.islink(marker):
        report.set_aside.append(set_aside(marker))
    elif os.path.lexists(marker):
        os.unlink(marker)
    return report
