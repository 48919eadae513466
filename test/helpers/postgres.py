"""A real PostgreSQL server for the fleet tests (`.ci/postgres`: initdb into a temporary
directory, listening on 127.0.0.1 only), one database per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid

import psycopg

from helpers import REPO
from helpers.tus_server import free_port

SCRIPT = os.path.join(REPO, ".ci", "postgres")


class PostgresServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="dm-pg-")

    def _run(self, *args: str) -> None:
        result = subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True,
                                timeout=120)
        if result.returncode:
            raise RuntimeError(f"PostgreSQL ({' '.join(args[:1])}) failed: {result.stderr}; "
                               "is it installed? (`apt-get install postgresql`; bash .ci/setup "
                               "--test does)")

    def start(self) -> PostgresServer:
        self._run("start", self.directory, str(self.port))
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        name = f"fleet_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("stop", self.directory)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
