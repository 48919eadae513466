"""``data_manager_fleet web``: the fleet's pages (fleet/pages.py), served by a process of its
own beside the ingest, never in its upload path, so a slow page cannot hold an upload.

Behind the operator credential: HTTP Basic, the password an operator token (a browser asks
once and keeps it for the site; any user name). No token, an unknown or revoked one is
answered 401, a robot's 403: a robot reaches only its own uploads. Each request reads the
catalog (INGEST_DATABASE_URL) afresh, so what arrived a moment ago is on the next page; a
download or an export reads the bucket, and is streamed as a tar of the bag's directory.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import os
import tarfile
import tempfile
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from data_manager_ros.digest import parse
from data_manager_ros.fleet import pages
from data_manager_ros.fleet.catalog import Catalog, Filters, parse_time, shown
from data_manager_ros.fleet.credentials import CredentialError, CredentialStore, connect
from data_manager_ros.fleet.export import Window, export, rows_for
from data_manager_ros.tools.s3 import Bucket, S3Error

REALM = "data_manager fleet"
FOXGLOVE = "https://app.foxglove.dev/~/view"
MAX_ROWS = 1000


class Refused(Exception):
    def __init__(self, status: HTTPStatus, text: str) -> None:
        super().__init__(text)
        self.status = status


class FleetWeb(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], database: str,
                 bucket: Callable[[], Bucket] | None, viewer: str = FOXGLOVE) -> None:
        """``bucket``: None where none is configured (no downloads, exports or viewer links);
        ``viewer``: the Foxglove (or Lichtblick) page that opens a remote file."""
        super().__init__(address, Handler)
        self.database = database
        self._bucket = bucket
        self.viewer = viewer

    def bucket(self) -> Bucket:
        if self._bucket is None:
            raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, "no bucket is configured for these "
                          "pages: set INGEST_S3_BUCKET (and INGEST_S3_ENDPOINT) as for the ingest")
        return self._bucket()

    def viewer_links(self, files: list[dict]) -> dict[str, str]:
        """Each bag file's link that opens it in the viewer, through a URL of the bucket's
        that expires in an hour (the browser reads the object itself: the bucket must allow
        the viewer's origin, CORS)."""
        if self._bucket is None:
            return {}
        bucket = self._bucket()
        return {row["key"].rsplit("/", 1)[1]: f"{self.viewer}?ds=remote-file&ds.url="
                + urllib.parse.quote(bucket.presigned(row["key"]), safe="")
                for row in files if row["key"].endswith(".mcap")}


class Handler(BaseHTTPRequestHandler):
    server: FleetWeb

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass  # the operator's browsing is not the fleet's log

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        query = urllib.parse.parse_qs(url.query)
        try:
            with connect(self.server.database) as connection:
                self._authorize(CredentialStore(connection))
                self._route(Catalog(connection), parts, query)
        except Refused as refusal:
            self._text(refusal.status, str(refusal))
        except (CredentialError, S3Error) as error:
            self._text(HTTPStatus.BAD_GATEWAY, str(error))
        except ValueError as error:
            self._text(HTTPStatus.BAD_REQUEST, str(error))
        except BrokenPipeError:
            pass  # the browser went away mid-download

    def _authorize(self, store: CredentialStore) -> None:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        try:
            token = base64.b64decode(encoded, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            token = ""
        holder = store.holder_of(token) if scheme == "Basic" and token else None
        if holder is None:
            raise Refused(HTTPStatus.UNAUTHORIZED, "an operator token is needed: give it as "
                          "the password (`data_manager_fleet operators add NAME` issues one)")
        if holder[0] != "operator":
            raise Refused(HTTPStatus.FORBIDDEN, "a robot's token cannot read the fleet's "
                          "catalog: use an operator token")

    def _route(self, catalog: Catalog, parts: list[str], query: dict[str, list[str]]) -> None:
        if not parts:
            self._html(pages.robots_page(catalog.robots()))
        elif parts == ["files"]:
            rows = list(catalog.files(pages.filters_of(query), limit=MAX_ROWS + 1))
            self._html(pages.files_page(query, rows[:MAX_ROWS], len(rows) > MAX_ROWS))
        elif len(parts) == 2 and parts[0] == "robots":
            self._robot(catalog, parts[1], query)
        elif len(parts) in (3, 4) and parts[0] == "bags":
            robot, bag = parts[1], parts[2]
            files = catalog.bag_files(robot, bag)
            states = [s for s in catalog.bags(shown(robot)) if s.bag == bag]
            if not files and not states:
                raise Refused(HTTPStatus.NOT_FOUND, f"no bag {shown(bag)!r} of robot "
                              f"{shown(robot)!r} in the catalog")
            if len(parts) == 3:
                self._html(pages.bag_page(robot, bag, files, states[0] if states else None,
                                          self.server.viewer_links(files)))
            elif parts[3] == "download":
                self._tar(bag, lambda target: self._download(files, target))
            elif parts[3] == "export":
                self._tar(f"export_{bag}", lambda target: self._export(files, query, target))
            else:
                raise Refused(HTTPStatus.NOT_FOUND, f"no page {self.path}")
        else:
            raise Refused(HTTPStatus.NOT_FOUND, f"no page {self.path}")

    def _robot(self, catalog: Catalog, robot: str, query: dict[str, list[str]]) -> None:
        day_text = query.get("day", [""])[0]
        day = (datetime.date.fromisoformat(day_text) if day_text
               else datetime.datetime.now(datetime.timezone.utc).date())
        hour_text = query.get("hour", [""])[0]
        hour = int(hour_text) if hour_text else None
        if hour is not None and not 0 <= hour <= 23:
            raise ValueError(f"hour {hour} is no hour of a day: give 0 to 23")
        start, end = pages.window(day, hour)
        files = list(catalog.files(Filters(shown(robot), start, end - 1)))
        self._html(pages.robot_page(robot, day, hour, files, catalog.bags(shown(robot))))

    def _download(self, files: list[dict], target: str) -> None:
        """The bag's files as they arrived, each checked against the ingest's digest."""
        bucket = self.server.bucket()
        os.makedirs(target)
        for row in files:
            path = os.path.join(target, row["key"].rsplit("/", 1)[1])
            if bucket.download(row["key"], path, parse(row["digest"])[0]) != row["digest"]:
                raise S3Error(f"{row['key']}: the download's digest differs from the "
                              f"ingest's ({row['digest']}); try again")

    def _export(self, files: list[dict], query: dict[str, list[str]], target: str) -> None:
        since, until = (parse_time(query.get(k, [""])[0] or "0") for k in ("since", "until"))
        window = Window(since, until, frozenset(query.get("topic", [])))
        problems: list[str] = []
        export(self.server.bucket(), rows_for(files, window), window, target, problems.append)
        if problems:
            raise ValueError("; ".join(problems))

    def _tar(self, name: str, fill: Callable[[str], None]) -> None:
        """The bag ``fill`` writes into a directory, sent as ``name.tar``."""
        with tempfile.TemporaryDirectory(prefix="dm-fleet-web-") as work:
            target = os.path.join(work, os.path.basename(name) or "bag")
            fill(target)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/x-tar")
            self.send_header("Content-Disposition",
                             f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}.tar")
            self.end_headers()
            with tarfile.open(fileobj=self.wfile, mode="w|") as archive:
                archive.add(target, arcname=os.path.basename(target))

    def _html(self, text: str) -> None:
        body = text.encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _text(self, status: HTTPStatus, text: str) -> None:
        body = f"{status.value} {status.phrase}: {text}\n".encode()
        self.send_response(status)
        if status == HTTPStatus.UNAUTHORIZED:
            self.send_header("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
