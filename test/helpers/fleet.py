"""A fleet's cloud side as real processes: moto's S3 API server and the ingest
(ingest/server.mjs: @tus/server + @tus/s3-store) in front of it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time

import requests

from data_manager_ros.tools.s3 import Bucket, Credentials
from helpers import REPO
from helpers.npm import npm_ready
from helpers.tus_server import KillableServer, free_port

INGEST_DIR = os.path.join(REPO, "ingest")
BUCKET = "fleet"
# moto takes any credentials; these stand for a deployment's
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "fleet-test", "AWS_SECRET_ACCESS_KEY": "fleet-secret",
               "AWS_REGION": "us-east-1"}


class S3Server:
    """moto in server mode on 127.0.0.1: a real S3 API over HTTP, kept in memory."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.endpoint, timeout=1)  # any answer: it serves
                return self
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start on port {self.port}") from None
                time.sleep(0.2)

    def bucket(self, name: str = BUCKET) -> Bucket:
        return Bucket(name, endpoint=self.endpoint,
                      credentials=Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                              CREDENTIALS["AWS_SECRET_ACCESS_KEY"]))

    def client(self):
        """boto3 (moto's own dependency): a second S3 client, for what a test does to the
        bucket behind the ingest's back."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def empty(self) -> None:
        """The store loses its state: every object and unfinished multipart upload gone."""
        client = self.client()
        for upload in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
            client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"],
                                          UploadId=upload["UploadId"])
        for key in self.bucket().keys():
            client.delete_object(Bucket=BUCKET, Key=key)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


class Ingest(KillableServer):
    """The reference ingest against ``s3``; ``kill``/``restart`` keep its port."""

    def __init__(self, s3: S3Server, database_url: str, port: int | None = None,
                 **settings: str) -> None:
        """``settings``: more of its environment (INGEST_MAX_UPLOAD_BYTES=...)."""
        npm_ready(INGEST_DIR, "@tus/s3-store")
        self.port = port or free_port()
        inherited = {k: v for k, v in os.environ.items() if k != "INGEST_API_KEY"}
        self.env = {**inherited, **CREDENTIALS, "INGEST_S3_BUCKET": BUCKET,
                    "INGEST_S3_ENDPOINT": s3.endpoint, "INGEST_PORT": str(self.port),
                    "INGEST_DATABASE_URL": database_url, "INGEST_CREATE_BUCKET": "true",
                    **settings}
        self.log_path = tempfile.mktemp(prefix="dm-ingest-", suffix=".log")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/files/"

    def start(self) -> Ingest:
        with open(self.log_path, "ab") as log:
            start = log.tell()
            self.process = subprocess.Popen(["node", os.path.join(INGEST_DIR, "server.mjs")],
                                            stdout=log, stderr=log, env=self.env)
        deadline = time.monotonic() + 30
        while "listening" not in self.output()[start:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the ingest did not start: {self.output()[start:]!r}")
            time.sleep(0.1)
        return self

    def output(self) -> str:
        """What it printed (refusals, repairs), every start's."""
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()


def fleet_env(s3: S3Server, database_url: str) -> dict[str, str]:
    """What `data_manager_fleet` reads: the ingest's bucket and database."""
    return {**os.environ, **CREDENTIALS, "INGEST_S3_BUCKET": BUCKET,
            "INGEST_S3_ENDPOINT": s3.endpoint, "INGEST_DATABASE_URL": database_url}


def fleet_command(s3: S3Server, database_url: str, *args: str,
                  check: bool = True) -> subprocess.CompletedProcess:
    """The real `data_manager_fleet` command, with the ingest's environment."""
    result = subprocess.run([sys.executable, "-m", "data_manager_ros.tools.fleet", *args],
                            capture_output=True, env=fleet_env(s3, database_url), timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result



def robot_token(s3: S3Server, database_url: str, robot: str | bytes) -> str:
    """A robot's token, issued the operator's way (`data_manager_fleet robots add`)."""
    result = fleet_command(s3, database_url, "robots", "add", os.fsdecode(robot))
    return result.stdout.decode().strip()


def tus_headers(token: str, **more: str) -> dict[str, str]:
    return {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}", **more}


def upload_metadata(**values: str | bytes) -> str:
    """An Upload-Metadata header, each value's bytes as given."""
    return ",".join(f"{name} {base64.b64encode(os.fsencode(value)).decode()}"
                    for name, value in values.items())


def create(url: str, token: str, path: str | bytes, size: int, **metadata: str | bytes
           ) -> requests.Response:
    """POST a new upload of ``size`` bytes for ``path``."""
    return requests.post(url, timeout=30, headers=tus_headers(
        token, **{"Upload-Length": str(size),
                  "Upload-Metadata": upload_metadata(relative_path=path, **metadata)}))


def patch(location: str, token: str, offset: int, body) -> requests.Response:
    return requests.patch(location, data=body, timeout=120, headers=tus_headers(
        token, **{"Upload-Offset": str(offset),
                  "Content-Type": "application/offset+octet-stream"}))


def record_file(database_url: str, key: str, size: int = 1, **metadata: str) -> None:
    """A finished file in the catalog, as the ingest writes one."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("SELECT catalog_record_file(%s::jsonb)", (json.dumps(
            {"key": key, "size": size, "digest": "blake3:" + "0" * 64,
             "metadata": metadata}),))


class FleetPages:
    """`data_manager_fleet web` on a port of its own, and a browser's GET with the token as
    the Basic password."""

    def __init__(self, s3: S3Server, database_url: str) -> None:
        self.port = free_port()
        self.env = fleet_env(s3, database_url)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FleetPages:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "data_manager_ros.tools.fleet", "web", "--listen",
             f"127.0.0.1:{self.port}"], stderr=subprocess.PIPE, text=True, env=self.env)
        line = self.process.stderr.readline()
        if "the fleet's pages on" not in line:
            raise RuntimeError(f"data_manager_fleet web did not start: {line}")
        return self

    def get(self, path: str, token: str | None) -> requests.Response:
        return requests.get(self.url + path, auth=("operator", token) if token else None,
                            timeout=60)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
