"""Robot and operator credentials in the fleet's PostgreSQL database (the ingest creates the
schema, ``ingest/migrations``): a token is shown once, when it is issued; only its SHA-256
is stored. Each robot has at most one live token, so rotating or revoking one robot never
touches another."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

SCHEMA_VERSION = 3  # the newest ingest/migrations file this code reads the tables of
ROLES = ("robot", "operator")


class CredentialError(RuntimeError):
    """A credential operation that cannot be done; says why and what would be right."""


@dataclass(frozen=True)
class Holder:
    role: str
    subject: bytes
    created_at: datetime
    revoked_at: datetime | None


def new_token(role: str) -> str:
    """32 random bytes, prefixed so a leaked token is recognised for what it is."""
    return f"dm{role[0]}_{secrets.token_urlsafe(32)}"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@contextmanager
def connect(url: str) -> Iterator:
    import psycopg  # the fleet's tools only: a robot never loads it

    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        raise CredentialError(f"cannot reach the fleet database at INGEST_DATABASE_URL "
                              f"({error})") from None
    with connection:
        try:
            row = connection.execute("SELECT max(version) FROM fleet_schema").fetchone()
            version = row[0] if row else None
        except psycopg.errors.UndefinedTable:
            version = None
        if version is None or version < SCHEMA_VERSION:
            raise CredentialError(f"the fleet database has schema version {version}, this tool "
                                  f"needs {SCHEMA_VERSION}: start the ingest once against it "
                                  "(it migrates INGEST_DATABASE_URL at start)")
        yield connection


class CredentialStore:
    def __init__(self, connection) -> None:
        self._db = connection

    def _live(self, role: str, subject: bytes) -> bool:
        return self._db.execute(
            "SELECT 1 FROM fleet_credentials WHERE role = %s AND subject = %s "
            "AND revoked_at IS NULL", (role, subject)).fetchone() is not None

    def add(self, role: str, subject: bytes) -> str:
        """A first token for ``subject``; refused if it has a live one (rotate that)."""
        import psycopg

        token = new_token(role)
        try:
            with self._db.transaction():
                self._db.execute("INSERT INTO fleet_credentials (token_sha256, role, subject) "
                                 "VALUES (%s, %s, %s)", (_hash(token), role, subject))
        except psycopg.errors.UniqueViolation:
            raise CredentialError(f"{role} {subject!r} has a live token already: `rotate` it "
                                  "to issue a new one") from None
        return token

    def rotate(self, role: str, subject: bytes) -> str:
        """A new token for ``subject``; its old one stops working in the same transaction."""
        token = new_token(role)
        with self._db.transaction():
            if not self._revoke(role, subject):
                raise CredentialError(f"{role} {subject!r} has no live token: `add` it")
            self._db.execute("INSERT INTO fleet_credentials (token_sha256, role, subject) "
                             "VALUES (%s, %s, %s)", (_hash(token), role, subject))
        return token

    def revoke(self, role: str, subject: bytes) -> None:
        with self._db.transaction():
            if not self._revoke(role, subject):
                raise CredentialError(f"{role} {subject!r} has no live token to revoke")

    def _revoke(self, role: str, subject: bytes) -> bool:
        return self._db.execute(
            "UPDATE fleet_credentials SET revoked_at = now() WHERE role = %s AND subject = %s "
            "AND revoked_at IS NULL", (role, subject)).rowcount > 0

    def holders(self, role: str) -> list[Holder]:
        """Every robot (or operator) ever issued a token, its newest token's state."""
        rows = self._db.execute(
            "SELECT DISTINCT ON (subject) role, subject, created_at, revoked_at "
            "FROM fleet_credentials WHERE role = %s "
            "ORDER BY subject, revoked_at IS NULL DESC, created_at DESC", (role,)).fetchall()
        return [Holder(role, bytes(subject), created, revoked)
                for role, subject, created, revoked in rows]

    def holder_of(self, token: str) -> tuple[str, bytes] | None:
        """(role, subject) of a live token, looked up by its hash as the ingest does."""
        row = self._db.execute("SELECT role, subject FROM fleet_credentials WHERE "
                               "token_sha256 = %s AND revoked_at IS NULL",
                               (_hash(token),)).fetchone()
        return (row[0], bytes(row[1])) if row else None
