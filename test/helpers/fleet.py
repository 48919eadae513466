"""A fleet's cloud side as real processes: moto's S3 API server and the ingest
(ingest/server.mjs: @tus/server + @tus/s3-store) in front of it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import requests

from data_manager_ros.tools.s3 import Bucket, Credentials
from helpers import REPO
from helpers.tus_server import KillableServer, free_port

INGEST_DIR = os.path.join(REPO, "ingest")
BUCKET = "fleet"
# moto takes any credentials; these stand for a deployment's
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "fleet-test", "AWS_SECRET_ACCESS_KEY": "fleet-secret",
               "AWS_REGION": "us-east-1"}


def _wait_listening(process: subprocess.Popen, what: str) -> None:
    line = process.stdout.readline()
    if not line.startswith("listening"):
        raise RuntimeError(f"{what} did not start: {line!r}")


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

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


class Ingest(KillableServer):
    """The reference ingest against ``s3``; ``kill``/``restart`` keep its port."""

    def __init__(self, s3: S3Server, api_key: str = "", port: int | None = None) -> None:
        if not os.path.isdir(os.path.join(INGEST_DIR, "node_modules", "@tus", "s3-store")):
            raise RuntimeError("the ingest is not installed: run `npm install` in ingest/ "
                               "(bash .ci/setup --test does)")
        self.port = port or free_port()
        self.env = {**os.environ, **CREDENTIALS, "INGEST_S3_BUCKET": BUCKET,
                    "INGEST_S3_ENDPOINT": s3.endpoint, "INGEST_PORT": str(self.port),
                    "INGEST_API_KEY": api_key, "INGEST_CREATE_BUCKET": "true"}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/files/"

    def start(self) -> Ingest:
        self.process = subprocess.Popen(["node", os.path.join(INGEST_DIR, "server.mjs")],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True, env=self.env)
        _wait_listening(self.process, "the ingest")
        return self

