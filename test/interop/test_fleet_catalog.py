"""The fleet's catalog in a real PostgreSQL, written by the real ingest: rows at finish,
the same rows again from the sidecars after the database is lost, every filter exact, and
each bag's completeness: complete, pending on the robot, dropped by its disk policy,
missing from the bucket."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from helpers import judges
from helpers.fleet import (
    BUCKET,
    Ingest,
    create,
    fleet_command,
    patch,
    record_file,
    robot_token,
)
from helpers.sync_setup import make_bag, manager, sweep_until_empty


def listed(s3, database: str, *filters: str) -> list[dict]:
    return json.loads(fleet_command(s3, database, "list", "--json", *filters).stdout)


def test_rows_are_written_at_finish_and_rebuilt_the_same_from_the_sidecars(
        tmp_path, s3, postgres, fleet_db, ingest, monkeypatch):
    _, files = make_bag(str(tmp_path / "capture"), "bag_a", 6, split_mb=2)
    monkeypatch.setenv("DATA_MANAGER_API_KEY", robot_token(s3, fleet_db, "robot7"))
    sweep_until_empty(manager(tmp_path, ingest.url, robot_id="robot7", tags=["field-test"])[0])
    rows = listed(s3, fleet_db)
    assert sorted(r["key"] for r in rows) == sorted(f"robot7/{path}" for path in files)
    first = next(r for r in rows if r["key"] == "robot7/bag_a/bag_a_0.mcap")
    assert (first["robot"], first["bag"], first["kind"], first["topics"], first["types"],
            first["tags"]) == ("robot7", "bag_a", "bag", ["/cloud"],
                               ["sensor_msgs/msg/PointCloud2"], ["field-test"])
    assert first["topic_counts"] == {"/cloud": first["message_count"]} and \
        first["message_count"] > 0
    assert fleet_command(s3, fleet_db, "list", "--count", "--robot", "robot7").stdout.decode() \
        .strip() == str(len(files))
    lost = postgres.new_database()  # the database is gone; the bucket is not
    Ingest(s3, lost).start().kill()  # a new deployment's schema
    assert fleet_command(s3, lost, "reindex").returncode == 0
    assert listed(s3, lost) == rows
    assert fleet_command(s3, lost, "bags").stdout.decode() == \
        "robot7\tbag_a\tcomplete\n"


def test_each_filter_and_their_combination_return_exactly_the_expected_files(
        s3, fleet_db, ingest):
    second = 1_000_000_000
    record_file(fleet_db, "r1/b1/b1_0.mcap", kind="bag", start_ns=str(10 * second),
           end_ns=str(20 * second), topics="/gps,/cloud", tags="field,night",
           topic_types=json.dumps({"/gps": "sensor_msgs/msg/NavSatFix",
                                   "/cloud": "sensor_msgs/msg/PointCloud2"}),
           custom_data=json.dumps({"site": "north", "run": "7"}))
    record_file(fleet_db, "r1/clip_x/clip_x_0.mcap", kind="clip", start_ns=str(15 * second),
           end_ns=str(16 * second), topics="/gps", clip_reasons="bumper hit; e-stop",
           topic_types=json.dumps({"/gps": "sensor_msgs/msg/NavSatFix"}))
    record_file(fleet_db, "r2/b2/b2_0.mcap", kind="bag", start_ns=str(30 * second),
           end_ns=str(40 * second), topics="/cloud", tags="field",
           topic_types=json.dumps({"/cloud": "sensor_msgs/msg/PointCloud2"}),
           custom_data=json.dumps({"site": "south"}))
    record_file(fleet_db, "r2/logs/notes.txt", kind="file", tags="field")

    def keys(*filters: str) -> set[str]:
        return {row["key"] for row in listed(s3, fleet_db, *filters)}

    everything = {"r1/b1/b1_0.mcap", "r1/clip_x/clip_x_0.mcap", "r2/b2/b2_0.mcap",
                  "r2/logs/notes.txt"}
    assert keys() == everything
    assert keys("--robot", "r1") == {"r1/b1/b1_0.mcap", "r1/clip_x/clip_x_0.mcap"}
    assert keys("--since", "14", "--until", "15.5") == {"r1/b1/b1_0.mcap",
                                                         "r1/clip_x/clip_x_0.mcap"}
    assert keys("--since", "21", "--until", "29") == set()
    assert keys("--until", "12") == {"r1/b1/b1_0.mcap"}
    assert keys("--topic", "/cloud") == {"r1/b1/b1_0.mcap", "r2/b2/b2_0.mcap"}
    assert keys("--type", "sensor_msgs/msg/NavSatFix") == {"r1/b1/b1_0.mcap",
                                                           "r1/clip_x/clip_x_0.mcap"}
    assert keys("--tag", "field") == {"r1/b1/b1_0.mcap", "r2/b2/b2_0.mcap",
                                      "r2/logs/notes.txt"}
    assert keys("--kind", "clip") == keys("--reason", "e-stop") == {"r1/clip_x/clip_x_0.mcap"}
    assert keys("--custom", "site=north") == {"r1/b1/b1_0.mcap"}
    assert keys("--custom", "site=north", "--custom", "run=8") == set()
    assert keys("--tag", "field", "--topic", "/cloud", "--since", "25") == {"r2/b2/b2_0.mcap"}
    assert keys("--robot", "r2", "--kind", "file") == {"r2/logs/notes.txt"}
    bad = fleet_command(s3, fleet_db, "list", "--custom", "nokey", check=False)
    assert bad.returncode == 2 and b"KEY=VALUE" in bad.stderr


def _upload(ingest, token: str, path: str, data: bytes, kind: str = "bag") -> None:
    created = create(ingest.url, token, path, len(data), kind=kind)
    assert created.status_code == 201, created.text
    if data:
        assert patch(created.headers["Location"], token, 0, data).status_code == 204


def test_bags_tell_complete_pending_dropped_and_missing(s3, fleet_db, ingest):
    token = robot_token(s3, fleet_db, "robot7")

    def metadata(files: list[str]) -> bytes:
        return yaml.safe_dump({"rosbag2_bagfile_information": {
            "version": 9, "relative_file_paths": files,
            "topics_with_message_count": [
                {"topic_metadata": {"name": "/gps"}, "message_count": 3}]}}).encode()

    for bag in ("whole", "waiting", "dropped", "lost"):
        _upload(ingest, token, f"{bag}/metadata.yaml",
                metadata([f"{bag}_0.mcap", f"{bag}_1.mcap"]))
        _upload(ingest, token, f"{bag}/{bag}_0.mcap", b"first")
    _upload(ingest, token, "whole/whole_1.mcap", b"second")
    _upload(ingest, token, "lost/lost_1.mcap", b"second")
    _upload(ingest, token, "dropped/dropped_by_disk_policy.txt", b"dropped_1.mcap\n")
    _upload(ingest, token, "open/open_0.mcap", b"no metadata.yaml yet")
    s3.client().delete_object(Bucket=BUCKET, Key="robot7/lost/lost_1.mcap")
    lines = fleet_command(s3, fleet_db, "bags", "--verify").stdout.decode().splitlines()
    assert lines == [
        "robot7\tdropped\t1 of 2 files; dropped on the robot by its disk policy: "
        "dropped_1.mcap",
        "robot7\tlost\tmissing lost_1.mcap",
        "robot7\topen\topen or metadata.yaml pending: 1 file(s) arrived",
        "robot7\twaiting\t1 of 2 files; pending waiting_1.mcap",
        "robot7\twhole\tcomplete",
    ]
    unverified = fleet_command(s3, fleet_db, "bags", "--robot", "robot7").stdout.decode()
    assert "robot7\tlost\tcomplete" in unverified  # the catalog alone cannot know


@pytest.mark.parametrize("field, value", [("start_ns", "yesterday"),
                                          ("topic_counts", "{not json")])
def test_a_sidecar_whose_metadata_the_catalog_cannot_hold_is_reported_by_reindex(
        s3, fleet_db, ingest, field, value):
    bucket = s3.bucket()
    bucket.put("robot7/x/x_0.mcap", b"x")
    bucket.put(".meta/robot7/x/x_0.mcap.json", json.dumps(
        {"key": "robot7/x/x_0.mcap", "size": 1, "digest": "blake3:" + "0" * 64,
         "metadata": {"kind": "bag", field: value}}).encode())
    result = fleet_command(s3, fleet_db, "reindex", check=False)
    assert result.returncode == 1 and b"robot7/x/x_0.mcap: not indexed" in result.stderr
    assert os.fsdecode(fleet_command(s3, fleet_db, "list").stdout) == ""


def _recorded(capture: str, name: str, first_ms: int, count: int) -> None:
    """A bag of /gps fixes every 1 ms and /chatter every 10th from ``first_ms``, split in
    files of about 60 KB (chunks of 4 KB): what a robot uploads."""
    from rclpy.serialization import serialize_message
    from std_msgs.msg import String

    from data_manager_ros.bag.writer import BagWriter
    from helpers.bag_samples import NAVSAT, START_NS, fix, topic

    writer = BagWriter(os.path.join(capture, name), max_file_bytes=60_000,
                       max_file_duration_ns=10**15, chunk_size=4096)
    writer.add_topic(topic("/gps", NAVSAT))
    writer.add_topic(topic("/chatter", "std_msgs/msg/String"))
    for i in range(first_ms, first_ms + count):
        t = START_NS + i * 1_000_000
        writer.write("/gps", t, t, serialize_message(fix(i)))
        if i % 10 == 0:
            writer.write("/chatter", t, t, serialize_message(String(data=f"hello {i}")))
    writer.close()


def _messages(paths: list[str], topics: set[str], since: int, until: int) -> list[tuple]:
    from mcap.reader import make_reader

    found = []
    for path in paths:
        with open(path, "rb") as handle:
            for _, channel, message in make_reader(handle).iter_messages():
                if channel.topic in topics and since <= message.log_time <= until:
                    found.append((message.log_time, channel.topic, message.data))
    return sorted(found)


def test_export_reads_only_the_chunks_of_a_window_across_bags_and_splits_and_plays(
        tmp_path, s3, fleet_db, ingest, monkeypatch):
    import shutil

    from helpers.bag_samples import START_NS
    from helpers.proxy import FaultProxy

    capture = str(tmp_path / "capture")
    _recorded(capture, "bag_a", 0, 3000)
    _recorded(capture, "bag_b", 3000, 3000)
    kept = shutil.copytree(capture, tmp_path / "kept")  # the robot deletes what it uploaded
    monkeypatch.setenv("DATA_MANAGER_API_KEY", robot_token(s3, fleet_db, "robot7"))
    sweep_until_empty(manager(tmp_path, ingest.url, robot_id="robot7")[0])
    since, until = START_NS + 2_400_000_000, START_NS + 3_600_000_000
    sources = sorted(str(p) for p in kept.rglob("*.mcap"))
    rows = listed(s3, fleet_db, "--since", str(since / 1e9), "--until", str(until / 1e9))
    assert {r["bag"] for r in rows} == {"bag_a", "bag_b"} and len(rows) >= 3  # a split too
    proxy = FaultProxy(s3.port)  # counts the bytes the S3 API sends
    try:
        result = fleet_command(s3, fleet_db, "--endpoint", f"http://127.0.0.1:{proxy.port}",
                               "export", "robot7", "--since", str(since / 1e9), "--until",
                               str(until / 1e9), "--topic", "/gps", str(tmp_path / "out"))
    finally:
        proxy.close()
    bag = result.stdout.decode().strip()
    report = result.stderr.decode()
    exported = sorted(str(p) for p in (tmp_path / "out").rglob("*.mcap"))
    assert _messages(exported, {"/gps", "/chatter"}, 0, 2**63) == _messages(
        sources, {"/gps"}, since, until)
    assert len(_messages(exported, {"/gps"}, 0, 2**63)) == 1201
    import re

    requests, summaries, chunks, needed = map(int, re.search(
        r"in (\d+) range request\(s\): summaries (\d+), chunks (\d+), of which chunks "
        r"holding the slice (\d+)", report).groups())
    assert chunks == needed > 0  # only chunks that hold the slice were read
    # nothing else came from the S3 API: those bytes, and each answer's headers
    assert summaries + chunks < proxy.downstream_bytes < summaries + chunks + 1000 * requests
    assert judges.call("play", bag) == {"/gps": 1201}
