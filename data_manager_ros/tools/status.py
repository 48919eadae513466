"""``data_manager_status``: what a person at the robot needs to know, at a glance.

Offline (default) it reads capture_dir and the upload journal, so it works
with the node stopped; ``--live`` reads the running node's /diagnostics.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time

from data_manager_ros.config.credentials import api_key, check_ca_bundle
from data_manager_ros.config.files import load_config_file
from data_manager_ros.config.settings import ConfigError, DataManagerConfig
from data_manager_ros.fsutil import printable
from data_manager_ros.health import CONFIGURATION, Level, SyncFacts, refused_files, sync_verdict
from data_manager_ros.layout import (
    FAILED_DIR,
    JOURNAL_FILE,
    is_hidden,
    recording_marker,
)
from data_manager_ros.node.diagnostic_keys import UPLOADING, Key, sent_and_size
from data_manager_ros.sync.journal import Journal, JournalEntry
from data_manager_ros.sync.scanner import quiet_files

BAR = 30


# how often each node publishes /diagnostics
REPORT_PERIOD_S = 1.0


def bar(fraction: float) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * BAR))
    return "[" + "#" * filled + "-" * (BAR - filled) + f"] {100 * fraction:5.1f}%"


def _size(n: float) -> str:
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} GiB"


def offline_report(capture_dir: str, additional_paths: tuple[str, ...] = (),
                   config_problem: str = "", sync_disabled: bool = False) -> str:
    """A verdict line first (health.sync_verdict, as /diagnostics gives it, from the facts
    the disk holds), then the backlog of bags and of the additional paths, uploads the
    journal knows, and files refused for good: it works with the node stopped and on a full
    disk, and changes nothing. ``config_problem``: why the config's destination settings
    cannot be used, if they cannot."""
    lines = [f"capture_dir {capture_dir}"]
    roots = [os.path.abspath(os.path.expanduser(p)) for p in additional_paths]
    backlog = 0
    if not os.path.isdir(capture_dir):
        lines[0] += ": does not exist (nothing captured yet)"
    else:
        for name in sorted(os.listdir(capture_dir)):
            path = os.path.join(capture_dir, name)
            if is_hidden(name) or name == FAILED_DIR or not os.path.isdir(path):
                continue
            files = [f for f in os.listdir(path) if not is_hidden(f)]
            size = sum(os.path.getsize(os.path.join(path, f)) for f in files)
            backlog += size
            state = "recording" if os.path.exists(recording_marker(path)) else "closed"
            lines.append(f"  bag {name}: {state}, {len(files)} file(s) waiting, {_size(size)}")
    for root in roots:
        line, size = _extra_report(root)
        lines.append(line)
        backlog += size
    lines.append(f"backlog: {_size(backlog)} not yet uploaded")
    entries, problem = _journal_entries(os.path.join(capture_dir, JOURNAL_FILE))
    if problem:
        lines.append(f"  {problem}")
    for entry in entries:
        state = "started" if entry.upload_url else "queued"
        lines.append(f"  upload {os.path.relpath(entry.path, capture_dir)}: {state}, "
                     f"{_size(entry.size)}, {entry.failures} failure(s)"
                     + (f": {entry.last_error}" if entry.last_error else ""))
    refused = refused_files([capture_dir, *roots])
    failing = [e for e in entries if e.failures]
    verdict = sync_verdict(SyncFacts(
        sync_disabled=sync_disabled,
        faults={CONFIGURATION: config_problem} if config_problem else {},
        refused=refused, failing_files=len(failing),
        last_error=failing[0].last_error if failing else "", journal_problem=problem))
    message = (f"{_size(backlog)} waiting for upload" if verdict.message == "ok"
               else verdict.message)
    head = f"{'ok' if verdict.level == Level.OK else verdict.level.name}: {message}"
    return "\n".join([head, *lines, *(f"  FAILED {line}" for line in refused)])


def _journal_entries(path: str) -> tuple[list[JournalEntry], str]:
    """What the journal holds, read-only, and why it cannot be read, if so. A journal file
    with no table yet (created on a full disk) holds nothing: no problem to report."""
    if not os.path.exists(path):
        return [], ""
    try:
        journal = Journal(path, read_only=True)
        try:
            return journal.entries(), ""
        finally:
            journal.close()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return [], ""
        return [], (f"upload journal {path} cannot be read now ({error}); the uploads it "
                    "holds resume when the uploader runs")
    except sqlite3.DatabaseError as error:  # garbage, truncated: the uploader sets it aside
        return [], (f"upload journal {path} is damaged ({error}); the uploader sets it aside "
                    "and starts the files it held again")


def _extra_report(root: str) -> tuple[str, int]:
    """One additional sync path: what waits there (hidden files and failed/ aside)."""
    if not os.path.isdir(root):
        return f"  additional path {root}: not a directory", 0
    files = list(quiet_files(root, quiet_ns=0, now_ns=time.time_ns(), on_skip=lambda _: None))
    size = sum(f.size for f in files)
    return f"  additional path {root}: {len(files)} file(s) waiting, {_size(size)}", size


def live_report(statuses: list) -> str:
    """The node's /diagnostics, read by their keys (node.diagnostic_keys)."""
    lines = []
    for status in statuses:
        values = {kv.key: kv.value for kv in status.values}
        lines.append(f"{status.name}: {status.message}")
        if Key.CONFIGURED_HZ in values:
            lines += _capture_lines(values)
        elif Key.CLIPS_WRITTEN in values:
            lines.append(f"  {values[Key.CLIPS_WRITTEN]} clip(s), "
                         f"{values[Key.CLIP_MESSAGES]} message(s), {values[Key.CLIP_DROPPED]} "
                         f"left out; last {values[Key.LAST_CLIP] or '-'}")
        else:
            lines += _sync_lines(values)
    return "\n".join(lines)


def _capture_lines(values: dict[str, str]) -> list[str]:
    actual = float(values[Key.ACTUAL_HZ])
    try:
        target = f"of {values[Key.CONFIGURED_HZ]} Hz " + bar(
            actual / float(values[Key.CONFIGURED_HZ]))
    except ValueError:  # "every message" or "0 (not captured)": no target
        target = f"({values[Key.CONFIGURED_HZ]})"
    lines = [f"  {values[Key.TOPIC]}: {actual:.1f} Hz {target}"
             f"  written {values[Key.WRITTEN]} dropped {values[Key.DROPPED]}"
             f" missed before the node {values.get(Key.MISSED, 0)}"]
    if int(values.get(Key.DELETED_FOR_SPACE_FILES, 0)):
        lines.append(f"  deleted by disk_full_policy: {values[Key.DELETED_FOR_SPACE_FILES]} "
                     f"file(s), {_size(int(values[Key.DELETED_FOR_SPACE_BYTES]))}")
    return lines


def _sync_lines(values: dict[str, str]) -> list[str]:
    lines = [f"  waiting {values.get(Key.WAITING_FILES)} file(s), "
             f"{_size(int(values.get(Key.WAITING_BYTES, 0)))}; in flight: sent "
             f"{_size(int(values.get(Key.IN_FLIGHT_SENT_BYTES, 0)))}, remaining "
             f"{_size(int(values.get(Key.IN_FLIGHT_REMAINING_BYTES, 0)))}; uploaded "
             f"{values.get(Key.UPLOADED_FILES)}; failures {values.get(Key.FAILURES)}; "
             f"oldest unsynced {values.get(Key.OLDEST_UNSYNCED_AGE_S)} s"]
    for key, value in values.items():
        if key.startswith(UPLOADING):
            sent, size = sent_and_size(value)
            lines.append(f"  {key}: {_size(sent)} of {_size(size)} "
                         f"{bar(sent / size if size else 1.0)}")
    if values.get(Key.LAST_ERROR):
        lines.append(f"  last error: {values[Key.LAST_ERROR]}")
    return lines


def _live(timeout: float, node_name: str) -> tuple[str, bool]:
    """The next report of the data manager ``node_name``, or of every data manager that
    answers within two report periods when none is named; each names its node as
    hardware_id, and its statuses begin with that name. Also whether every status is OK."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    rclpy.init()
    node = rclpy.create_node("data_manager_status")
    found: dict[str, dict[str, DiagnosticStatus]] = {}

    def take(array: DiagnosticArray) -> None:
        for status in array.status:
            source = status.hardware_id
            if status.name.startswith(f"{source}: ") and node_name in ("", source):
                found.setdefault(source, {})[status.name] = status

    node.create_subscription(DiagnosticArray, "/diagnostics", take, 10)
    deadline = time.monotonic() + timeout
    first = 0.0
    while time.monotonic() < deadline and not (node_name and found):
        rclpy.spin_once(node, timeout_sec=0.1)
        if found and not first:
            first = time.monotonic()
        if first and time.monotonic() - first > 2 * REPORT_PERIOD_S:
            break
    node.destroy_node()
    rclpy.try_shutdown()
    if not found:
        return f"no diagnostics from data manager {node_name or '(any)'} on /diagnostics", False
    healthy = all(status.level == DiagnosticStatus.OK
                  for statuses in found.values() for status in statuses.values())
    return "\n\n".join(f"{source}\n{live_report(list(statuses.values()))}"
                        for source, statuses in sorted(found.items())), healthy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="exit status: 0 ok, 1 WARN or ERROR (or no "
                                            "answer with --live), 2 a config it cannot read")
    parser.add_argument("config_file", nargs="?", help="data_manager config (for capture_dir)")
    parser.add_argument("--capture-dir", help="read this capture_dir instead")
    parser.add_argument("--live", action="store_true", help="ask the running node")
    parser.add_argument("--node", default="",
                        help="with --live: which node, e.g. /robot1/data_manager (default: any)")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.live:
        # a node name as `ros2 node list` prints it: fully qualified
        node = f"/{args.node.lstrip('/')}" if args.node else ""
        report, healthy = _live(args.timeout, node)
        print(report)
        return 0 if healthy else 1
    try:
        config = load_config_file(args.config_file) if args.config_file else DataManagerConfig()
    except ConfigError as error:
        print(f"data_manager_status: {error}", file=sys.stderr)
        return 2
    capture_dir = (os.path.abspath(os.path.expanduser(args.capture_dir)) if args.capture_dir
                   else config.expanded_capture_dir())
    try:
        check_ca_bundle(config)
        api_key(config)
        config_problem = ""
    except ConfigError as error:
        config_problem = str(error)
    try:
        report = offline_report(capture_dir, config.additional_sync_paths, config_problem,
                                config.sync_disabled)
    except OSError as error:  # capture_dir unreadable, a file vanishing under the walk
        report = f"ERROR: cannot read {capture_dir} ({error})"
    print(printable(report))
    return 0 if report.startswith("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
