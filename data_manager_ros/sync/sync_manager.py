"""Turns the data manager config into a running uploader and feeds it on each sweep.

The API key is read from the environment or a file when the destination is set
up (at start, and when sync_url, the key's source or ca_bundle change), never from a
parameter, so it cannot leak through ``ros2 param dump`` or logs. Sweeps scan
directories and touch the sqlite journal, so they run on a thread of their
own and a request for one returns at once. The node runs this in its upload
process (``sync_worker``); ``data_manager_sync`` runs it directly. A lock on
the journal keeps the two from uploading the same files at once.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime

from data_manager_ros.config.credentials import api_key, check_ca_bundle, destination_settings
from data_manager_ros.config.settings import DataManagerConfig
from data_manager_ros.fsutil import LockBusy, hold_exclusive_lock
from data_manager_ros.layout import JOURNAL_FILE, JOURNAL_LOCK_FILE
from data_manager_ros.lifecycle import Lifecycle
from data_manager_ros.supervision import Supervisor
from data_manager_ros.sync.bandwidth import BandwidthLimit
from data_manager_ros.sync.destinations import Destination, make_destination
from data_manager_ros.sync.journal import Journal
from data_manager_ros.sync.scanner import SyncFile, bag_files, has_bags, quiet_files
from data_manager_ros.sync.sync_gate import SyncGate
from data_manager_ros.sync.upload_metadata import UploadPolicy
from data_manager_ros.sync.uploader import Uploader
from data_manager_ros.wire import Logger

SYNC_SWEEPER = "sync sweeper"
# Long enough for an uploader that was just told to stop to finish its block.
LOCK_WAIT_S = 10.0


def _headers(config: DataManagerConfig) -> dict[str, str]:
    key = api_key(config)
    return {"Authorization": f"Bearer {key}"} if key else {}


class SyncManager(Lifecycle):
    def __init__(self, config: DataManagerConfig, log: Logger,
                 now: Callable[[], datetime] = datetime.now) -> None:
        """``now``: local wall time, for sync_windows (a test gives its own clock)."""
        self._log = log
        self.gate = SyncGate(config.sync_windows, bool(config.sync_condition_topic), now)
        self.limit = BandwidthLimit(0)  # one for every worker; set by _apply_gate
        capture_dir = config.expanded_capture_dir()
        os.makedirs(capture_dir, mode=0o700, exist_ok=True)
        self.capture_dirs: list[str] = [capture_dir]
        self.config = config
        journal = os.path.join(capture_dir, JOURNAL_FILE)
        try:
            self._lock_fd = hold_exclusive_lock(os.path.join(capture_dir, JOURNAL_LOCK_FILE),
                                                LOCK_WAIT_S)
        except LockBusy as error:
            raise LockBusy(f"another uploader is using {journal} ({error}); stop it first: "
                           f"two uploaders would send the same files twice") from None
        self.supervisor = Supervisor(log)
        try:  # a setup error (the key, the CA bundle) releases what was taken
            destination = self._destination(config)
            self.uploader = Uploader(destination, Journal(journal), log,
                                     workers=config.maximum_num_sync_threads,
                                     policy=UploadPolicy.from_config(config),
                                     supervisor=self.supervisor)
        except BaseException:
            os.close(self._lock_fd)
            raise
        self.uploader.gate = self._gate_closed_because
        if self.uploader.journal.degraded:
            log.warning(self.uploader.journal.degraded)
        self._report_repair()
        self._forget_vanished()
        self._sweep_wanted = threading.Event()
        self._forced = False  # the sweep asked for is a ~/sync
        self._closing = False
        self._skips_reported: set[str] = set()
        self._sweeper = threading.Thread(target=self._sweep_when_asked, name="sync-sweeper",
                                         daemon=True)

    def start(self) -> SyncManager:
        """The upload workers and the sweeper (threads never start in the constructor)."""
        self.uploader.start()
        self._sweeper.start()
        return self


    def _destination(self, config: DataManagerConfig) -> Destination:
        """Raises ConfigError naming the setting when the key or CA bundle is unusable."""
        check_ca_bundle(config)
        headers = _headers(config)
        if headers and config.sync_url.startswith("http://"):
            self._log.warning(f"sync_url {config.sync_url!r} is http: the API key and the data "
                              "cross the network unencrypted; use https")
        return make_destination(config.sync_url, headers, self.limit,
                                os.path.expanduser(config.ca_bundle))

    def _gate_closed_because(self) -> str:
        """Asked by the workers before each upload; sets the bandwidth limit of the moment."""
        config = self.config
        self.limit.bytes_per_s = (config.upload_bandwidth_limit_bytes_per_s
                                  if self.gate.in_window() else
                                  config.upload_bandwidth_limit_outside_windows_bytes_per_s)
        return self.gate.closed_because()

    def set_condition(self, value: bool) -> None:
        """The last value of sync_condition_topic (forwarded by the node)."""
        self.gate.condition = value
        self.uploader.wake()

    def _report_repair(self) -> None:
        """A damaged journal set aside (at start, or found by a worker since): said once."""
        journal = self.uploader.journal
        if journal.repaired:
            self._log.warning(journal.repaired)
            journal.repaired = ""

    def _forget_vanished(self) -> None:
        """A crash between deleting an uploaded file and its journal row leaves a stale row."""
        for entry in self.uploader.journal.entries():
            if not os.path.exists(entry.path):
                self.uploader.journal.remove(entry.path)

    def apply(self, config: DataManagerConfig) -> None:
        """Take a new config; the old capture_dir stays a source until it is empty. A config
        whose destination cannot be set up (the key, the CA bundle) raises ConfigError and
        leaves the running one as it was."""
        new_destination = destination_settings(self.config) != destination_settings(config)
        destination = self._destination(config) if new_destination else None
        old, self.config = self.config, config
        capture_dir = config.expanded_capture_dir()
        if capture_dir not in self.capture_dirs:
            self.capture_dirs.append(capture_dir)
        self.uploader.policy = UploadPolicy.from_config(config)
        self.gate.configure(config.sync_windows, bool(config.sync_condition_topic))
        self.uploader.wake()
        if destination is not None or (old.maximum_num_sync_threads
                                       != config.maximum_num_sync_threads):
            self.uploader.close()
            if destination is not None:
                self.uploader.destination.close()
                self.uploader.destination = destination
                self.uploader.retry_all_now()
            self.uploader.workers = config.maximum_num_sync_threads
            self.uploader.start()

    def roots(self) -> list[str]:
        """Every directory files are synced from (each keeps its own failed/)."""
        return [*self.capture_dirs, *(os.path.abspath(os.path.expanduser(root))
                                      for root in self.config.additional_sync_paths)]

    def request_sweep(self, forced: bool = False) -> None:
        """Queue a sweep and return at once (for timer and service callbacks)."""
        self._forced = self._forced or forced
        self._sweep_wanted.set()

    def _sweep_when_asked(self) -> None:
        while True:
            self._sweep_wanted.wait()
            self._sweep_wanted.clear()
            forced, self._forced = self._forced, False
            if self._closing:
                return
            self.supervisor.step(SYNC_SWEEPER, functools.partial(self.sweep, forced),
                                 "the next sweep tries again")

    def sweep(self, forced: bool = False) -> int:
        """Queue every file that is ready now; returns how many were new. ``forced`` (~/sync)
        lets the files it finds past a closed gate (windows, condition topic), once."""
        def skipped(reason: str) -> None:  # once per file, not once per sweep
            if reason not in self._skips_reported:
                self._skips_reported.add(reason)
                self._log.warning(reason)

        journal = self.uploader.journal
        self._report_repair()
        if journal.degraded and journal.restore():
            self._log.info(f"upload journal {journal.path} is written to disk again")
        files: list[SyncFile] = []
        current = self.config.expanded_capture_dir()
        for capture_dir in list(self.capture_dirs):
            if capture_dir != current and not has_bags(capture_dir):
                self.capture_dirs.remove(capture_dir)  # an old capture_dir, uploaded empty
                self._log.info(f"{capture_dir}: every bag uploaded; no longer synced")
                continue
            if os.path.isdir(capture_dir):
                files += bag_files(capture_dir, skipped)
        quiet_ns = self.config.file_last_modified_millis * 1_000_000
        now_ns = time.time_ns()
        for root in self.roots()[len(self.capture_dirs):]:
            if os.path.isdir(root):
                files += quiet_files(root, quiet_ns, now_ns, skipped)
            else:
                self._log.warning(f"additional sync path {root!r} is not a directory; skipped")
        added = self.uploader.enqueue(files, forced)
        self._log.debug(f"sync sweep: {len(files)} file(s) ready, {added} newly queued")
        return added

    def close(self) -> None:
        """Stop the sweeper and the workers (uploads resume next run), release the journal."""
        self._closing = True
        self._sweep_wanted.set()
        if self._sweeper.is_alive():
            self._sweeper.join()
        self.uploader.close()
        self.uploader.destination.close()
        self.uploader.journal.close()
        os.close(self._lock_fd)
