"""A configuration the upload side cannot use (an API key with a control character, a key file
that cannot be read, a CA bundle with no certificate) is one clear error where the config is
applied: a live change is refused with the reason, and at start capture runs while
/diagnostics says ERROR naming the setting. Never an upload process crash loop."""

from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

from helpers.processes import NodeProcess, stopped_after, wait_for, write_config
from helpers.ros_client import ros_client

KEY = "s3cret-key"


def test_a_bad_key_at_start_is_one_error_in_diagnostics_and_live_changes_are_refused(tmp_path):
    path = write_config(str(tmp_path / "dm.yaml"), {"gps1": [{"method": "Position"}]},
                        capture_dir=str(tmp_path / "capture"), api_key_env="DM_KEY",
                        sync_url=f"file://{tmp_path / 'cloud'}")
    node = NodeProcess(path, str(tmp_path / "node.log"), env={"DM_KEY": KEY + "\r"}).start()
    bad_key = tmp_path / "key"
    bad_key.write_text("line one\nline two\n")
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    with stopped_after(node):
        with ros_client() as client:
            array = client.next_message(DiagnosticArray, "/diagnostics", lambda m: any(
                s.name.endswith(": sync") and s.level == DiagnosticStatus.ERROR
                for s in m.status), timeout=30)
            started = time.monotonic()
            refusals = {name: client.set(name, value) for name, value in (
                ("api_key_file", str(bad_key)), ("api_key_file", str(tmp_path / "missing")),
                ("ca_bundle", str(not_pem)))}
            wait_for(lambda: time.monotonic() - started > 3, 10, "a few reports more")
    [sync] = [s for s in array.status if s.name.endswith(": sync")]
    assert "configuration: the API key in environment variable 'DM_KEY' (api_key_env) " \
           "contains control characters" in sync.message
    assert not refusals["api_key_file"][0] and "cannot be read" in refusals["api_key_file"][1]
    assert not refusals["ca_bundle"][0] and "holds no usable CA certificate" in \
        refusals["ca_bundle"][1]
    log = node.log()
    assert "exited with code" not in log and log.count("sync configuration refused") == 1
    assert KEY not in log and KEY not in sync.message
