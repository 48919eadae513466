"""``data_manager_fleet``: robot credentials, what a fleet recorded (found by robot, time,
topic, type, tag, kind, clip reason and custom_data), whether each bag arrived whole, and
one bag downloaded into a directory that ``ros2 bag play`` plays.

The ingest (``ingest/server.mjs``) writes each finished file at ``<robot>/<path>``, its row
in the catalog (INGEST_DATABASE_URL) and a sidecar ``.meta/<robot>/<path>.json``. ``list``
and ``bags`` query the catalog; ``reindex`` rebuilds it from the sidecars; ``download``
reads the sidecars of one bag. The bucket is untrusted: a bad sidecar or a key that is no
safe path is reported and skipped (exit 1), never written outside the download directory.
The bucket: INGEST_S3_BUCKET, INGEST_S3_ENDPOINT (empty for AWS S3), INGEST_S3_REGION and
the AWS_* credentials.

    data_manager_fleet robots add|rotate|revoke ROBOT     (add, rotate: the token on stdout)
    data_manager_fleet robots list
    data_manager_fleet operators add|rotate|revoke|list [NAME]
    data_manager_fleet list [--robot R] [--since T] [--until T] [--topic T] [--type T]
                            [--tag T] [--kind clip|bag|file] [--reason R] [--custom K=V]
                            [--json] [--count]
    data_manager_fleet bags [--robot R] [--verify]
    data_manager_fleet reindex
    data_manager_fleet download ROBOT/BAG DIR
    data_manager_fleet export ROBOT --since T --until T [--topic T ...] DIR
    data_manager_fleet web [--listen HOST:PORT]     (the pages: robots, timelines, bags)
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace

from data_manager_ros.digest import parse
from data_manager_ros.fleet.catalog import BagState, Catalog, Filters, line, parse_time
from data_manager_ros.fleet.credentials import ROLES, CredentialError, CredentialStore, connect
from data_manager_ros.fleet.export import Window, bag_path, export, rows_for
from data_manager_ros.fleet.keys import (
    UnsafeKey,
    key_parts,
    key_segment,
    local_path,
    name_problem,
    robot_id_problem,
)
from data_manager_ros.fleet.sidecars import stored
from data_manager_ros.fleet.web import FOXGLOVE, FleetWeb
from data_manager_ros.tools.s3 import Bucket, S3Error


class Problems:
    """What was skipped, said as it happens on stderr; any makes the exit status 1."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, text: str) -> None:
        self.count += 1
        print(f"data_manager_fleet: skipped: {text}", file=sys.stderr)


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


def database(args: argparse.Namespace):
    if not args.database:
        raise CredentialError("no database: give --database or set INGEST_DATABASE_URL (the "
                              "ingest's)")
    return connect(args.database)


def _custom(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: give custom_data as KEY=VALUE")
    return key, value


def catalog(args: argparse.Namespace, the_bucket: Callable[[], Bucket],
            problems: Problems) -> None:
    with database(args) as connection:
        files = Catalog(connection)
        if args.verb == "export":
            slice_of(files, the_bucket(), args, problems)
        elif args.verb == "reindex":
            bucket = the_bucket()
            count = files.reindex(bucket, problems)
            print(f"{count} file(s) indexed from the sidecars of bucket {bucket.name!r}",
                  file=sys.stderr)
        elif args.verb == "bags":
            for state in files.bags(args.robot):
                if args.verify:
                    state = verified(state, the_bucket())
                print(state.line())
        else:
            filters = Filters(args.robot, args.since, args.until, args.topic, args.type,
                              args.tag, args.kind, args.reason, tuple(args.custom))
            if args.count:
                print(files.count(filters))
            else:
                rows = list(files.files(filters, limit=args.limit + 1 if args.limit else None))
                if args.limit and len(rows) > args.limit:
                    rows.pop()
                    print(f"data_manager_fleet: the first {args.limit} matching files (in "
                          "robot and time order); narrow the filters, or --limit 0 for all",
                          file=sys.stderr)
                if args.json:
                    json.dump(rows, sys.stdout)
                    print()
                else:
                    for row in rows:
                        print(line(row))


def slice_of(files: Catalog, bucket: Bucket, args: argparse.Namespace,
             problems: Problems) -> None:
    """One bag of a robot's messages in a window, read by ranges (fleet.export)."""
    window = Window(args.since, args.until, frozenset(args.topic))
    rows = rows_for(files.files(Filters(args.robot, args.since, args.until, kind="bag")),
                    window)
    if not rows:
        raise S3Error(f"no bag file of robot {args.robot!r} meets that window; "
                      f"`data_manager_fleet list --robot {args.robot}` shows what there is")
    target = bag_path(args.directory, args.robot, args.since, args.until)
    fetched = export(bucket, rows, window, target, problems)
    print(target)
    print(f"{sum(fetched.messages.values())} message(s) "
          f"({', '.join(f'{t} {n}' for t, n in sorted(fetched.messages.items()))}) from "
          f"{len(rows)} file(s); read {fetched.summary_bytes + fetched.chunk_bytes} bytes in "
          f"{fetched.requests} range request(s): summaries {fetched.summary_bytes}, chunks "
          f"{fetched.chunk_bytes}, of which chunks holding the slice {fetched.needed_bytes}",
          file=sys.stderr)


def verified(state: BagState, bucket: Bucket) -> BagState:
    """The bag with the files that arrived but are gone from the bucket since: missing."""
    gone = tuple(name for name in state.arrived
                 if not bucket.exists(f"{state.robot}/{state.bag}/{name}"))
    return replace(state, missing=gone)


def serve_pages(args: argparse.Namespace, the_bucket: Callable[[], Bucket]) -> None:
    """Until interrupted; the database is checked before the first page is asked for."""
    with database(args):
        pass
    host, _, port = args.listen.rpartition(":")
    server = FleetWeb((host or "127.0.0.1", int(port)), args.database,
                      the_bucket if args.bucket else None, args.viewer)
    # SIGINT stops it even when started in the background of a script, which ignores it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"data_manager_fleet: the fleet's pages on http://{args.listen}/ (an operator token "
          "as the password)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def credentials(args: argparse.Namespace) -> None:
    role = args.verb[:-1]
    with database(args) as connection:
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
    listing = verbs.add_parser("list", help="finished files, one a line, from the catalog")
    listing.add_argument("--robot")
    listing.add_argument("--since", type=parse_time, help="ISO 8601 or epoch seconds")
    listing.add_argument("--until", type=parse_time, help="ISO 8601 or epoch seconds")
    listing.add_argument("--topic")
    listing.add_argument("--type", help="a message type, e.g. sensor_msgs/msg/NavSatFix")
    listing.add_argument("--tag")
    listing.add_argument("--kind", choices=["clip", "bag", "file"])
    listing.add_argument("--reason", help="an incident clip's reason")
    listing.add_argument("--custom", type=_custom, action="append", default=[],
                         metavar="KEY=VALUE", help="custom_data; repeat for all of several")
    listing.add_argument("--json", action="store_true", help="one JSON array of rows")
    listing.add_argument("--count", action="store_true", help="only how many")
    listing.add_argument("--limit", type=int, default=1000,
                         help="at most this many files (default 1000; 0: all)")
    completeness = verbs.add_parser("bags", help="one line per bag: complete, pending, "
                                                 "dropped on the robot, missing")
    completeness.add_argument("--robot")
    completeness.add_argument("--verify", action="store_true",
                              help="check that every file that arrived is still in the bucket")
    verbs.add_parser("reindex", help="rebuild the catalog from the bucket's sidecars")
    piece = verbs.add_parser("export", help="one bag of a robot's messages in a window, "
                                            "fetched by range reads")
    piece.add_argument("robot")
    piece.add_argument("--since", type=parse_time, required=True, help="ISO 8601 or epoch seconds")
    piece.add_argument("--until", type=parse_time, required=True, help="ISO 8601 or epoch seconds")
    piece.add_argument("--topic", action="append", default=[],
                       help="a topic to keep; repeat for several (default: every topic)")
    piece.add_argument("directory")
    serve = verbs.add_parser("web", help="the fleet's pages, behind an operator token")
    serve.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT")
    serve.add_argument("--viewer", default=FOXGLOVE, metavar="URL",
                       help="the Foxglove (or Lichtblick) page that opens a remote file "
                            f"(default {FOXGLOVE})")
    fetch = verbs.add_parser("download", help="one bag's files into a directory")
    fetch.add_argument("bag", help="ROBOT/BAG, as list shows it")
    fetch.add_argument("directory")
    args = parser.parse_args(argv)
    problems = Problems()
    try:
        if args.verb in ("robots", "operators"):
            credentials(args)
            return 0
        @functools.cache
        def the_bucket() -> Bucket:  # only the verbs that read the bucket need one
            if not args.bucket:
                parser.error("no bucket: give --bucket or set INGEST_S3_BUCKET")
            return Bucket(args.bucket, endpoint=args.endpoint, region=args.region)

        if args.verb == "download":
            print(download(the_bucket(), args.bag, args.directory, problems))
        elif args.verb == "web":
            serve_pages(args, the_bucket)
        else:
            catalog(args, the_bucket, problems)
    except (S3Error, CredentialError) as error:
        print(f"data_manager_fleet: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if problems.count else 0


if __name__ == "__main__":
    sys.exit(main())
