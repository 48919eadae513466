"""A real PostgreSQL server for the fleet tests: initdb into a temporary directory, listening
on 127.0.0.1 only, one database per test. PostgreSQL refuses to run as root, so as root it
runs as the `postgres` user (the Debian package's)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid

import psycopg

from helpers.tus_server import free_port


def _bindir() -> str:
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: `apt-get install postgresql` "
                           "(bash .ci/setup --test does)")
    return os.path.dirname(versions[-1])


class PostgresServer:
    def __init__(self) -> None:
        self.bindir = _bindir()
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="dm-pg-")
        self.data = os.path.join(self.directory, "data")
        self._as_postgres = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, os.path.join(self.bindir, command[0]), *command[1:]],
                       check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.directory, "log"), "-w",
                  "-o", f"-p {self.port} -h 127.0.0.1 -k {self.directory} -c fsync=off "
                  "-c max_connections=200", "start")
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
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
