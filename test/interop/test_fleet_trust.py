"""A fleet ingest no robot can abuse, played as a hostile robot and a hostile bucket against
the real servers (moto's S3 API, the ingest, PostgreSQL): one identity per robot, nothing
outside its own prefix, every bad name refused in words, and any number of instances."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
import requests

from data_manager_ros.digest import HASHERS
from helpers.fleet import (
    BUCKET,
    Ingest,
    create,
    fleet_command,
    patch,
    robot_token,
    tus_headers,
)
from helpers.sync_setup import aged_files, manager, sync_until_done


def sidecar_keys(s3) -> set[str]:
    return {k[len(".meta/"):-len(".json")] for k in s3.bucket().keys(".meta/")}


def test_a_robot_reaches_only_its_own_uploads_and_tokens_are_its_own(s3, fleet_db, ingest):
    """robot7 starts an upload; robot8 can neither HEAD, PATCH, terminate nor read it, nor
    create under robot7's name; nobody reads contents through the ingest; an operator token
    HEADs and terminates but uploads nothing; a revoked or rotated token stops at once and
    leaves the other robots alone."""
    mine, other = robot_token(s3, fleet_db, "robot7"), robot_token(s3, fleet_db, "robot8")
    created = create(ingest.url, mine, "bag/a.mcap", 8, robot_id="robot7")
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert patch(location, mine, 0, b"1234").status_code == 204
    for method in ("HEAD", "DELETE"):
        assert requests.request(method, location, headers=tus_headers(other),
                                timeout=30).status_code == 403
    refused = patch(location, other, 4, b"FORG")
    assert refused.status_code == 403 and "only the uploads it created" in refused.text
    forged = create(ingest.url, other, "bag/a.mcap", 4, robot_id="robot7")
    assert forged.status_code == 403
    assert "robot_id 'robot7'" in forged.text and "robot 'robot8'" in forged.text
    for token in (mine, other):
        assert requests.get(location, headers=tus_headers(token), timeout=30).status_code == 405
    assert requests.head(location, headers=tus_headers("dmr_not-a-token"),
                         timeout=30).status_code == 401
    assert requests.head(location, headers={"Tus-Resumable": "1.0.0"},
                         timeout=30).status_code == 401
    # robot8's own file of the same path is its own key; robot7's upload is untouched
    assert create(ingest.url, other, "bag/a.mcap", 0).status_code == 201
    head = requests.head(location, headers=tus_headers(mine), timeout=30)
    assert head.headers["Upload-Offset"] == "4"
    assert patch(location, mine, 4, b"5678").status_code == 204
    assert s3.bucket().get("robot7/bag/a.mcap") == b"12345678"
    assert sidecar_keys(s3) == {"robot7/bag/a.mcap", "robot8/bag/a.mcap"}

    operator = fleet_command(s3, fleet_db, "operators", "add", "alice").stdout.decode().strip()
    assert requests.head(location, headers=tus_headers(operator), timeout=30).status_code == 200
    assert create(ingest.url, operator, "x", 1).status_code == 403
    second = create(ingest.url, mine, "bag/b.mcap", 4)
    assert requests.delete(second.headers["Location"], headers=tus_headers(operator),
                           timeout=30).status_code == 204

    rotated = fleet_command(s3, fleet_db, "robots", "rotate", "robot7").stdout.decode().strip()
    assert requests.head(location, headers=tus_headers(mine), timeout=30).status_code == 401
    assert requests.head(location, headers=tus_headers(rotated), timeout=30).status_code == 200
    fleet_command(s3, fleet_db, "robots", "revoke", "robot7")
    assert requests.head(location, headers=tus_headers(rotated), timeout=30).status_code == 401
    assert create(ingest.url, other, "c.txt", 0).status_code == 201  # robot8 untouched
    again = fleet_command(s3, fleet_db, "robots", "add", "robot8", check=False)
    assert again.returncode == 1 and b"rotate" in again.stderr
    listed = fleet_command(s3, fleet_db, "robots", "list").stdout.decode()
    assert "robot7\trevoked" in listed and "robot8\tlive" in listed


def test_the_shared_key_of_old_is_refused_in_words(s3, fleet_db):
    ingest = Ingest(s3, fleet_db, INGEST_API_KEY="one-key-for-all")
    with pytest.raises(RuntimeError, match="robots add"):
        ingest.start()


@pytest.mark.parametrize("path, words", [
    (b"bag/\0evil.mcap", "contains a NUL byte"),
    (b"bag//a.mcap", "empty segment 2 of 3"),
    (b"/etc/passwd", "empty segment 1 of 3"),
    (b"bag/", "empty segment 2 of 2"),
    (b"bag/../../other/a.mcap", "'..' as segment 2 of 5"),
    (b"./a.mcap", "'.' as segment 1 of 2"),
    (b"d/" + b"n" * 1005, "over the 1013"),  # robot7/d/ and 1,005: 1,014 bytes
    (b"%" * 400, "over the 1013"),  # 400 bytes that escaping makes 1,200
], ids=["nul", "double-slash", "absolute", "trailing-slash", "dot-dot", "dot", "long",
        "long-escaped"])
def test_a_name_the_ingest_cannot_store_as_sent_is_refused_in_words(s3, fleet_db, ingest,
                                                                      path, words):
    token = robot_token(s3, fleet_db, "robot7")
    refused = create(ingest.url, token, path, 1)
    assert refused.status_code == 400 and words in refused.text, refused.text
    assert not list(s3.bucket().keys())


def test_reserved_names_non_utf8_ids_and_sizes(s3, fleet_db, ingest):
    """No robot id reaches the ingest's own prefixes; a file named like S3Store's state
    objects is a key of its own; non-UTF-8 robot ids and paths keep every byte (two robots
    that a U+FFFD would merge stay two); 6 TB is refused with 413."""
    for reserved in (".meta", ".", "..", "a/b", ""):
        result = fleet_command(s3, fleet_db, "robots", "add", reserved, check=False)
        assert result.returncode == 1 and b"robot name" in result.stderr, result.stderr
    latin, replaced = b"caf\xe9", "caf\ufffd".encode()
    tokens = {raw: robot_token(s3, fleet_db, raw) for raw in (latin, replaced)}
    for token in tokens.values():
        assert create(ingest.url, token, b"f\xff.txt", 0).status_code == 201
    token = tokens[latin]
    assert create(ingest.url, token, "bag/a.mcap", 0).status_code == 201
    assert create(ingest.url, token, "bag/a.mcap.info", 0).status_code == 201
    assert sidecar_keys(s3) == {"caf%E9/f%FF.txt", "caf%EF%BF%BD/f%FF.txt",
                                "caf%E9/bag/a.mcap", "caf%E9/bag/a.mcap%2Einfo"}
    listed = os.fsdecode(fleet_command(s3, fleet_db, "list").stdout).splitlines()
    assert sorted(line.split("\t")[0] for line in listed) == sorted(
        [os.fsdecode(latin)] * 3 + ["caf\ufffd"])
    huge = create(ingest.url, token, "big.bin", 6 * 10**12)
    assert huge.status_code == 413 and "INGEST_MAX_UPLOAD_BYTES" in huge.text


def test_an_empty_file_arrives_is_listed_and_downloads(tmp_path, s3, fleet_db, ingest,
                                                        monkeypatch):
    """A robot's real uploader syncs an empty file beside a small one: both arrive (the
    empty one with the digest of nothing), are listed, download, and leave the robot."""
    source, files = aged_files(tmp_path, 1000, count=1)
    (source / "empty.txt").write_bytes(b"")
    past = time.time() - 60
    os.utime(source / "empty.txt", (past, past))
    monkeypatch.setenv("DATA_MANAGER_API_KEY", robot_token(s3, fleet_db, "robot7"))
    sync, log = manager(tmp_path, ingest.url, additional_sync_paths=[str(source)])
    try:
        sync_until_done(sync, source, log)
    finally:
        sync.close()
    assert s3.bucket().get("robot7/logs/empty.txt") == b""
    listed = fleet_command(s3, fleet_db, "list").stdout.decode()
    assert "\t0 B\trobot7/logs/empty.txt" in listed
    local = fleet_command(s3, fleet_db, "download", "robot7/logs",
                          str(tmp_path / "down")).stdout.decode().strip()
    assert (tmp_path / "down" / "logs" / "empty.txt").read_bytes() == b""
    assert local.endswith("logs")
    empty_digest = f"blake3:{HASHERS['blake3']().hexdigest()}"
    assert json.loads(s3.bucket().get(".meta/robot7/logs/empty.txt.json"))[
        "digest"] == empty_digest


def test_a_file_over_the_ingests_largest_is_kept_on_the_robot_with_the_reason(
        tmp_path, s3, fleet_db, monkeypatch):
    ingest = Ingest(s3, fleet_db, INGEST_MAX_UPLOAD_BYTES="1000").start()
    try:
        source, _ = aged_files(tmp_path, 5000, count=1)
        monkeypatch.setenv("DATA_MANAGER_API_KEY", robot_token(s3, fleet_db, "robot7"))
        sync, log = manager(tmp_path, ingest.url, additional_sync_paths=[str(source)])
        try:
            sync.sweep()
            failed = source / "failed"
            deadline = time.monotonic() + 30
            while not (failed / "f0.bin.reason.txt").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            sync.close()
        assert len((failed / "f0.bin").read_bytes()) == 5000
        assert "INGEST_MAX_UPLOAD_BYTES" in (failed / "f0.bin.reason.txt").read_text()
    finally:
        ingest.kill()


def hostile_bucket(s3) -> dict[str, bytes]:
    """Objects and sidecars nobody's ingest wrote; returns the one good file."""
    bucket = s3.bucket()
    bucket.create()
    good = b"a good file"
    digest = f"blake3:{HASHERS['blake3'](good).hexdigest()}"

    def put(key: str, data: bytes, sidecar: bytes | None = None) -> None:
        bucket.put(key, data)
        record = json.dumps({"key": key, "size": len(data), "digest": digest, "metadata": {}})
        bucket.put(f".meta/{key}.json", record.encode() if sidecar is None else sidecar)

    put("evil/bag/good.txt", good)
    put("evil/bag/%2E%2E/%2E%2E/PWNED", good)
    put("evil/bag/a%2Fb", good)
    put("evil/bag/nul%00", good)
    put("evil/bag/x", good, b"{not json")
    put("evil/bag/y", good, b'{"key": "evil/bag/y", "digest": "blake3:00"}')
    put("evil/bag/z", good, b'{"key": "other/bag/z", "size": 1, "digest": "%s"}'
        % digest.encode())
    put("evil/bag/w", good, b"[1, 2]")
    bucket.put(".meta/evil/bag/stray.txt", b"not a sidecar")
    return {"good.txt": good}


def test_download_and_reindex_of_a_hostile_bucket_write_nothing_outside_and_skip_in_words(
        tmp_path, s3, fleet_db):
    expected = hostile_bucket(s3)
    target = tmp_path / "deep" / "down"
    target.mkdir(parents=True)
    result = fleet_command(s3, fleet_db, "download", "evil/bag", str(target), check=False)
    assert result.returncode == 1
    written = {os.path.relpath(os.path.join(d, n), tmp_path)
               for d, _, names in os.walk(tmp_path) for n in names}
    assert written == {f"deep/down/bag/{name}" for name in expected}
    stderr = result.stderr.decode()
    for words in ("'..' which climbs", "contains '/'", "contains a NUL byte", "is not JSON",
                  "size None", "describes key 'other/bag/z'", "is not a JSON object",
                  "stray.txt' under .meta/ is no sidecar"):
        assert words in stderr.replace("is '..', which", "'..' which"), (words, stderr)
    Ingest(s3, fleet_db).start().kill()  # the catalog's schema, as a deployment has it
    reindex = fleet_command(s3, fleet_db, "reindex", check=False)
    assert reindex.returncode == 1 and b"is not JSON" in reindex.stderr
    listing = fleet_command(s3, fleet_db, "list")
    assert [line.split("\t")[5] for line in listing.stdout.decode().splitlines()] == [
        "evil/bag/good.txt"]
    for bag in ("evil/..", "../bag", "evil/", "/bag"):
        refused = fleet_command(s3, fleet_db, "download", bag, str(target), check=False)
        assert refused.returncode == 1 and b"give ROBOT/BAG" in refused.stderr


def test_two_instances_lock_one_upload_create_one_key_once_and_answer_a_lost_store_404(
        s3, fleet_db):
    """Two ingests on one bucket and one database. A PATCH through B while A receives the
    same upload: one of them is refused (409/423) or ended, and the upload resumes to a
    whole object. Ten creations of one key on both at once leave one multipart upload.
    The bucket emptied behind their backs (and an object gone whose state says finished):
    both answer 404, without a restart, and the file can be sent again."""
    a = Ingest(s3, fleet_db).start()
    b = Ingest(s3, fleet_db).start()
    try:
        token = robot_token(s3, fleet_db, "robot7")
        data = os.urandom(24 << 20)
        location = create(a.url, token, "bag/big.mcap", len(data)).headers["Location"]
        via_b = location.replace(str(a.port), str(b.port))

        def slowly():
            for start in range(0, len(data), 1 << 20):
                yield data[start:start + (1 << 20)]
                time.sleep(0.2)

        answers: dict[str, int | str] = {}

        def send_a():
            try:
                answers["a"] = patch(location, token, 0, slowly()).status_code
            except requests.RequestException as error:
                answers["a"] = type(error).__name__

        sender = threading.Thread(target=send_a)
        sender.start()
        time.sleep(1.0)  # A holds the upload's lock, receiving
        answers["b"] = patch(via_b, token, 0, data).status_code
        sender.join(120)
        # B asked A to let go (NOTIFY): A's PATCH ended early with what it had received,
        # and B's, at an offset that no longer held, was refused
        assert answers["b"] in (409, 423) and answers["a"] in (204, "ConnectionError"), answers
        head = requests.head(location, headers=tus_headers(token), timeout=30)
        assert int(head.headers["Upload-Offset"]) < len(data)
        for _ in range(20):  # resume from wherever the server says, through either
            head = requests.head(via_b, headers=tus_headers(token), timeout=30)
            offset = int(head.headers["Upload-Offset"])
            if offset == len(data):
                break
            patch(location, token, offset, data[offset:])
        assert s3.bucket().get("robot7/bag/big.mcap") == data
        assert "robot7/bag/big.mcap" in sidecar_keys(s3)

        results = []

        def create_on(server):
            results.append(create(server.url, token, "bag/same.mcap", 4).status_code)

        creators = [threading.Thread(target=create_on, args=(server,))
                    for server in (a, b) * 5]
        for thread in creators:
            thread.start()
        for thread in creators:
            thread.join(60)
        assert results.count(201) >= 1 and set(results) <= {201, 423}, results
        uploads = s3.client().list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
        assert [u["Key"] for u in uploads] == ["robot7/bag/same.mcap"]
        same = a.url + "cm9ib3Q3L2JhZy9zYW1lLm1jYXA"  # base64url of the key
        assert patch(same.replace(str(a.port), str(b.port)), token, 0, b"same").status_code \
            == 204
        assert s3.bucket().get("robot7/bag/same.mcap") == b"same"

        half = create(a.url, token, "bag/half.mcap", 16 << 20).headers["Location"]
        assert patch(half, token, 0, data[:10 << 20]).status_code == 204
        s3.client().delete_object(Bucket=BUCKET, Key="robot7/bag/big.mcap")  # state: finished
        s3.client().delete_object(Bucket=BUCKET, Key=".meta/robot7/bag/big.mcap.json")
        s3.empty()
        for url in (half, via_b, location):
            assert requests.head(url, headers=tus_headers(token), timeout=30).status_code == 404
        s3.client().put_object(Bucket=BUCKET, Key="robot7/bag/big.mcap.info", Body=b"{}")
        again = create(b.url, token, "bag/big.mcap", len(data)).headers["Location"]
        assert patch(again, token, 0, data).status_code == 204
        assert s3.bucket().get("robot7/bag/big.mcap") == data
    finally:
        a.kill()
        b.kill()
