"""proxy.py (PyPI), a real HTTP forward proxy (CONNECT for https), as a process on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from helpers.processes import wait_for


class ForwardProxy:
    """What a robot behind a site proxy has between it and the cloud; its access log tells a
    test which requests went through it."""

    def __init__(self, directory: str, credentials: str = "") -> None:
        """``credentials``: ``user:password`` the proxy demands (Basic), none if empty."""
        os.makedirs(directory, exist_ok=True)
        self.credentials = credentials
        self._port_file = os.path.join(directory, "port")
        self._log_file = os.path.join(directory, "access.log")
        self.process: subprocess.Popen | None = None

    def start(self) -> ForwardProxy:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
             "--port-file", self._port_file, "--log-file", self._log_file,
             "--num-acceptors", "1", "--threaded",
             *(["--basic-auth", self.credentials] if self.credentials else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)  # its acceptors are forked processes: killed as a group
        wait_for(lambda: bool(self._port()), 30, "proxy.py to listen")
        return self

    def _port(self) -> str:
        try:
            with open(self._port_file, encoding="utf-8") as handle:
                return handle.read().strip()
        except FileNotFoundError:
            return ""

    def url(self) -> str:
        login = f"{self.credentials}@" if self.credentials else ""
        return f"http://{login}127.0.0.1:{self._port()}"

    def requests(self) -> list[str]:
        """The access log's requests, as ``METHOD host:port[/path]``."""
        with open(self._log_file, encoding="utf-8") as handle:
            return [line.split(" - ")[3] for line in handle if "access_log" in line]

    def kill(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
