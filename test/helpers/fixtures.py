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
