"""Health as diagnostic_msgs, so rqt_robot_monitor and Foxglove show it.

Status names start with the node's fully qualified name (``/robot1/data_manager:
sync``), as the ROS diagnostic conventions ask of several instances, so that two
data managers on one robot or fleet never merge in an aggregator.
"""

from __future__ import annotations

import os
import time

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from data_manager_ros.capture.clips import ClipRecorder
from data_manager_ros.capture.engine import CaptureEngine
from data_manager_ros.capture.memory_budget import Split
from data_manager_ros.capture.recent_drops import RecentDrops
from data_manager_ros.capture.topic_stats import TopicStats
from data_manager_ros.config.settings import DataManagerConfig, MethodConfig
from data_manager_ros.health import Level, SyncFacts, sync_verdict
from data_manager_ros.node.diagnostic_keys import Key, uploading_key
from data_manager_ros.wire import SyncSnapshot


def _status(node: str, what: str, level: bytes, message: str,
            values: dict[str, object]) -> DiagnosticStatus:  # keys: Key, or uploading_key
    """``node``: the fully qualified node name; also the hardware_id, which status --live
    filters on."""
    return DiagnosticStatus(level=level, name=f"{node}: {what}", message=message,
                            hardware_id=node,
                            values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])


def _idle_reason(method: MethodConfig, config: DataManagerConfig, paused: bool) -> str:
    """Why a method records nothing on purpose, or "" when it should be recording."""
    if config.capture_disabled:
        return "not captured: capture_disabled is true"
    if paused:
        return "paused by ~/pause_capture"
    if method.disabled:
        return "not captured: the method is disabled"
    if not method.captured:
        return f"not captured: capture_frequency_hz is {method.capture_frequency_hz:g}"
    return ""


def _configured_hz(method: MethodConfig) -> str:
    if not method.captured:
        return "0 (not captured)"
    return f"{method.rate_limit_hz}" if method.rate_limit_hz else "every message"


def _dropped(refused: int, lost: int, missed: int, window_s: float, budget: str) -> str:
    """What a topic lost within the window and why, or "" when it lost nothing."""
    reasons = []
    if missed:
        reasons.append(f"{missed} sent by a publisher never reached the node (lost in DDS: "
                       "a history that overflowed on either side, or the network; a "
                       "publisher of large messages needs config/fastdds_large_messages.xml)")
    if refused:
        reasons.append(f"{refused} over memory_budget_bytes ({budget})")
    if lost:
        reasons.append(f"{lost} not written (the bag or the disk failed)")
    if not reasons:
        return ""
    return (f"{refused + lost + missed} message(s) dropped in the last {window_s:.0f} s: "
            f"{'; '.join(reasons)}")


def capture_statuses(node: str, config: DataManagerConfig, methods: tuple[MethodConfig, ...],
                     engine: CaptureEngine, rates: dict[str, float],
                     waiting_s: dict[str, float], drops: RecentDrops, budget: Split,
                     paused: bool = False) -> list[DiagnosticStatus]:
    """One status per recorded topic (``methods``: the configured ones and those the topic
    selection found). ``waiting_s``: topic → seconds a captured method has waited for its
    first publisher; past ``topic_wait_warning_s`` that is a WARN, since nothing is being
    recorded. Drops are a WARN while they happen (``drops``' window), with the budget's
    split when the budget was the cause."""
    statuses = []
    drops.forget({method.topic for method in methods})
    for method in methods:
        stats = engine.stats.get(method.topic, TopicStats())
        level = DiagnosticStatus.OK
        message = _idle_reason(method, config, paused) or "capturing"
        waited = waiting_s.get(method.topic, 0.0)
        refused, lost, missed = drops.update(method.topic, stats.refused, stats.lost,
                                             stats.missed)
        dropped = _dropped(refused, lost, missed, drops.window_s, budget.describe())
        if engine.last_error:
            level, message = DiagnosticStatus.ERROR, engine.last_error
        elif dropped:
            level, message = DiagnosticStatus.WARN, dropped
        elif message == "capturing" and waited >= config.topic_wait_warning_s:
            level, message = DiagnosticStatus.WARN, (
                f"waiting for a publisher on {method.topic} for {waited:.0f} s; nothing "
                "recorded")
        elif message == "capturing" and method.topic in waiting_s:
            message = f"waiting for a publisher on {method.topic}"
        statuses.append(_status(node, f"capture {method.label}", level, message, {
            Key.TOPIC: method.topic,
            Key.CONFIGURED_HZ: _configured_hz(method),
            Key.ACTUAL_HZ: f"{rates.get(method.topic, 0.0):.1f}",
            Key.RECEIVED: stats.received, Key.THROTTLED: stats.throttled,
            Key.WRITTEN: stats.written, Key.DROPPED: stats.dropped,
            Key.MISSED: stats.gaps.describe(),
            Key.WRITER_BACKLOG_BYTES: engine.intake.backlog.pending,
            Key.WRITER_BACKLOG_PEAK_BYTES: engine.intake.backlog.peak,
            Key.WRITER_BACKLOG_LIMIT_BYTES: budget.backlog_bytes,
            Key.READERS_BYTES: budget.readers_bytes,
            Key.DELETED_FOR_SPACE_FILES: engine.disk.deleted[0],
            Key.DELETED_FOR_SPACE_BYTES: engine.disk.deleted[1],
        }))
    return statuses


def clip_status(node: str, clips: ClipRecorder) -> DiagnosticStatus:
    """Incident clips: how many, and whether the clip writer or the buffer failed any."""
    stats, faults = clips.stats, clips.supervisor.faults()
    level, message = DiagnosticStatus.OK, f"{stats.written} clip(s) written"
    if faults:
        level, message = DiagnosticStatus.ERROR, "; ".join(f"{t}: {r}" for t, r in faults.items())
    elif stats.dropped:
        level, message = DiagnosticStatus.WARN, (
            f"{stats.dropped} message(s) left out of clips: clip_buffer_bytes is too small")
    return _status(node, "clips", level, message, {
        Key.CLIPS_WRITTEN: stats.written, Key.CLIP_MESSAGES: stats.messages,
        Key.CLIP_DROPPED: stats.dropped, Key.LAST_CLIP: stats.last_bag})


# an upload in flight that sent no byte for this long is stalled (WARN naming it)
STALL_AFTER_S = 5.0
LEVELS = {Level.OK: DiagnosticStatus.OK, Level.WARN: DiagnosticStatus.WARN,
          Level.ERROR: DiagnosticStatus.ERROR}


def _stalled(in_flight: dict[str, tuple[int, int, float]], after_s: float) -> str:
    now = time.time()
    quiet = sorted(((now - at, path) for path, (_, _, at) in in_flight.items()
                    if now - at > after_s), reverse=True)
    if not quiet:
        return ""
    longest, path = quiet[0]
    more = f" (and {len(quiet) - 1} more)" if len(quiet) > 1 else ""
    return f"stalled: {os.path.basename(path)} has sent no byte for {longest:.0f} s{more}"


def sync_status(node: str, snapshot: SyncSnapshot, sync_disabled: bool, process_error: str = "",
                stall_after_s: float = STALL_AFTER_S) -> DiagnosticStatus:
    stats = snapshot.stats
    quiet_s = time.time() - stats.last_progress
    uploading = {uploading_key(os.path.basename(path)): f"{sent}/{size}"
                 for path, (sent, size, _) in stats.in_flight.items()}
    verdict = sync_verdict(SyncFacts(
        sync_disabled=sync_disabled, process_error=process_error, faults=snapshot.faults,
        refused=tuple(snapshot.refused), stalled=_stalled(stats.in_flight, stall_after_s),
        waiting_files=snapshot.waiting_files, waiting_because=snapshot.waiting_because,
        quiet_s=quiet_s, in_flight=bool(stats.in_flight),
        failing_files=snapshot.failing_files, last_error=snapshot.last_error,
        journal_problem=snapshot.journal_problem))
    oldest = snapshot.oldest_mtime_ns
    return _status(node, "sync", LEVELS[verdict.level], verdict.message, {
        Key.WAITING_FILES: snapshot.waiting_files,
        Key.WAITING_BYTES: snapshot.waiting_bytes,
        Key.OLDEST_UNSYNCED_AGE_S: f"{(time.time_ns() - oldest) / 1e9:.0f}" if oldest else "0",
        Key.IN_FLIGHT_SENT_BYTES: sum(sent for sent, _, _ in stats.in_flight.values()),
        Key.IN_FLIGHT_REMAINING_BYTES: sum(size - sent for sent, size, _ in
                                           stats.in_flight.values()),
        Key.UPLOADED_FILES: stats.uploaded_files, Key.FAILURES: stats.failures,
        Key.UNEXPECTED_ERRORS: snapshot.unexpected_errors,
        Key.FAILED_FILES: stats.failed_files,
        Key.LAST_ERROR: snapshot.last_error,
        Key.LAST_SUCCESS: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stats.last_success))
        if stats.last_success else "never",
        **uploading,
    })
