"""pytest fixtures over the helpers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from helpers import REPO
from helpers.tus_server import TusServer


@pytest.fixture
def tus_server(tmp_path):
    server = TusServer(str(tmp_path / "server")).start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def mixed_graph():
    """helpers/mixed_graph.py running for the module's tests."""
    process = subprocess.Popen([sys.executable,
                                os.path.join(REPO, "test", "helpers", "mixed_graph.py")])
    yield process
    process.send_signal(signal.SIGINT)
    process.wait(30)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (each test takes a database of its own)."""
    from helpers.postgres import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def fleet_db(postgres) -> str:
    """The URL of a new, empty fleet database."""
    return postgres.new_database()


@pytest.fixture
def s3():
    from helpers.fleet import S3Server

    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def ingest(s3, fleet_db):
    from helpers.fleet import Ingest

    server = Ingest(s3, fleet_db).start()
    yield server
    server.kill()
