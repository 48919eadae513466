"""File digests: BLAKE3 for new files, SHA-256 still read from what was made before it (a
journal of the earlier schema, a digest without its algorithm's name)."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from data_manager_ros import digest
from data_manager_ros.sync.journal import Journal

# BLAKE3's published test vector for "abc"
ABC_BLAKE3 = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"


def test_a_file_gets_its_blake3_digest_and_a_sha256_one_on_request(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert digest.of_file(str(path), "blake3") == f"blake3:{ABC_BLAKE3}"
    assert digest.of_file(str(path), "sha256") == "sha256:" + hashlib.sha256(b"abc").hexdigest()


def test_a_digest_of_several_blocks_is_that_of_the_whole_file(tmp_path):
    data = bytes(range(256)) * 9000  # 2.2 blocks of 1 MiB
    path = tmp_path / "f"
    path.write_bytes(data)
    whole = digest.hasher("blake3")
    whole.update(data)
    assert digest.of_file(str(path), "blake3") == f"blake3:{whole.hexdigest()}"


def test_a_bare_hex_is_a_sha256_and_matches_in_its_own_algorithm(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    legacy = hashlib.sha256(b"abc").hexdigest()
    assert digest.parse(legacy) == ("sha256", legacy)
    assert digest.tagged(legacy) == f"sha256:{legacy}"
    assert digest.matches(str(path), legacy) and digest.matches(str(path), f"blake3:{ABC_BLAKE3}")
    path.write_bytes(b"abd")
    assert not digest.matches(str(path), legacy)
    assert not digest.matches(str(path), f"blake3:{ABC_BLAKE3}")


def test_an_unknown_algorithm_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown digest algorithm 'md4'; known: blake3, sha256"):
        digest.hasher("md4")


def test_a_journal_from_before_blake3_is_read_and_its_column_renamed(tmp_path):
    """The earlier schema named the column sha256 and held bare hex: an upload in flight
    then resumes with the digest it was created with."""
    path = str(tmp_path / "journal.sqlite")
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE uploads (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                "sha256 TEXT, upload_url TEXT, failures INTEGER, last_error TEXT)")
    old.execute("INSERT INTO uploads VALUES ('/c/a.mcap', 3, 7, 'ab12', 'http://s/files/1', 2, "
                "'cut')")
    old.commit()
    old.close()
    before = Journal(path, read_only=True)  # the status command, before an uploader ran
    assert before.get("/c/a.mcap").digest == "sha256:ab12"
    before.close()
    journal = Journal(path)
    entry = journal.get("/c/a.mcap")
    assert (entry.digest, entry.upload_url, entry.failures) == ("sha256:ab12",
                                                                "http://s/files/1", 2)
    journal.put(entry)
    journal.close()
    columns = [row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(uploads)")]
    assert columns[3] == "digest"
    assert sqlite3.connect(path).execute("SELECT digest FROM uploads").fetchone() == (
        "sha256:ab12",)
