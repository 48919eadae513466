"""Uploads against the real @tus/server, with real faults: kills, dead servers, cut links."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from dataclasses import replace

import pytest
from diagnostic_msgs.msg import DiagnosticStatus

from data_manager_ros.backoff import Backoff
from data_manager_ros.config.settings import MethodConfig
from data_manager_ros.layout import JOURNAL_FILE
from data_manager_ros.node.diagnostics import sync_status
from data_manager_ros.sync.destinations import DirectoryDestination, make_destination
from data_manager_ros.sync.journal import Journal, JournalEntry
from data_manager_ros.sync.scanner import bag_files
from data_manager_ros.sync.snapshot import snapshot_of
from data_manager_ros.sync.upload_metadata import UploadPolicy
from data_manager_ros.sync.uploader import Uploader
from helpers.forward_proxy import ForwardProxy
from helpers.processes import wait_for
from helpers.proxy import FaultProxy
from helpers.small_fs import small_tmpfs
from helpers.sync_setup import (
    ListLogger,
    assert_arrived_once,
    by_path,
    drain,
    make_bag,
    manager,
    sweep_until_empty,
)
from helpers.tus_server import TusServer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


MALFORMED = {
    "a Location that is no URL": (
        lambda m, p: (201, {"Location": "http://[::1/files/x"}) if m == "POST" else (500, {}),
        "is not a URL"),
    "a Location on another origin": (
        lambda m, p: (201, {"Location": "http://127.0.0.2:1/files/x"}) if m == "POST"
        else (500, {}), "on another origin than sync_url"),
    "a PATCH answer whose offset does not advance": (
        lambda m, p: (201, {"Location": "/files/x"}) if m == "POST"
        else (204, {"Upload-Offset": "0"}), "confirmed offset 0 after a PATCH from 0"),
    "a PATCH answer without Upload-Offset": (
        lambda m, p: (201, {"Location": "/files/x"}) if m == "POST" else (204, {}),
        "without a valid Upload-Offset"),
}


def test_closed_bag_arrives_byte_identical_then_is_deleted(tmp_path, tus_server):
    sync, log = manager(tmp_path, tus_server.url, tags=["field-test"])
    camera = MethodConfig("camera1", "PointCloud", "/cloud")
    sync.uploader.policy = replace(sync.uploader.policy, methods=(camera,))
    _, files = make_bag(str(tmp_path / "capture"), "bag_a", 6, split_mb=2)
    assert len(files) == 4  # three splits and metadata.yaml
    try:
        assert sync.sweep() == 4
        drain(sync)
    finally:
        sync.close()
    assert_arrived_once(tus_server, files)
    meta = by_path(tus_server)["bag_a/bag_a_0.mcap"][0]["metadata"]
    assert meta["robot_id"] == "robot7" and meta["tags"] == "field-test"
    assert meta["topics"] == "/cloud" and meta["methods"] == "camera1/PointCloud"
    assert meta["kind"] == "bag" and meta["bag"] == "bag_a"
    assert int(meta["message_count"]) >= 1
    assert 10**18 <= int(meta["start_ns"]) <= int(meta["end_ns"])
    assert sorted(os.listdir(tmp_path / "capture")) == [JOURNAL_FILE,  # bag dir removed
                                                        JOURNAL_FILE + ".lock"]
    assert Journal(str(tmp_path / "capture" / JOURNAL_FILE)).entries() == []


def test_open_bag_uploads_closed_files_but_not_metadata_or_active_file(tmp_path, tus_server):
    writer, files = make_bag(str(tmp_path / "capture"), "bag_b", 3, split_mb=1, keep_open=True)
    writer.add_topic(writer.topics["/cloud"])
    writer.write("/cloud", 1, 1, b"\0" * 64)  # opens the next file: .active
    closed = {p: data for p, data in files.items() if p.endswith(".mcap")}
    found = [f.relative_path for f in bag_files(str(tmp_path / "capture"), print)]
    assert found == sorted(closed)
    sync, _ = manager(tmp_path, tus_server.url)
    try:
        sync.sweep()
        drain(sync)
        assert_arrived_once(tus_server, closed)  # neither the .active file nor metadata.yaml
        writer.close()
        sync.sweep()
        drain(sync)
    finally:
        sync.close()
    arrived = by_path(tus_server)
    assert "bag_b/metadata.yaml" in arrived and len(arrived) == len(closed) + 2


def test_additional_paths_wait_for_quiet_time_and_stay_inside(tmp_path, tus_server):
    extra = tmp_path / "logs"
    (extra / "sub").mkdir(parents=True)
    (extra / "old.log").write_bytes(b"old" * 1000)
    (extra / "sub" / "truncated.mcap").write_bytes(b"\x89MCAP0\r\n" + os.urandom(500))
    (extra / "fresh.log").write_bytes(b"still being written")
    (extra / ".hidden").write_bytes(b"x")
    (tmp_path / "secret.txt").write_bytes(b"outside")
    os.symlink(tmp_path / "secret.txt", extra / "escape.txt")
    past = time.time() - 60
    for name in ("old.log", "sub/truncated.mcap"):
        os.utime(extra / name, (past, past))
    sync, log = manager(tmp_path, tus_server.url, additional_sync_paths=[str(extra)],
                        file_last_modified_millis=10000)
    try:
        assert sync.sweep() == 2
        drain(sync)
    finally:
        sync.close()
    assert sorted(by_path(tus_server)) == ["logs/old.log", "logs/sub/truncated.mcap"]
    assert sorted(os.listdir(extra)) == [".hidden", "escape.txt", "fresh.log", "sub"]
    assert "escape.txt links outside" in log.text()
    assert (tmp_path / "secret.txt").exists()


def test_server_killed_and_restarted_mid_upload(tmp_path, tus_server):
    _, files = make_bag(str(tmp_path / "capture"), "bag_s", 24, split_mb=8)
    proxy = FaultProxy(tus_server.port)
    sync, log = manager(tmp_path, proxy.url(), upload_bandwidth_limit_bytes_per_s=16 << 20)
    try:
        sync.sweep()
        wait_for(lambda: proxy.upstream_bytes > 6 << 20, 30, "6 MiB sent")
        tus_server.kill()
        time.sleep(1.0)
        tus_server.restart()
        drain(sync, 90)
    finally:
        sync.close()
    assert_arrived_once(tus_server, files)
    assert "failed" in log.text()


def test_connections_cut_mid_patch(tmp_path, tus_server):
    _, files = make_bag(str(tmp_path / "capture"), "bag_c", 12, split_mb=4)
    proxy = FaultProxy(tus_server.port, cut_after=3 << 20, cuts=4)
    sync, log = manager(tmp_path, proxy.url())
    sweep_until_empty(sync, 90)
    assert proxy.cuts_left <= 0
    assert_arrived_once(tus_server, files)


def test_a_link_cut_every_few_mb_does_not_grow_the_backoff(tmp_path, tus_server):
    """Every connection is cut 1-3 MB in: 20+ cuts for 40 MiB. Each attempt moves the
    offset, so the next starts at once; a doubling backoff would wait for days."""
    _, files = make_bag(str(tmp_path / "capture"), "bag_k", 40)
    proxy = FaultProxy(tus_server.port, cut_after=(1 << 20, 3 << 20), cuts=10**6)
    sync, _ = manager(tmp_path, proxy.url(), maximum_num_sync_threads=1)
    sweep_until_empty(sync, 60)  # a doubling backoff after ~20 cuts would not end in time
    assert proxy.connections >= 15  # the cuts happened: about one per 2 MB
    assert_arrived_once(tus_server, files)


def test_5xx_answers_are_retried(tmp_path):
    server = TusServer(str(tmp_path / "server"), fail_every=3).start()
    try:
        _, files = make_bag(str(tmp_path / "capture"), "bag_5", 6, split_mb=1)
        sync, log = manager(tmp_path, server.url)
        sweep_until_empty(sync, 90)
        assert_arrived_once(server, files)
        assert "HTTP 503" in log.text()
    finally:
        server.kill()


def test_refused_file_moves_to_failed_with_reason(tmp_path):
    server = TusServer(str(tmp_path / "server"), max_size=2 << 20).start()
    try:
        _, files = make_bag(str(tmp_path / "capture"), "bag_t", 3)
        sync, log = manager(tmp_path, server.url)
        sweep_until_empty(sync)
        failed = tmp_path / "capture" / "failed" / "bag_t"
        assert (failed / "bag_t_0.mcap").read_bytes() == files["bag_t/bag_t_0.mcap"]
        assert "HTTP 413" in (failed / "bag_t_0.mcap.reason.txt").read_text()
        assert log.text().count("refused for good") == 1
        assert sorted(by_path(server)) == ["bag_t/metadata.yaml"]
    finally:
        server.kill()


def test_api_key_is_sent_and_never_logged(tmp_path, monkeypatch):
    key = "sk-test-9f8e7d6c5b4a"
    server = TusServer(str(tmp_path / "server"), api_key=key).start()
    try:
        _, files = make_bag(str(tmp_path / "capture"), "bag_key", 2)
        monkeypatch.setenv("DM_TEST_KEY", "wrong")
        sync, log = manager(tmp_path, server.url, api_key_env="DM_TEST_KEY")
        sync.sweep()
        wait_for(lambda: "refused the API key" in log.text(), 30, "the refusal")
        sync.close()
        monkeypatch.setenv("DM_TEST_KEY", key)
        sync, log2 = manager(tmp_path, server.url, api_key_env="DM_TEST_KEY")
        sync.sweep()
        drain(sync)
        sync.close()
        assert_arrived_once(server, files)
        assert key not in log.text() + log2.text()
    finally:
        server.kill()


def test_file_in_backoff_holds_no_worker_and_follows_the_schedule(tmp_path):
    from helpers.tus_server import free_port

    capture = tmp_path / "capture"
    _, files = make_bag(str(capture), "bag_x", 1)
    clock = FakeClock()
    log = ListLogger()
    dead = make_destination(f"http://127.0.0.1:{free_port()}/files/", {})  # nothing listens
    uploader = Uploader(dead, Journal(str(tmp_path / "j.sqlite3")), log,
                        policy=UploadPolicy(robot_id="r"),
                        clock=clock)
    uploader.enqueue(bag_files(str(capture), print))
    schedule = []
    for _ in range(14):
        while uploader.run_due():
            pass
        schedule.append(round(uploader.next_due() - clock.now, 3))
        clock.now = uploader.next_due()
    assert schedule == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
                        819.2, 1638.4]
    assert "Connection" in log.text() and all(p.exists() for p in (capture / "bag_x").iterdir())

    # A good destination: the other file goes while the first one waits out its backoff.
    uploader.destination = DirectoryDestination(f"file://{tmp_path / 'cloud'}")
    (tmp_path / "cloud" / "bag_x").mkdir(parents=True)
    (tmp_path / "cloud" / "bag_x" / "bag_x_0.mcap.part").mkdir()  # this one cannot be written
    clock.now += 5000
    assert uploader.run_due() and uploader.run_due()
    assert (tmp_path / "cloud" / "bag_x" / "metadata.yaml").read_bytes() == files[
        "bag_x/metadata.yaml"]
    assert [f.relative_path for f, _, _ in uploader.pending()] == ["bag_x/bag_x_0.mcap"]
    assert uploader.next_due() == pytest.approx(clock.now + Backoff().delay(15))


def test_stop_interrupts_an_upload_mid_file_and_it_resumes_later(tmp_path, tus_server):
    """Judged by bytes, not by a stopwatch: close() returns with most of the file unsent (it
    did not wait for the upload to finish), and the next run sends only the rest."""
    _, files = make_bag(str(tmp_path / "capture"), "bag_i", 20)
    size = sum(len(d) for d in files.values())
    proxy = FaultProxy(tus_server.port)
    sync, _ = manager(tmp_path, proxy.url(), upload_bandwidth_limit_bytes_per_s=4 << 20)
    sync.sweep()
    wait_for(lambda: proxy.upstream_bytes > 4 << 20, 30, "4 MiB sent")
    sync.close()
    assert proxy.upstream_bytes < size / 2, (proxy.upstream_bytes, size)
    assert "bag_i/bag_i_0.mcap" not in by_path(tus_server)
    sync, _ = manager(tmp_path, proxy.url())
    sweep_until_empty(sync)
    assert_arrived_once(tus_server, files)
    assert proxy.upstream_bytes - size < 8192


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_answer_is_a_retried_protocol_error(tmp_path, case):
    """The worker survives, backs off (no tight loop), the file stays, status is not ok."""
    from diagnostic_msgs.msg import DiagnosticStatus

    from data_manager_ros.node.diagnostics import sync_status
    from data_manager_ros.sync.snapshot import snapshot_of
    from helpers.stub_server import StubServer

    answer, reason = MALFORMED[case]
    server = StubServer(answer)
    make_bag(str(tmp_path / "capture"), "bag_n", 1)
    sync, log = manager(tmp_path, server.url, maximum_num_sync_threads=1)
    try:
        sync.sweep()
        wait_for(lambda: len(server.requests) >= 4, 30, "retries by the one worker")
        time.sleep(0.5)  # what a tight loop would fill with requests
        snapshot = snapshot_of(sync.uploader)
        status = sync_status("/data_manager", snapshot, sync_disabled=False)
    finally:
        sync.close()
        server.close()
    assert reason in log.text() and "Traceback" not in log.text()
    assert len(server.requests) < 30, "a tight loop"
    assert status.level == DiagnosticStatus.WARN and "failing" in status.message
    assert all(p.exists() for p in (tmp_path / "capture" / "bag_n").iterdir())


def test_a_name_that_is_not_utf8_is_uploaded_with_its_bytes_in_the_metadata(tmp_path,
                                                                           tus_server, capsys):
    """Any name the filesystem allows is uploaded: the journal keys it by its bytes, the
    upload metadata carries them base64-encoded, logs and status show them escaped."""
    import base64

    from data_manager_ros.tools.status import main as status_main

    extra = tmp_path / "extra"
    extra.mkdir()
    bad = os.path.join(os.fsencode(extra), b"caf\xe9.bin")
    with open(bad, "wb") as handle:
        handle.write(b"sent too")
    old = time.time() - 60  # past the quiet time
    os.utime(bad, (old, old))
    (tmp_path / "capture").mkdir()
    journal = Journal(str(tmp_path / "capture" / JOURNAL_FILE))
    journal.put(JournalEntry(os.fsdecode(bad), 8, 1, "x", last_error=f"{os.fsdecode(bad)} odd"))
    assert journal.get(os.fsdecode(bad)).path == os.fsdecode(bad)
    journal.close()
    assert status_main(["--capture-dir", str(tmp_path / "capture")]) == 0
    assert "extra/caf\\xe9.bin odd" in capsys.readouterr().out

    sync, log = manager(tmp_path, tus_server.url, additional_sync_paths=[str(extra)])
    sweep_until_empty(sync, 30)
    assert not os.path.exists(bad)
    [done] = tus_server.completed()
    assert base64.b64decode(done["metadata"]["relative_path_bytes"]) == b"extra/caf\xe9.bin"
    assert done["metadata"]["relative_path"] == "extra/caf\\xe9.bin"
    assert tus_server.stored(done["id"]) == b"sent too"
    assert "uploaded caf" in log.text()


def test_retry_after_is_honoured_up_to_the_backoff_cap(tmp_path):
    from helpers.stub_server import StubServer

    wait = {"value": "7"}
    server = StubServer(lambda m, p: (503, {"Retry-After": wait["value"]}))
    make_bag(str(tmp_path / "capture"), "bag_r", 1)
    clock = FakeClock()
    uploader = Uploader(make_destination(server.url, {}), Journal(str(tmp_path / "j.db")),
                        ListLogger(), policy=UploadPolicy(robot_id="r"), clock=clock)
    try:
        uploader.enqueue(bag_files(str(tmp_path / "capture"), print))
        while uploader.run_due():  # the bag file and its metadata.yaml
            pass
        assert uploader.next_due() - clock.now == pytest.approx(7.0)  # not 0.2 s
        wait["value"] = "999999"
        clock.now = uploader.next_due()
        while uploader.run_due():
            pass
        assert uploader.next_due() - clock.now == pytest.approx(Backoff().cap_s)
    finally:
        server.close()


def test_an_upload_url_of_another_origin_is_dropped_and_the_file_sent_anew(tmp_path, tus_server):
    """A journal row from before sync_url changed, or a Location that pointed at a dead port:
    the key is not sent there, and a new upload is created at sync_url."""
    from data_manager_ros import digest
    from data_manager_ros.sync.journal import JournalEntry
    from helpers.tus_server import free_port

    _, files = make_bag(str(tmp_path / "capture"), "bag_o", 2)
    path = str(tmp_path / "capture" / "bag_o" / "bag_o_0.mcap")
    stat = os.stat(path)
    journal = Journal(str(tmp_path / "capture" / JOURNAL_FILE))
    journal.put(JournalEntry(path, stat.st_size, stat.st_mtime_ns, digest.of_file(path, "blake3"),
                             upload_url=f"http://127.0.0.1:{free_port()}/files/stale"))
    journal.close()
    sync, log = manager(tmp_path, tus_server.url)
    sweep_until_empty(sync, 60)
    assert_arrived_once(tus_server, files)
    assert "stale" not in log.text()


def test_an_upload_started_with_a_sha256_resumes_and_is_checked_in_sha256(tmp_path, tus_server):
    """An upload in flight when the robot moved to BLAKE3: its journal row and Upload-Metadata
    name a SHA-256. The uploader resumes that very upload mid-file, and the server checks the
    whole file in SHA-256; the bag's other files go with BLAKE3."""
    from data_manager_ros.sync.bandwidth import BandwidthLimit
    from data_manager_ros.sync.tus_client import TusClient

    _, files = make_bag(str(tmp_path / "capture"), "bag_s", 6, split_mb=3)
    relative = "bag_s/bag_s_0.mcap"
    path = str(tmp_path / "capture" / relative)
    legacy = hashlib.sha256(files[relative]).hexdigest()
    client = TusClient(tus_server.url)
    url = client.create(len(files[relative]), {"relative_path": relative, "sha256": legacy})
    with open(path, "rb") as handle:
        half = client.send(url, handle, 0, len(files[relative]) // 2, lambda n: None,
                           BandwidthLimit(0))
    client.close()
    stat = os.stat(path)
    journal = Journal(str(tmp_path / "capture" / JOURNAL_FILE))
    journal.put(JournalEntry(path, stat.st_size, stat.st_mtime_ns, legacy, upload_url=url))
    journal.close()
    sync, log = manager(tmp_path, tus_server.url)
    sweep_until_empty(sync, 60)
    assert_arrived_once(tus_server, files)
    arrived = {p: uploads[0] for p, uploads in by_path(tus_server).items()}
    assert url.endswith(arrived[relative]["id"]) and half > 0
    assert arrived[relative]["digest"] == f"sha256:{legacy}"
    assert all(u["digest"].startswith("blake3:") for p, u in arrived.items() if p != relative)


def test_upload_digest_changed_live_to_sha256_is_what_the_server_checks(tmp_path,
                                                                         tus_server):
    """For a server or hook that checks SHA-256, set live: files whose upload starts after
    the change carry `sha256`, and a byte flipped in flight is caught by it."""
    _, first = make_bag(str(tmp_path / "capture"), "bag_b", 2)
    sync, log = manager(tmp_path, tus_server.url, maximum_num_sync_threads=1)
    sync.sweep()
    drain(sync, 60)
    _, files = make_bag(str(tmp_path / "capture"), "bag_2", 3)
    proxy = FaultProxy(tus_server.port, flip_at=1 << 20)
    sync.apply(replace(sync.config, upload_digest="sha256", sync_url=proxy.url()))
    sweep_until_empty(sync, 60)
    proxy.close()
    assert proxy.flipped and "sha256 mismatch" in log.text()
    assert_arrived_once(tus_server, {**first, **files})
    arrived = by_path(tus_server)
    for path in first:
        assert arrived[path][0]["digest"].startswith("blake3:")
    for path in files:
        assert arrived[path][0]["digest"] == "sha256:" + hashlib.sha256(files[path]).hexdigest()
        assert "blake3" not in arrived[path][0]["metadata"]


def test_small_files_are_not_starved_by_large_ones(tmp_path, tus_server):
    """Two workers, two 24 MiB files at 8 MB/s (3 s each) and 60 small files: the small-file
    lane sends every small file before either large one is done."""
    make_bag(str(tmp_path / "capture"), "bag_big", 48, split_mb=24)
    extra = tmp_path / "extra"
    extra.mkdir()
    old = time.time() - 60
    for index in range(60):
        (extra / f"note_{index:02d}.txt").write_bytes(os.urandom(4096))
        os.utime(extra / f"note_{index:02d}.txt", (old, old))
    sync, log = manager(tmp_path, tus_server.url, maximum_num_sync_threads=2,
                        upload_bandwidth_limit_bytes_per_s=8_000_000,
                        additional_sync_paths=[str(extra)])
    sweep_until_empty(sync, 90)
    order = [line.split()[2] for line in log.lines if line.startswith("INFO uploaded ")]
    first_big = min(i for i, name in enumerate(order) if name.endswith(".mcap"))
    assert sum(1 for name in order[:first_big] if name.startswith("note_")) == 60, order


def test_an_http_sync_url_with_a_key_is_warned_about(tmp_path, monkeypatch, tus_server):
    monkeypatch.setenv("DM_TEST_KEY", "k")
    sync, log = manager(tmp_path, tus_server.url, api_key_env="DM_TEST_KEY")
    sync.close()
    assert "is http: the API key and the data cross the network unencrypted" in log.text()


def test_a_byte_flipped_in_flight_is_caught_by_the_servers_digest_and_sent_again(tmp_path,
                                                                                 tus_server):
    """The reference server checks every finished upload against the digest (BLAKE3) the
    client puts in Upload-Metadata and answers 460; the client starts that file again."""
    _, files = make_bag(str(tmp_path / "capture"), "bag_f", 3)
    proxy = FaultProxy(tus_server.port, flip_at=2 << 20)
    sync, log = manager(tmp_path, proxy.url(), maximum_num_sync_threads=1)
    sweep_until_empty(sync, 60)
    assert proxy.flipped
    assert "HTTP 460" in log.text() and "blake3 mismatch" in log.text()
    assert_arrived_once(tus_server, files)
    assert tus_server.unfinished() == []  # the refused upload was terminated (DELETE)


def test_with_the_checksum_extension_a_flipped_byte_costs_one_chunk_not_the_file(tmp_path):
    """A server offering the tus checksum extension (as tusd does) refuses the one PATCH whose
    Upload-Checksum differs; the client sends that chunk again, not the whole file."""
    from data_manager_ros.sync.tus_client import CHECKSUM_CHUNK_BYTES

    server = TusServer(str(tmp_path / "server"), checksum=True).start()
    try:
        _, files = make_bag(str(tmp_path / "capture"), "bag_c", 40)
        proxy = FaultProxy(server.port, flip_at=20 << 20)
        sync, log = manager(tmp_path, proxy.url(), maximum_num_sync_threads=1)
        sweep_until_empty(sync, 60)
        assert proxy.flipped
        assert "HTTP 460 checksum mismatch" in log.text()
        assert_arrived_once(server, files)
        resent = proxy.upstream_bytes - sum(len(data) for data in files.values())
        assert CHECKSUM_CHUNK_BYTES // 2 < resent < CHECKSUM_CHUNK_BYTES + (1 << 20), resent
    finally:
        server.kill()


def test_a_private_ca_is_trusted_through_ca_bundle_only(tmp_path):
    """An https server whose certificate no system CA signed: refused (the file is kept and the
    reason shown) until ca_bundle names its CA, then uploaded."""
    from dataclasses import replace

    server = TusServer(str(tmp_path / "server"), tls=True).start()
    try:
        _, files = make_bag(str(tmp_path / "capture"), "bag_t", 1)
        sync, log = manager(tmp_path, server.url, maximum_num_sync_threads=1)
        try:
            sync.sweep()
            wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in log.text(), 30, "a TLS refusal")
            assert not server.completed()
            sync.apply(replace(sync.config, ca_bundle=server.certificate))
            sync.sweep()
            wait_for(lambda: len(server.completed()) == len(files), 30, "the uploads")
        finally:
            sync.close()
        assert_arrived_once(server, files)
    finally:
        server.kill()


def test_an_upload_that_hangs_is_reported_as_stalled(tmp_path):
    """A server that takes the PATCH and never answers: status must not stay ok."""
    import threading

    from diagnostic_msgs.msg import DiagnosticStatus

    from data_manager_ros.node.diagnostics import sync_status
    from data_manager_ros.sync.snapshot import snapshot_of
    from helpers.stub_server import StubServer

    release = threading.Event()

    def answer(method: str, path: str):
        if method == "PATCH":
            release.wait(30)  # hangs until the test is done
            return 204, {"Upload-Offset": "0"}
        return (201, {"Location": "/files/x"}) if method == "POST" else (200, {})

    server = StubServer(answer)
    make_bag(str(tmp_path / "capture"), "bag_h", 1)
    sync, _ = manager(tmp_path, server.url, maximum_num_sync_threads=1)
    try:
        sync.sweep()
        wait_for(lambda: server.count("PATCH") >= 1 and sync.uploader.stats.in_flight, 30,
                 "a PATCH in flight")
        fresh = sync_status("/data_manager", snapshot_of(sync.uploader), sync_disabled=False,
                            stall_after_s=1.0)
        time.sleep(1.5)
        stalled = sync_status("/data_manager", snapshot_of(sync.uploader), sync_disabled=False,
                              stall_after_s=1.0)
    finally:
        release.set()
        sync.close()
        server.close()
    assert fresh.level == DiagnosticStatus.OK
    assert stalled.level == DiagnosticStatus.WARN
    assert stalled.message.startswith("stalled: bag_h_0.mcap has sent no byte for ")


def test_an_uploaded_file_that_cannot_be_deleted_is_kept_reported_once_and_never_sent_again(
        tmp_path, tus_server):
    """A real read-only remount: uploads succeed, deletes fail with EROFS. No worker dies, the
    files are WARN (failing) with the reason, each logged once; once the mount is writable
    again they are deleted without a byte sent again, and new files still go up."""
    with small_tmpfs(tmp_path / "mount", "8m") as mount:
        extra = mount / "logs"
        extra.mkdir()
        files = {f"logs/f{i}.bin": os.urandom(100_000) for i in range(3)}
        past = time.time() - 60
        for relative, data in files.items():
            (mount / relative).write_bytes(data)
            os.utime(mount / relative, (past, past))
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        sync, log = manager(tmp_path, tus_server.url, additional_sync_paths=[str(extra)],
                            file_last_modified_millis=0)
        try:
            sync.sweep()
            wait_for(lambda: snapshot_of(sync.uploader).failing_files == 3, 30,
                     "three uploaded files failing to delete")
            wait_for(lambda: min(f for _, f, _ in sync.uploader.pending()) >= 2, 30,
                     "a second try of each")
            status = sync_status("/data_manager", snapshot_of(sync.uploader), False)
            assert status.level == DiagnosticStatus.WARN and "3 file(s) failing" in status.message
            assert "cannot be deleted here: Read-only file system" in \
                snapshot_of(sync.uploader).last_error
            assert log.text().count("cannot be deleted here") == 3
            assert not snapshot_of(sync.uploader).faults  # no thread died
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
            wait_for(lambda: not list(extra.iterdir()), 30, "the files deleted")
            (extra / "new.bin").write_bytes(b"after")
            os.utime(extra / "new.bin", (past, past))
            files["logs/new.bin"] = b"after"
            sync.sweep()
            drain(sync)
        finally:
            sync.close()
    assert_arrived_once(tus_server, files)



@pytest.fixture
def proxy_env(monkeypatch):
    """Only the proxy variables a test sets (none of the machine's); set them on it."""
    for name in ("http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_uploads_go_through_the_proxy_the_environment_names(scheme, tmp_path, proxy_env):
    """A robot behind a site proxy: HTTP_PROXY / HTTPS_PROXY (as curl and requests read them)
    carry every request to a real forward proxy that demands a login (given in the proxy URL),
    https tunnelled through it (CONNECT) with the server's certificate still checked."""
    server = TusServer(str(tmp_path / "server"), tls=scheme == "https").start()
    proxy = ForwardProxy(str(tmp_path / "proxy"), credentials="robot7:s3cret").start()
    proxy_env.setenv(f"{scheme.upper()}_PROXY", proxy.url())
    try:
        _, files = make_bag(str(tmp_path / "capture"), "bag_p", 1)
        sync, _ = manager(tmp_path, server.url, maximum_num_sync_threads=1,
                          ca_bundle=server.certificate)
        try:
            sync.sweep()
            wait_for(lambda: len(server.completed()) == len(files), 30, "the uploads")
        finally:
            sync.close()
        assert_arrived_once(server, files)
        # proxy.py logs a connection's first request: a tunnel (the proxy never sees the
        # requests in it) or a request naming the whole URL
        seen = proxy.requests()
        origin = f"127.0.0.1:{server.port}"
        expected = f"CONNECT {origin}" if scheme == "https" else f"{origin}/files/"
        assert seen and all(line.endswith(expected) for line in seen), seen
    finally:
        proxy.kill()
        server.kill()


def test_no_proxy_names_the_servers_reached_directly(tmp_path, tus_server, proxy_env):
    """A proxy that is down (nothing listens) is named as the reason the files wait, not
    the server; once NO_PROXY lists the server, they go to it directly."""
    proxy_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    _, files = make_bag(str(tmp_path / "capture"), "bag_n", 1)
    sync, log = manager(tmp_path, tus_server.url, maximum_num_sync_threads=1)
    try:
        sync.sweep()
        wait_for(lambda: "through the proxy 127.0.0.1:9 (from http_proxy): "
                 "ConnectionRefusedError" in log.text(), 30, "the proxy named")
        assert not tus_server.completed()
        proxy_env.setenv("NO_PROXY", "localhost,127.0.0.1")
        wait_for(lambda: sync.sweep() >= 0 and len(tus_server.completed()) == len(files),
                 30, "the uploads")
    finally:
        sync.close()
    assert_arrived_once(tus_server, files)


def test_a_proxy_that_refuses_the_login_keeps_the_files_and_says_so(tmp_path, tus_server,
                                                                     proxy_env):
    """HTTP 407 comes from the robot's proxy, not the server: the files stay queued with the
    reason shown (not moved to failed/), and go up once the environment has the right login."""
    proxy = ForwardProxy(str(tmp_path / "proxy"), credentials="robot7:s3cret").start()
    proxy_env.setenv("HTTP_PROXY", proxy.url().replace("s3cret", "wrong"))
    try:
        _, files = make_bag(str(tmp_path / "capture"), "bag_l", 1)
        sync, log = manager(tmp_path, tus_server.url, maximum_num_sync_threads=1)
        try:
            sync.sweep()
            wait_for(lambda: "HTTP 407: the proxy refused its login" in log.text(), 30,
                     "the refusal named")
            assert snapshot_of(sync.uploader).stats.failed_files == 0  # none moved to failed/
            assert not tus_server.completed()
            proxy_env.setenv("HTTP_PROXY", proxy.url())
            wait_for(lambda: sync.sweep() >= 0 and len(tus_server.completed()) == len(files),
                     30, "the uploads with the right login")
        finally:
            sync.close()
        assert_arrived_once(tus_server, files)
    finally:
        proxy.kill()
