"""``data_manager_fleet``: robot credentials, what a fleet's bucket holds (found again by
robot, time, topic, tag and kind), and one bag downloaded into a directory that
``ros2 bag play`` plays.

The ingest (``ingest/server.mjs``) writes each finished file at ``<robot>/<path>`` and a
sidecar ``.meta/<robot>/<path>.json``; ``list`` and ``download`` read the sidecars, so they
show only files whose every byte and digest the ingest confirmed, and treat the bucket as
untrusted: a bad sidecar or a key that is no safe path is reported and skipped (exit 1),
never written outside the download directory. The bucket: INGEST_S3_BUCKET,
INGEST_S3_ENDPOINT (empty for AWS S3), INGEST_S3_REGION and the AWS_* credentials.
``robots`` and ``operators`` issue, rotate and revoke tokens in INGEST_DATABASE_URL.

    data_manager_fleet robots add|rotate|revoke ROBOT     (add, rotate: the token on stdout)
    data_manager_fleet robots list
    data_manager_fleet operators add|rotate|revoke|list [NAME]
    data_manager_fleet list [--robot R] [--since T] [--until T] [--topic T] [--tag T]
                            [--kind clip|bag|file]
    data_manager_fleet download ROBOT/BAG DIR
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys

from data_manager_ros.digest import parse
from data_manager_ros.fleet.credentials import ROLES, CredentialError, CredentialStore, connect
from data_manager_ros.fleet.keys import (
    UnsafeKey,
    key_parts,
    key_segment,
    local_path,
    name_problem,
    robot_id_problem,
)
from data_manager_ros.fleet.sidecars import Stored, stored
from data_manager_ros.tools.s3 import Bucket, S3Error


class Problems:
    """What was skipped, said as it happens on stderr; any makes the exit status 1."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, text: str) -> None:
        self.count += 1
        print(f"data_manager_fleet: skipped: {text}", file=sys.stderr)


def _when(text: str) -> int:
    """ISO 8601 (UTC unless it says otherwise) or seconds since the epoch → ns."""
    try:
        return int(float(text) * 1e9)
    except ValueError:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return int(moment.timestamp() * 1e9)


def matches(item: Stored, args: argparse.Namespace) -> bool:
    span = item.time_range
    return ((not args.robot or item.robot == args.robot)
            and (not args.kind or item.metadata.get("kind") == args.kind)
            and (not args.topic or args.topic in item.listed("topics"))
            and (not args.tag or args.tag in item.listed("tags"))
            and (args.since is None or (span is not None and span[1] >= args.since))
            and (args.until is None or (span is not None and span[0] <= args.until)))


def download(bucket: Bucket, bag: str, directory: str, problems: Problems) -> str:
    """Every file of ``ROBOT/BAG`` into ``directory/BAG``, each checked against its digest;
    returns the bag directory."""
    robot, _, name = bag.partition("/")
    for what, value, problem in (("robot", robot, robot_id_problem(os.fsencode(robot))),
                                 ("bag", name, name_problem(os.fsencode(name)))):
        if problem:
            raise S3Error(f"the {what} in {bag!r} ({value!r}) {problem}: give ROBOT/BAG as "
                          "`data_manager_fleet list` shows it")
    files = list(stored(bucket, f"{key_segment(robot)}/{key_segment(name)}/", problems))
    if not files:
        raise S3Error(f"no finished file of bag {name!r} of robot {robot!r} in bucket "
                      f"{bucket.name!r}; `data_manager_fleet list --robot {robot}` shows its bags")
    target = os.path.join(directory, name)
    os.makedirs(target, exist_ok=True)
    for item in files:
        try:
            path = local_path(target, key_parts(item.key)[2:])
        except UnsafeKey as error:
            problems(str(error))
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if bucket.download(item.key, path, parse(item.digest)[0]) != item.digest:
            raise S3Error(f"{item.key}: the download's digest differs from the ingest's "
                          f"({item.digest}); try again")
    if not os.path.exists(os.path.join(target, "metadata.yaml")):
        print(f"{target}: no metadata.yaml yet (the bag was still open when it was uploaded); "
              f"`ros2 bag reindex {target}` makes one", file=sys.stderr)
    return target


def credentials(args: argparse.Namespace) -> None:
    if not args.database:
        raise CredentialError("no database: give --database or set INGEST_DATABASE_URL (the "
                              "ingest's)")
    role = args.verb[:-1]
    with connect(args.database) as connection:
        store = CredentialStore(connection)
        if args.action == "list":
            for holder in store.holders(role):
                state = f"revoked {holder.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if holder.revoked_at \
                    else "live"
                print(f"{os.fsdecode(holder.subject)}\t{state}\t"
                      f"issued {holder.created_at:%Y-%m-%dT%H:%M:%SZ}")
            return
        if args.name is None:
            raise CredentialError(f"{args.verb} {args.action} needs the {role}'s name")
        subject = os.fsencode(args.name)
        problem = (robot_id_problem if role == "robot" else name_problem)(subject)
        if problem:
            raise CredentialError(f"{role} name {args.name!r} {problem}")
        if args.action == "revoke":
            store.revoke(role, subject)
            print(f"{role} {args.name}: token revoked", file=sys.stderr)
            return
        token = getattr(store, args.action)(role, subject)
        print(token)
        print(f"{role} {args.name}: its token, on stdout, is shown this once"
              + (" (put it in the robot's api_key_file)" if role == "robot" else ""),
              file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="data_manager_fleet",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", default=os.environ.get("INGEST_S3_BUCKET", ""))
    parser.add_argument("--endpoint", default=os.environ.get("INGEST_S3_ENDPOINT", ""),
                        help="S3 endpoint (MinIO, moto); empty for AWS S3")
    parser.add_argument("--region", default=os.environ.get(
        "INGEST_S3_REGION", os.environ.get("AWS_REGION", "us-east-1")))
    parser.add_argument("--database", default=os.environ.get("INGEST_DATABASE_URL", ""),
                        help="the fleet's PostgreSQL (robots, operators)")
    verbs = parser.add_subparsers(dest="verb", required=True)
    for role in ROLES:
        manage = verbs.add_parser(f"{role}s", help=f"{role} tokens: add, rotate, revoke, list")
        manage.add_argument("action", choices=["add", "rotate", "revoke", "list"])
        manage.add_argument("name", nargs="?")
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
    problems = Problems()
    try:
        if args.verb in ("robots", "operators"):
            credentials(args)
            return 0
        if not args.bucket:
            parser.error("no bucket: give --bucket or set INGEST_S3_BUCKET")
        bucket = Bucket(args.bucket, endpoint=args.endpoint, region=args.region)
        if args.verb == "list":
            prefix = f"{key_segment(args.robot)}/" if args.robot else ""
            for item in sorted(stored(bucket, prefix, problems), key=lambda s: (s.robot, s.key)):
                if matches(item, args):
                    print(item.line())
        else:
            print(download(bucket, args.bag, args.directory, problems))
    except (S3Error, CredentialError) as error:
        print(f"data_manager_fleet: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if problems.count else 0


if __name__ == "__main__":
    sys.exit(main())
