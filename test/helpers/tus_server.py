"""Runs the reference tus server (test/tus_server) as a real process that tests can kill."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

from helpers.npm import npm_ready

SERVER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "tus_server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class KillableServer:
    """A server process a test SIGKILLs and starts again on the same port (``start`` raises
    RuntimeError while the port is not free yet)."""

    process: subprocess.Popen | None

    def start(self) -> KillableServer:
        raise NotImplementedError

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def restart(self) -> None:
        self.kill()
        deadline = time.monotonic() + 10
        while True:
            try:
                self.start()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


class TusServer(KillableServer):
    def __init__(self, directory: str, port: int | None = None, api_key: str = "",
                 fail_every: int = 0, max_size: int = 0, checksum: bool = False,
                 tls: bool = False) -> None:
        """``checksum``: offer the tus checksum extension (as tusd does); ``tls``: serve https
        with a certificate of its own (``certificate``), as behind a private CA."""
        npm_ready(SERVER_DIR, "@tus/server")
        self.directory = directory
        self.port = port or free_port()
        self.api_key = api_key
        self.fail_every = fail_every
        self.max_size = max_size
        self.checksum = checksum
        self.certificate = os.path.join(directory, "tls", "cert.pem") if tls else ""
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.certificate else 'http'}://127.0.0.1:{self.port}/files/"

    def start(self) -> TusServer:
        command = ["node", os.path.join(SERVER_DIR, "server.mjs"), "--dir", self.directory,
                   "--port", str(self.port), "--fail-every", str(self.fail_every),
                   "--max-size", str(self.max_size)]
        if self.api_key:
            command += ["--api-key", self.api_key]
        if self.checksum:
            command.append("--checksum")
        if self.certificate:
            key = self._make_certificate()
            command += ["--tls-cert", self.certificate, "--tls-key", key]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening"):
            raise RuntimeError(f"tus server did not start: {line!r}")
        return self

    def _make_certificate(self) -> str:
        """A self-signed certificate for 127.0.0.1 (its own CA); returns the key's path."""
        key = os.path.join(os.path.dirname(self.certificate), "key.pem")
        if not os.path.exists(self.certificate):
            os.makedirs(os.path.dirname(self.certificate), exist_ok=True)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                            "subjectAltName=IP:127.0.0.1", "-keyout", key,
                            "-out", self.certificate], check=True, capture_output=True)
        return key

    def completed(self) -> list[dict]:
        """Finished uploads whose digest the server verified, in order."""
        ledger = os.path.join(self.directory, "completed.jsonl")
        if not os.path.exists(ledger):
            return []
        with open(ledger, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def unfinished(self) -> list[str]:
        """Uploads the server keeps that never finished: garbage, once nothing is in flight."""
        done = {upload["id"] for upload in self.completed()}
        return sorted(name[:-len(".json")] for name in os.listdir(self.directory)
                      if name.endswith(".json") and name[:-len(".json")] not in done)

    def stored(self, upload_id: str) -> bytes:
        with open(os.path.join(self.directory, upload_id), "rb") as handle:
            return handle.read()
