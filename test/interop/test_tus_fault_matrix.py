"""The protocol fault matrix: at each tus step (OPTIONS, POST, HEAD, PATCH, DELETE), each of a
connection reset, a timeout, a 5xx answer and a malformed answer, against the real
@tus/server. The fault is injected where every request leaves the process
(``HttpSession.request``), for the first matching request, as the real exception a socket
raises or the real answer a server gives, so the server itself stays sound and the words
the operator sees are the client's own; HEAD and DELETE happen
only on a resume and on a replaced upload, so their cells first cut a PATCH (HEAD) or have
the server forget the upload (DELETE). Real faults of each column have tests of their own:
connection cuts and a killed server through the proxy, a server answering 503 every third
request, four malformed answers from a stub server, a PATCH that never gets an answer.

In every cell: no worker dies and no unexpected error is counted, the status or log names
the fault within 5 s, and both files reach the server exactly once (its ledger of verified
digests) and are deleted here.
"""

from __future__ import annotations

import threading
from email.message import Message
from typing import Any

import pytest

from data_manager_ros.sync.http_session import HttpSession, Response
from helpers.processes import wait_for
from helpers.sync_setup import (
    aged_files,
    assert_arrived_once,
    manager,
    reported,
    sync_until_done,
)

STEPS = ["OPTIONS", "POST", "HEAD", "PATCH", "DELETE"]
FAULTS = ["reset", "timeout", "5xx", "malformed"]
# what the operator must see of each fault (in the status's last error or the log)
NAMED = {"reset": "ConnectionResetError", "timeout": "TimeoutError", "5xx": "HTTP 503"}
MALFORMED = {  # an answer tus 1.0 does not allow, and what names it
    "POST": (201, {}, "sent no Location"),
    "HEAD": (200, {}, "without a valid Upload-Offset"),
    "PATCH": (204, {}, "without a valid Upload-Offset"),
    "DELETE": (200, {}, "terminate upload: HTTP 200"),
    # tus servers must list their extensions; an answer without them is read as "none", so
    # uploads go on without the checksum and termination extensions: nothing to report, and
    # the test sees the client take it so (None)
    "OPTIONS": (200, {}, None),
}


def _answer(status: int, headers: dict[str, str]) -> Response:
    fields = Message()
    for name, value in headers.items():
        fields[name] = value
    return Response(status, fields, "")


class Injector:
    """Wraps the session's one way out: the first request of ``step`` meets ``fault``; with a
    ``setup`` fault, the first PATCH meets that first (so that the step happens at all)."""

    def __init__(self, real: Any, step: str, fault: str, setup: str = "") -> None:
        self.real, self.step, self.fault, self.setup = real, step, fault, setup
        self.lock = threading.Lock()
        self.done: set[str] = set()

    def __call__(self, session: Any, method: str, url: str, *args: Any) -> Any:
        with self.lock:
            if self.setup and method == "PATCH" and "setup" not in self.done:
                self.done.add("setup")
                return self._inject(self.setup, method)
            due = method == self.step and "fault" not in self.done and (
                not self.setup or "setup" in self.done)
            if due:
                self.done.add("fault")
        if due:
            return self._inject(self.fault, method)
        return self.real(session, method, url, *args)

    def _inject(self, fault: str, method: str) -> Any:
        if fault == "reset":
            raise ConnectionResetError(104, "Connection reset by peer")
        if fault == "timeout":
            raise TimeoutError("timed out")
        if fault == "5xx":
            return _answer(503, {})
        if fault == "gone":  # the server forgot the upload: it is replaced by a new one
            return _answer(404, {})
        status, headers, _ = MALFORMED[method]
        return _answer(status, headers)


CELLS = [(step, fault) for step in STEPS for fault in FAULTS]


@pytest.mark.parametrize(("step", "fault"), CELLS, ids=[f"{s}-{f}" for s, f in CELLS])
def test_a_protocol_fault_at_each_step(step, fault, tmp_path, tus_server, monkeypatch):
    source, files = aged_files(tmp_path, 300_000)
    setup = {"HEAD": "reset", "DELETE": "gone"}.get(step, "")
    injector = Injector(HttpSession.request, step, fault, setup)

    def request(session: Any, method: str, url: str, *args: Any) -> Any:
        return injector(session, method, url, *args)

    monkeypatch.setattr(HttpSession, "request", request)
    sync, log = manager(tmp_path, tus_server.url, additional_sync_paths=[str(source)],
                        file_last_modified_millis=0, maximum_num_sync_threads=2)
    named = MALFORMED[step][2] if fault == "malformed" else NAMED[fault]
    try:
        sync.sweep()
        wait_for(lambda: "fault" in injector.done, 10, f"the {step} request")
        if named is not None:
            wait_for(lambda: named in reported(sync, log), 5,
                     f"the status or log to name {named!r}")
        sync_until_done(sync, source, log)
        if named is None:  # a server that lists no extension is taken at its word
            assert sync.uploader.destination._client.extensions() == set()
    finally:
        sync.close()
    assert_arrived_once(tus_server, files)
    if step == "DELETE":  # the upload it could not delete is named by the one that counts
        assert [u["metadata"]["supersedes"] for u in tus_server.completed()
                if "supersedes" in u["metadata"]] != []
