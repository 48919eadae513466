"""The fleet's pages (`data_manager_fleet web`) over the real catalog, written by the real
ingest from a real robot's uploads, as a real headless Chromium renders them: refused without
an operator token, the robots and what arrived, a bag pending then arrived, a clip on its
robot's timeline with its reason, a NavSatFix track, filters in the URL, and an export from
the page that `ros2 bag play` plays whole."""

from __future__ import annotations

import html
import os
import re
import tarfile
import urllib.parse

import pytest
import requests
import yaml

from helpers import judges
from helpers.bag_samples import write_bag
from helpers.browser import browse
from helpers.fleet import FleetPages, create, fleet_command, patch, record_file, robot_token
from helpers.sync_setup import make_bag, manager, sweep_until_empty

SECOND = 1_000_000_000
START = 10**18  # make_bag's first message: 2001-09-09 01:46:40 UTC
DAY = "2001-09-09"
DAY_START = 999_993_600 * SECOND  # its midnight, UTC


@pytest.fixture
def pages(s3, fleet_db, ingest):
    web = FleetPages(s3, fleet_db).start()
    yield web
    web.stop()


def upload(ingest, token: str, path: str, data: bytes) -> None:
    created = create(ingest.url, token, path, len(data), kind="bag")
    assert created.status_code == 201, created.text
    assert patch(created.headers["Location"], token, 0, data).status_code == 204


def test_without_an_operator_token_nothing_is_shown(s3, fleet_db, pages):
    robot = robot_token(s3, fleet_db, "robot7")
    refused = pages.get("/", None)
    assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"]
    assert "operator token is needed" in refused.text
    assert pages.get("/", "dmo_not-a-token").status_code == 401
    assert pages.get("/files", robot).status_code == 403
    operator = fleet_command(s3, fleet_db, "operators", "add", "ops").stdout.decode().strip()
    assert pages.get("/", operator).status_code == 200
    fleet_command(s3, fleet_db, "operators", "revoke", "ops")
    assert pages.get("/", operator).status_code == 401  # at once


def test_the_pages_show_what_arrived_what_is_pending_and_the_incidents(
        tmp_path, s3, fleet_db, ingest, pages, monkeypatch):
    token = robot_token(s3, fleet_db, "robot7")
    operator = fleet_command(s3, fleet_db, "operators", "add", "ops").stdout.decode().strip()
    _, files = make_bag(str(tmp_path / "capture"), "bag_a", 4, split_mb=2)
    # the robot has said what bag_b holds, and sent one of its two files
    upload(ingest, token, "bag_b/metadata.yaml", yaml.safe_dump({
        "rosbag2_bagfile_information": {"version": 9, "relative_file_paths": [
            "bag_b_0.mcap", "bag_b_1.mcap"]}}).encode())
    upload(ingest, token, "bag_b/bag_b_0.mcap", b"first")
    hour = 3600 * SECOND
    for key, start, end in (("robot7/field_am/field_am_0.mcap", 6 * hour, 7.5 * hour),
                            ("robot7/field_pm/field_pm_0.mcap", 13 * hour, 13.3 * hour)):
        record_file(fleet_db, key, kind="bag", start_ns=str(DAY_START + start),
                    end_ns=str(int(DAY_START + end)), topics="/gps")
    record_file(fleet_db, "robot7/clip_c/clip_c_0.mcap", kind="clip",
                start_ns=str(DAY_START + 6 * hour + 2400 * SECOND),
                end_ns=str(DAY_START + 6 * hour + 2430 * SECOND), topics="/gps",
                clip_reasons="bumper hit")

    def shown(path: str, *select: str, **more) -> dict:
        seen = browse(pages.url + path, operator, select, **more)
        assert seen["status"] == 200, seen
        return seen["texts"]

    assert shown("/", "#robots a")["#robots a"] == ["robot7"]
    waiting = shown("/bags/robot7/bag_b", "#state", "#files td.state")
    assert waiting["#state"] == ["pending: 1 of 2 files; pending bag_b_1.mcap"]
    assert sorted(waiting["#files td.state"]) == ["arrived", "arrived", "pending"]

    write_bag(tmp_path / "capture" / "gps_bag", count=300)  # fixes, for a track
    monkeypatch.setenv("DATA_MANAGER_API_KEY", token)
    sweep_until_empty(manager(tmp_path, ingest.url, robot_id="robot7")[0])
    upload(ingest, token, "bag_b/bag_b_1.mcap", b"second")
    arrived = shown("/bags/robot7/bag_b", "#state", "#files td.state")
    assert arrived["#state"] == ["complete: complete"]
    assert set(arrived["#files td.state"]) == {"arrived"}

    day = shown(f"/robots/robot7?day={DAY}", "#timeline .bag title", "#timeline .clip text",
                "#timeline .gap title", "#bags td.state",
                screenshot=os.path.join(os.environ.get("DM_SCREENSHOT_DIR", str(tmp_path)),
                                        "fleet_timeline.png"))
    # bag_b's files say no time range: it is no bar
    assert day["#timeline .bag title"] == [
        "bag_a: 2001-09-09 01:46:40 .. 2001-09-09 01:46:40",
        "field_am: 2001-09-09 06:00:00 .. 2001-09-09 07:30:00",
        "field_pm: 2001-09-09 13:00:00 .. 2001-09-09 13:18:00"]
    assert day["#timeline .clip text"] == ["bumper hit"]  # the incident, with its reason
    assert day["#timeline .gap title"] == [
        "nothing recorded 2001-09-09 00:00:00 .. 2001-09-09 01:46:40",
        "nothing recorded 2001-09-09 01:46:40 .. 2001-09-09 06:00:00",
        "nothing recorded 2001-09-09 07:30:00 .. 2001-09-09 13:00:00",
        "nothing recorded 2001-09-09 13:18:00 .. 2001-09-10 00:00:00"]

    # each bag file opens in Foxglove through a URL of the bucket's that needs no credential
    links = re.findall(r"<a class=viewer href='([^']+)'>", pages.get("/bags/robot7/bag_a",
                                                                      operator).text)
    assert [link.split("?")[0] for link in links] == ["https://app.foxglove.dev/~/view"] * 2
    opened = [urllib.parse.parse_qs(urllib.parse.urlsplit(html.unescape(link)).query)
              ["ds.url"][0] for link in links]
    assert [requests.get(url, timeout=30).content for url in opened] == [
        files["bag_a/bag_a_0.mcap"], files["bag_a/bag_a_1.mcap"]]

    # the track the robot's fixes drew (sampled from a few chunks of each file)
    [track] = shown("/bags/robot7/gps_bag", "#track title")["#track title"]
    assert re.fullmatch(r"/gps: [1-9]\d* points", track), track

    clips = shown("/files?robot=robot7&kind=clip", "#files td a")
    assert clips["#files td a"] == ["robot7", "robot7/clip_c/clip_c_0.mcap"]

    assert browse(pages.url + "/", None)["status"] == 401  # no credential, no page

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    shown("/bags/robot7/bag_a", click="#export button", downloads=downloads)
    with tarfile.open(next(downloads.iterdir())) as archive:
        archive.extractall(tmp_path / "exported", filter="data")
    [bag] = os.listdir(tmp_path / "exported")
    assert judges.call("play", str(tmp_path / "exported" / bag)) == {"/cloud": 4}
