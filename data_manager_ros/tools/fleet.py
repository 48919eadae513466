"""``data_manager_fleet``: what a fleet's bucket holds, found again by robot, time, topic, tag
and kind, and one bag downloaded into a directory that ``ros2 bag play`` plays.

The ingest (``ingest/server.mjs``) writes each finished file at ``<robot>/<path>`` and a
sidecar ``.meta/<robot>/<path>.json`` with its upload metadata; this tool reads the
sidecars, so it lists only files whose every byte and digest the ingest confirmed. It takes
the ingest's environment: INGEST_S3_BUCKET, INGEST_S3_ENDPOINT (empty for AWS S3),
INGEST_S3_REGION, and the AWS_* credentials.

    data_manager_fleet list [--robot R] [--since T] [--until T] [--topic T] [--tag T]
                            [--kind clip|bag|file]
    data_manager_fleet download ROBOT/BAG DIR
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from data_manager_ros.digest import parse, tagged
from data_manager_ros.tools.s3 import Bucket, S3Error

META_PREFIX = ".meta/"


def key_path(key: str) -> str:
    """An object key back to the path it was made from (the ingest escapes each segment)."""
    return "/".join(os.fsdecode(unquote_to_bytes(part)) for part in key.split("/"))


def key_segment(name: str) -> str:
    """A path segment as the ingest escapes it in a key (letters, digits, ``_.-`` stay, any
    other byte is %XX, a segment of dots alone is escaped whole), so a robot's or a bag's
    sidecars are listed by their prefix instead of reading the whole bucket's."""
    escaped = "".join(chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_.-")
                      else f"%{b:02X}" for b in os.fsencode(name))
    return escaped.replace(".", "%2E") if set(escaped) == {"."} else escaped


@dataclass(frozen=True)
class Stored:
    """One finished file of the bucket, as its sidecar describes it."""

    key: str
    size: int
    digest: str  # data_manager_ros.digest's "<algorithm>:<hex>"
    metadata: dict[str, str]

    @property
    def robot(self) -> str:
        return self.metadata.get("robot_id", "")

    @property
    def time_range(self) -> tuple[int, int] | None:
        if "start_ns" not in self.metadata:
            return None
        return int(self.metadata["start_ns"]), int(self.metadata["end_ns"])

    def _listed(self, name: str) -> list[str]:
        return [v for v in self.metadata.get(name, "").split(",") if v]

    def matches(self, args: argparse.Namespace) -> bool:
        span = self.time_range
        return ((not args.robot or self.robot == args.robot)
                and (not args.kind or self.metadata.get("kind") == args.kind)
                and (not args.topic or args.topic in self._listed("topics"))
                and (not args.tag or args.tag in self._listed("tags"))
                and (args.since is None or (span is not None and span[1] >= args.since))
                and (args.until is None or (span is not None and span[0] <= args.until)))

    def line(self) -> str:
        span = self.time_range
        when = (f"{_iso(span[0])} .. {_iso(span[1])}" if span else "-")
        return (f"{self.robot}\t{self.metadata.get('kind', '?')}\t{when}\t"
                f"{self.metadata.get('message_count', '-')} msgs\t{self.size} B\t{self.key}\t"
                f"{self.metadata.get('topics', '')}\t{self.metadata.get('tags', '')}")


def _iso(ns: int) -> str:
    return datetime.datetime.fromtimestamp(ns / 1e9, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def stored(bucket: Bucket, prefix: str = "") -> Iterator[Stored]:
    for key in bucket.keys(META_PREFIX + prefix):
        record = json.loads(bucket.get(key))
        # sidecars from before BLAKE3 name a sha256 alone
        yield Stored(record["key"], int(record["size"]),
                     record.get("digest") or tagged(record["sha256"]),
                     dict(record.get("metadata") or {}))


def _when(text: str) -> int:
    """ISO 8601 (UTC unless it says otherwise) or seconds since the epoch → ns."""
    try:
        return int(float(text) * 1e9)
    except ValueError:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return int(moment.timestamp() * 1e9)


def download(bucket: Bucket, bag: str, directory: str) -> str:
    """Every file of ``ROBOT/BAG`` into ``directory/BAG``, each checked against its digest;
    returns the bag directory."""
    robot, _, name = bag.partition("/")
    files = list(stored(bucket, f"{key_segment(robot)}/{key_segment(name)}/"))
    if not files:
        raise S3Error(f"no finished file of bag {name!r} of robot {robot!r} in bucket "
                      f"{bucket.name!r}; `data_manager_fleet list --robot {robot}` shows its bags")
    target = os.path.join(directory, name)
    os.makedirs(target, exist_ok=True)
    for item in files:
        path = os.path.join(target, *key_path(item.key).split("/")[2:])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if bucket.download(item.key, path, parse(item.digest)[0]) != item.digest:
            raise S3Error(f"{item.key}: the download's digest differs from the ingest's "
                          f"({item.digest}); try again")
    if not os.path.exists(os.path.join(target, "metadata.yaml")):
        print(f"{target}: no metadata.yaml yet (the bag was still open when it was uploaded); "
              f"`ros2 bag reindex {target}` makes one", file=sys.stderr)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="data_manager_fleet",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", default=os.environ.get("INGEST_S3_BUCKET", ""))
    parser.add_argument("--endpoint", default=os.environ.get("INGEST_S3_ENDPOINT", ""),
                        help="S3 endpoint (MinIO, moto); empty for AWS S3")
    parser.add_argument("--region", default=os.environ.get(
        "INGEST_S3_REGION", os.environ.get("AWS_REGION", "us-east-1")))
    verbs = parser.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="finished files, one a line")
    listing.add_argument("--robot")
    listing.add_argument("--since", type=_when, help="ISO 8601 or epoch seconds")
    listing.add_argument("--until", type=_when, help="ISO 8601 or epoch seconds")
    listing.add_argument("--topic")
    listing.add_argument("--tag")
    listing.add_argument("--kind", choices=["clip", "bag", "file"])
    fetch = verbs.add_parser("download", help="one bag's files into a directory")
    fetch.add_argument("bag", help="ROBOT/BAG, as list shows it")
    fetch.add_argument("directory")
    args = parser.parse_args(argv)
    if not args.bucket:
        parser.error("no bucket: give --bucket or set INGEST_S3_BUCKET")
    try:
        bucket = Bucket(args.bucket, endpoint=args.endpoint, region=args.region)
        if args.verb == "list":
            prefix = f"{key_segment(args.robot)}/" if args.robot else ""
            for item in sorted(stored(bucket, prefix), key=lambda s: (s.robot, s.key)):
                if item.matches(args):
                    print(item.line())
        else:
            print(download(bucket, args.bag, args.directory))
    except S3Error as error:
        print(f"data_manager_fleet: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
