"""The fleet's catalog in PostgreSQL (``ingest/migrations/002_catalog.sql``): what arrived,
found by any filter in one indexed query instead of one GET per sidecar; what each bag was
said to hold, to tell complete from pending, dropped and missing; and ``reindex``, which
rebuilds it all from the bucket's sidecars through the same database functions the ingest
writes with."""

from __future__ import annotations

import datetime
import decimal
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml

from data_manager_ros.bag.metadata import TOP_KEY, parse
from data_manager_ros.fleet.keys import key_segment, segment_bytes
from data_manager_ros.fleet.sidecars import MAX_SIDECAR_BYTES, Stored, stored
from data_manager_ros.layout import DROPPED_FILE, METADATA_FILE
from data_manager_ros.tools.s3 import Bucket, S3Error

COLUMNS = ("key", "robot", "bag", "kind", "size", "digest", "start_ns", "end_ns",
           "message_count", "topics", "types", "topic_counts", "tags", "methods",
           "clip_reasons", "custom_data", "track")


@dataclass(frozen=True)
class Filters:
    robot: str | None = None
    since: int | None = None  # ns: files that end at or after it
    until: int | None = None  # ns: files that start at or before it
    topic: str | None = None
    type: str | None = None
    tag: str | None = None
    kind: str | None = None
    reason: str | None = None  # an incident clip's reason
    custom: tuple[tuple[str, str], ...] = ()  # custom_data key=value pairs, all of them

    def where(self) -> tuple[str, list[object]]:
        """The SQL condition and its values: every filter an indexed one."""
        terms: list[str] = ["TRUE"]
        values: list[object] = []
        if self.robot is not None:
            terms.append("robot = %s")
            values.append(key_segment(self.robot))
        if self.since is not None or self.until is not None:
            # a file with no time range (not a bag file) is in no window. One robot's files:
            # by (robot, end_ns); every robot's: by the GiST index of the ranges
            terms.append("start_ns IS NOT NULL AND " + (
                "end_ns >= %s AND start_ns <= %s" if self.robot is not None else
                "int8range(start_ns, end_ns, '[]') && int8range(%s, %s, '[]')"))
            values += ([-2**63 if self.since is None else self.since,
                        2**63 - 1 if self.until is None else self.until]
                       if self.robot is not None else [self.since, self.until])
        for column, value in (("topics", self.topic), ("types", self.type),
                              ("tags", self.tag), ("clip_reasons", self.reason)):
            if value is not None:
                terms.append(f"{column} @> ARRAY[%s]")
                values.append(value)
        if self.kind is not None:
            terms.append("kind = %s")
            values.append(self.kind)
        if self.custom:
            terms.append("custom_data @> %s::jsonb")
            values.append(json.dumps(dict(self.custom)))
        return " AND ".join(terms), values


@dataclass(frozen=True)
class BagState:
    robot: str  # key segments, as the catalog keeps them
    bag: str
    expected: tuple[str, ...] | None  # None: metadata.yaml has not arrived
    arrived: tuple[str, ...]
    dropped: tuple[str, ...]
    missing: tuple[str, ...] = ()  # arrived once, gone from the bucket since (verify)

    @property
    def pending(self) -> tuple[str, ...]:
        """Listed, not arrived, not dropped: still on the robot (or on its way)."""
        done = set(self.arrived) | set(self.dropped)
        return tuple(n for n in self.expected or () if n not in done)

    def line(self) -> str:
        files = [n for n in self.expected or () if n != METADATA_FILE]
        if self.expected is None:
            state = f"open or metadata.yaml pending: {len(self.arrived)} file(s) arrived"
        elif self.missing:
            state = f"missing {', '.join(self.missing)}"
        elif self.pending:
            state = (f"{len(files) - len(self.pending)} of {len(files)} files; pending "
                     f"{', '.join(self.pending)}")
        elif self.dropped:
            state = (f"{len(files) - len(self.dropped)} of {len(files)} files; dropped on "
                     f"the robot by its disk policy: {', '.join(self.dropped)}")
        else:
            state = "complete"
        return f"{self.robot}\t{self.bag}\t{state}"


class Catalog:
    def __init__(self, connection) -> None:
        self._db = connection

    def files(self, filters: Filters, limit: int | None = None) -> Iterator[dict]:
        where, values = filters.where()
        query = (f"SELECT {', '.join(COLUMNS)} FROM catalog_files WHERE {where} "
                 "ORDER BY robot, start_ns NULLS FIRST, key")
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        for row in self._db.execute(query, values):
            yield dict(zip(COLUMNS, row, strict=True))

    def count(self, filters: Filters) -> int:
        where, values = filters.where()
        return self._db.execute(f"SELECT count(*) FROM catalog_files WHERE {where}",
                                values).fetchone()[0]

    def bags(self, robot: str | None = None) -> list[BagState]:
        condition, values = (("WHERE every.robot = %s", [key_segment(robot)]) if robot
                             else ("", []))
        rows = self._db.execute(f"""
            SELECT robot, bag, b.expected_files, coalesce(b.dropped_files, '{{}}'),
                   coalesce(array_agg(split_part(f.key, '/', 3)) FILTER (WHERE f.key IS NOT NULL),
                            '{{}}')
            FROM (SELECT robot, bag FROM catalog_files WHERE bag IS NOT NULL
                  UNION SELECT robot, bag FROM catalog_bags) AS every
            LEFT JOIN catalog_bags AS b USING (robot, bag)
            LEFT JOIN catalog_files AS f USING (robot, bag)
            {condition}
            GROUP BY robot, bag, b.expected_files, b.dropped_files
            ORDER BY robot, bag""", values).fetchall()
        return [BagState(robot, bag, tuple(expected) if expected is not None else None,
                         tuple(sorted(arrived)), tuple(dropped))
                for robot, bag, expected, dropped, arrived in rows]

    def robots(self) -> list[tuple[str, datetime.datetime | None, int, int, int]]:
        """Each robot: when its last file arrived, the files and bytes arrived today (UTC),
        and how many of its bags are not complete (open, pending, or with files dropped on
        the robot: BagState's words, counted in the database over any number of files)."""
        return self._db.execute(f"""
            WITH every AS (SELECT DISTINCT robot, bag FROM catalog_files WHERE bag IS NOT NULL
                           UNION SELECT robot, bag FROM catalog_bags),
            incomplete AS (
                SELECT every.robot, count(*) AS bags FROM every
                LEFT JOIN catalog_bags AS b USING (robot, bag)
                WHERE b.expected_files IS NULL OR cardinality(b.dropped_files) > 0
                   OR EXISTS (SELECT 1 FROM unnest(b.expected_files) AS e(name)
                              WHERE e.name <> '{METADATA_FILE}' AND NOT EXISTS (
                                  SELECT 1 FROM catalog_files AS f
                                  WHERE f.key = every.robot || '/' || every.bag || '/' || e.name))
                GROUP BY every.robot),
            arrived AS (
                SELECT robot, max(finished) AS last,
                       count(*) FILTER (WHERE finished >= date_trunc('day', now(), 'UTC'))
                           AS files_today,
                       coalesce(sum(size) FILTER (
                           WHERE finished >= date_trunc('day', now(), 'UTC')), 0) AS bytes_today
                FROM catalog_files GROUP BY robot)
            SELECT robot, arrived.last, coalesce(arrived.files_today, 0),
                   coalesce(arrived.bytes_today, 0), coalesce(incomplete.bags, 0)
            FROM arrived FULL JOIN incomplete USING (robot) ORDER BY robot""").fetchall()

    def bag_files(self, robot: str, bag: str) -> list[dict]:
        """The files of one bag that arrived (robot and bag: key segments)."""
        rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM catalog_files "
                                "WHERE robot = %s AND bag = %s ORDER BY key", (robot, bag))
        return [dict(zip(COLUMNS, row, strict=True)) for row in rows]

    def record(self, item: Stored) -> None:
        self._db.execute("SELECT catalog_record_file(%s::jsonb)", (json.dumps(
            {"key": item.key, "size": item.size, "digest": item.digest,
             "metadata": item.metadata}),))

    def record_bag_file(self, item: Stored, body: bytes) -> None:
        """What metadata.yaml or the robot's record of dropped files says of its bag."""
        robot, bag, name = item.key.split("/")
        if name == METADATA_FILE:
            parsed = parse(body)
            info = parsed.get(TOP_KEY) if isinstance(parsed, dict) else None
            if isinstance(info, dict):
                self._db.execute("SELECT catalog_record_bag(%s, %s, %s::jsonb)",
                                 (robot, bag, json.dumps(info, default=str)))
        else:
            names = [n for n in body.decode("utf-8", "replace").splitlines() if n]
            self._db.execute("SELECT catalog_record_dropped(%s, %s, %s)", (robot, bag, names))

    def reindex(self, bucket: Bucket, problem: Callable[[str], None]) -> int:
        """Every sidecar of the bucket into the catalog again; returns how many files."""
        import psycopg

        count = 0
        for item in stored(bucket, "", problem):
            try:
                with self._db.transaction():
                    self.record(item)
                    parts = item.key.split("/")
                    if (len(parts) == 3 and parts[2] in (METADATA_FILE, DROPPED_FILE)
                            and item.metadata.get("kind") in ("bag", "clip")):
                        self.record_bag_file(item, bucket.get(item.key, MAX_SIDECAR_BYTES * 4))
                count += 1
            except (S3Error, ValueError, yaml.YAMLError, psycopg.DataError) as error:
                problem(f"{item.key}: not indexed ({error})")
        return count


def parse_time(text: str) -> int:
    """ISO 8601 (UTC unless it says otherwise) or seconds since the epoch, to the
    nanosecond (``1000000000.000000003``) → ns."""
    try:
        ns = int(decimal.Decimal(text) * 1_000_000_000)
    except (decimal.InvalidOperation, ValueError):  # not a number, NaN, infinity
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return int(moment.timestamp() * 1e9)
    if not -2**63 <= ns < 2**63:  # what the catalog's times are: a robot's time, in ns
        raise ValueError(f"{text!r} is no time the catalog holds: give ISO 8601 or seconds "
                         "since the epoch")
    return ns


def shown(segment: str) -> str:
    """A key segment as a person reads it."""
    return os.fsdecode(segment_bytes(segment))


def _iso(ns: int | None) -> str:
    return "-" if ns is None else datetime.datetime.fromtimestamp(
        ns / 1e9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def line(row: dict) -> str:
    """A file as `list` prints it: tab-separated, its key in the sixth column."""
    when = (f"{_iso(row['start_ns'])} .. {_iso(row['end_ns'])}" if row["start_ns"] is not None
            else "-")
    count = "-" if row["message_count"] is None else row["message_count"]
    return (f"{shown(row['robot'])}\t{row['kind']}\t{when}\t{count} msgs\t{row['size']} B\t"
            f"{row['key']}\t{','.join(row['topics'])}\t{','.join(row['tags'])}")
