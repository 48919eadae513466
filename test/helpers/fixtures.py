"""pytest fixtures over the helpers."""

from __future__ import annotations

import pytest

from helpers.tus_server import TusServer


@pytest.fixture
def tus_server(tmp_path):
    server = TusServer(str(tmp_path / "server")).start()
    yield server
    server.kill()
