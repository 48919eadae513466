"""The key/value schema of the node's /diagnostics, shared by the node that publishes them and
``data_manager_status --live`` that reads them back, so neither parses the other's prose."""

from __future__ import annotations

from enum import StrEnum


class Key(StrEnum):
    # a capture method
    TOPIC = "topic"
    CONFIGURED_HZ = "configured_hz"  # a number, "every message" or "0 (not captured)"
    ACTUAL_HZ = "actual_hz"
    RECEIVED = "received"
    THROTTLED = "throttled"
    WRITTEN = "written"
    DROPPED = "dropped"
    MISSED = "missed_before_node"  # sent, never received: lost in DDS (capture/sequence_gaps)
    WRITER_BACKLOG_BYTES = "writer_backlog_bytes"
    WRITER_BACKLOG_PEAK_BYTES = "writer_backlog_peak_bytes"
    # the memory budget's split (capture/memory_budget.py): the backlog's bound, and what the
    # subscription queues as they are now may hold
    WRITER_BACKLOG_LIMIT_BYTES = "writer_backlog_limit_bytes"
    READERS_BYTES = "subscription_queues_bytes"
    DELETED_FOR_SPACE_FILES = "deleted_for_space_files"
    DELETED_FOR_SPACE_BYTES = "deleted_for_space_bytes"
    # incident clips
    CLIPS_WRITTEN = "clips_written"
    CLIP_MESSAGES = "messages"
    CLIP_DROPPED = "dropped"
    LAST_CLIP = "last_clip"
    # sync
    WAITING_FILES = "waiting_files"
    WAITING_BYTES = "waiting_bytes"
    OLDEST_UNSYNCED_AGE_S = "oldest_unsynced_age_s"
    IN_FLIGHT_SENT_BYTES = "in_flight_sent_bytes"
    IN_FLIGHT_REMAINING_BYTES = "in_flight_remaining_bytes"
    UPLOADED_FILES = "uploaded_files"
    FAILURES = "failures"
    UNEXPECTED_ERRORS = "unexpected_errors"
    FAILED_FILES = "failed_files"
    LAST_ERROR = "last_error"
    LAST_SUCCESS = "last_success"


# one key per upload in flight: "uploading <file name>" → "<sent>/<size>"
UPLOADING = "uploading "


def uploading_key(name: str) -> str:
    return UPLOADING + name


def sent_and_size(value: str) -> tuple[int, int]:
    sent, size = value.split("/")
    return int(sent), int(size)
