"""A fleet's ingest on object storage: robots → tus → S3 (moto's real S3 API on 127.0.0.1),
found again by robot, time, topic and tag, and played back with `ros2 bag play`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time

import pytest
import requests
import yaml
from mcap.reader import make_reader

from data_manager_ros.fleet.keys import key_path, key_segment
from helpers import judges
from helpers.fleet import BUCKET, Ingest, S3Server, fleet_command, robot_token
from helpers.processes import (
    NodeProcess,
    published,
    start_sensors,
    wait_for,
    write_config,
)
from helpers.proxy import FaultProxy
from helpers.sync_setup import drain, make_bag, manager


def fleet(s3: S3Server, database_url: str, *args: str) -> str:
    """The real `data_manager_fleet` command's output."""
    return fleet_command(s3, database_url, *args).stdout.decode()


def sidecars(s3: S3Server) -> dict[str, dict]:
    bucket = s3.bucket()
    records = [json.loads(bucket.get(key)) for key in bucket.keys(".meta/")]
    return {record["key"]: record for record in records}


def test_the_ingest_keys_checks_and_describes_every_file(tmp_path, s3, fleet_db, ingest,
                                                         monkeypatch):
    """Through a proxy that flips one byte in flight: the ingest's BLAKE3 check refuses that
    upload (460), the uploader sends it again; keys are `<robot>/<path>`, escaped
    losslessly; each file has its sidecar; the API key is checked; termination is offered;
    `data_manager_fleet list` filters by robot, kind, topic, tag and time."""
    options = requests.options(ingest.url, headers={"Tus-Resumable": "1.0.0"}, timeout=10)
    assert "termination" in options.headers["Tus-Extension"]
    refused = requests.post(ingest.url, headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1"},
                            timeout=10)
    assert refused.status_code == 401
    _, files = make_bag(str(tmp_path / "capture"), "bag_a", 12, split_mb=8)
    extra = tmp_path / "logs"
    extra.mkdir()
    odd = "notes ü #1%.txt"
    (extra / odd).write_text("a file of additional_sync_paths")
    past = time.time() - 60
    os.utime(extra / odd, (past, past))
    proxy = FaultProxy(ingest.port, flip_at=3 << 20)
    monkeypatch.setenv("DATA_MANAGER_API_KEY", robot_token(s3, fleet_db, "robot7"))
    sync, log = manager(tmp_path, proxy.url(), robot_id="robot7", tags=["field-test"],
                        additional_sync_paths=[str(extra)])
    try:
        sync.sweep()
        drain(sync)
    finally:
        sync.close()
        proxy.close()
    assert proxy.flipped and "blake3 mismatch" in log.text()
    stored = sidecars(s3)
    expected = {f"robot7/{path}" for path in files} | {"robot7/logs/notes%20%C3%BC%20%231%25.txt"}
    assert set(stored) == expected
    assert key_path("robot7/logs/notes%20%C3%BC%20%231%25.txt") == f"robot7/logs/{odd}"
    assert key_segment(odd) == "notes%20%C3%BC%20%231%25.txt"  # the ingest's escaping
    bucket = s3.bucket()
    for key, record in stored.items():
        path = tmp_path / "check"
        assert bucket.download(key, str(path), "blake3") == record["digest"]
    assert not [k for k in bucket.keys() if k.endswith(".part")]
    first = stored["robot7/bag_a/bag_a_0.mcap"]["metadata"]
    assert first["topics"] == "/cloud" and first["kind"] == "bag" and first["tags"] == "field-test"
    start_s = int(first["start_ns"]) / 1e9

    def listed(*filters: str) -> set[str]:
        return {line.split("\t")[5] for line in fleet(s3, fleet_db, "list", *filters).splitlines()}

    assert listed() == expected
    assert listed("--robot", "robot8") == set()
    assert listed("--kind", "file") == {"robot7/logs/notes%20%C3%BC%20%231%25.txt"}
    assert listed("--topic", "/cloud") == {k for k in expected if k.endswith(".mcap")}
    assert listed("--tag", "field-test") == expected and listed("--tag", "other") == set()
    assert "robot7/bag_a/bag_a_0.mcap" in listed("--since", str(start_s), "--until",
                                                  str(start_s + 1))
    assert listed("--since", str(start_s + 3600)) == set()
    # a sidecar of an ingest from before BLAKE3 names a sha256 alone: still checked
    legacy = dict(stored["robot7/bag_a/bag_a_0.mcap"])
    del legacy["digest"]
    legacy["sha256"] = hashlib.sha256(files["bag_a/bag_a_0.mcap"]).hexdigest()
    bucket.put(".meta/robot7/bag_a/bag_a_0.mcap.json", json.dumps(legacy).encode())
    fleet(s3, fleet_db, "download", "robot7/bag_a", str(tmp_path / "downloaded"))
    assert (tmp_path / "downloaded" / "bag_a" / "bag_a_0.mcap").read_bytes() == files[
        "bag_a/bag_a_0.mcap"]


def test_an_upload_whose_sidecar_was_never_written_is_finished_by_the_next_head(tmp_path, s3,
                                                                                 fleet_db,
                                                                                 ingest,
                                                                                 monkeypatch):
    """The ingest killed after the last part but before the sidecar: the object is whole, no
    sidecar says so. The robot's next HEAD (what it asks after a cut) finishes it first."""
    _, files = make_bag(str(tmp_path / "capture"), "bag_h", 2)
    token = robot_token(s3, fleet_db, "robot9")
    monkeypatch.setenv("DATA_MANAGER_API_KEY", token)
    sync, _ = manager(tmp_path, ingest.url, robot_id="robot9")
    try:
        sync.sweep()
        drain(sync)
    finally:
        sync.close()
    bucket = s3.bucket()
    key = "robot9/bag_h/bag_h_0.mcap"
    before = sidecars(s3)[key]
    s3.client().delete_object(
        Bucket=BUCKET, Key=f".meta/{key}.json")  # the gap a kill at the wrong moment leaves
    assert key not in sidecars(s3)
    url = ingest.url + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    head = requests.head(url, headers={"Tus-Resumable": "1.0.0",
                                       "Authorization": f"Bearer {token}"}, timeout=30)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"]
    after = sidecars(s3)[key]
    assert (after["digest"], after["metadata"]) == (before["digest"], before["metadata"])
    assert bucket.download(key, str(tmp_path / "check"), "blake3") == after["digest"]


@pytest.mark.slow
def test_three_robots_through_a_cutting_balancer_and_a_killed_instance_lose_nothing(
        tmp_path, s3, fleet_db, ingest):
    """Three nodes (robot1..3, each in its namespace with its own sensors and its own token)
    sync through one address that spreads connections over two ingest instances and cuts
    some; one instance is SIGKILLed mid-upload and restarted. Afterwards every message each
    robot's sensors published is in the bucket, under `<robot>/<bag>/<file>`, each object's
    digest the one its sidecar names; one robot's bag, downloaded with `data_manager_fleet`,
    plays back with `ros2 bag play` whole."""
    second = Ingest(s3, fleet_db).start()
    proxy = FaultProxy((ingest.port, second.port), cut_after=(1 << 20, 6 << 20), cuts=6)
    robots = ("robot1", "robot2", "robot3")
    tokens = {robot: robot_token(s3, fleet_db, robot) for robot in robots}
    nodes, sensors, configs = [], [], {}
    for robot in robots:
        configs[robot] = write_config(
            str(tmp_path / f"{robot}.yaml"),
            {"gps1": [{"method": "Position"}], "camera1": [{"method": "PointCloud"}]},
            capture_dir=str(tmp_path / robot), sync_url=proxy.url(), robot_id=robot,
            sync_interval_mins=0.01, maximum_capture_file_duration_s=2.0)
        nodes.append(NodeProcess(configs[robot], str(tmp_path / f"{robot}.log"), "-r",
                                 f"__ns:=/{robot}", env={"DATA_MANAGER_API_KEY": tokens[robot]})
                     .start())
        sensors.append(start_sensors(
            50, 5, 8.0, "--cloud-size", "320x240", "--wait-subscribers", "1", "--ros-args",
            "-r", f"/gps1/position:=/{robot}/gps1/position",
            "-r", f"/camera1/point_cloud:=/{robot}/camera1/point_cloud"))
    try:
        wait_for(lambda: proxy.upstream_bytes > 12 << 20, 60, "12 MB through the proxy")
        ingest.kill()  # mid-upload: the bucket keeps the parts, the uploads back off
        time.sleep(1.0)
        ingest.restart()
        sent = {robot: published(process.communicate(timeout=120)[0])
                for robot, process in zip(robots, sensors, strict=True)}
    finally:
        for node in nodes:
            node.stop()
        for process in sensors:
            process.kill()
    proxy.upstream_ports = (second.port,)  # the killed one's port may be taken by now
    for robot in robots:  # what was still local (the open bags) goes up with the sync CLI
        result = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.sync_cli",
                                 configs[robot]], capture_output=True, text=True, timeout=300,
                                env={**os.environ, "DATA_MANAGER_API_KEY": tokens[robot]})
        assert result.returncode == 0, result.stderr[-2000:]
    proxy.close()
    second.kill()
    stored = sidecars(s3)
    bucket = s3.bucket()
    for robot in robots:
        assert not [n for _, _, names in os.walk(tmp_path / robot) for n in names
                    if n.endswith((".mcap", "metadata.yaml"))], f"{robot}: files left behind"
        mine = {key: record for key, record in stored.items() if key.startswith(robot + "/")}
        for bag in {key.split("/")[1] for key in mine}:
            # the bag's files in the bucket are those its metadata.yaml lists
            info = yaml.safe_load(bucket.get(f"{robot}/{bag}/metadata.yaml"))[
                "rosbag2_bagfile_information"]
            assert {f"{robot}/{bag}/{path}" for path in info["relative_file_paths"]} | {
                f"{robot}/{bag}/metadata.yaml"} == {k for k in mine if k.split("/")[1] == bag}
        counts = {"/gps1/position": 0, "/camera1/point_cloud": 0}
        for key, record in mine.items():  # the messages the objects hold, read from them
            assert record["metadata"]["robot_id"] == robot
            check = str(tmp_path / "check")
            assert bucket.download(key, check, "blake3") == record["digest"], key
            if key.endswith(".mcap"):
                with open(check, "rb") as handle:
                    for _, channel, _ in make_reader(handle).iter_messages():
                        counts[channel.topic.split(robot, 1)[1]] += 1
        assert (counts["/gps1/position"], counts["/camera1/point_cloud"]) == sent[robot], robot
    assert not [k for k in bucket.keys() if k.endswith(".part")]
    # resumed where the bucket stood: far less than twice the bytes went over the wire
    assert proxy.upstream_bytes < 1.5 * sum(r["size"] for r in stored.values())
    bag = sorted({k.split("/")[1] for k in stored if k.startswith("robot2/")})[0]
    local = fleet(s3, fleet_db, "download", f"robot2/{bag}", str(tmp_path / "downloaded")).strip()
    with open(os.path.join(local, "metadata.yaml"), encoding="utf-8") as handle:
        info = yaml.safe_load(handle)
    expected = {t["topic_metadata"]["name"]: t["message_count"]
                for t in info["rosbag2_bagfile_information"]["topics_with_message_count"]}
    assert judges.call("play", local) == expected and sum(expected.values()) > 0
