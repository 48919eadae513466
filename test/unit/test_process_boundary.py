"""The folders are the architecture: the node side (``node``, ``capture``) and the upload
process (``sync``) load none of each other's code, in a fresh interpreter; they share only
``config``, ``bag``, ``wire`` and the small modules at the top of the package."""

from __future__ import annotations

import json
import subprocess
import sys

PACKAGE = "data_manager_ros"


def loaded_by(module: str) -> set[str]:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return set(json.loads(out.splitlines()[-1]))


def under(modules: set[str], *prefixes: str) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)}


def test_the_upload_process_loads_no_ros_node_or_capture_code():
    loaded = loaded_by(f"{PACKAGE}.sync.sync_worker")
    assert f"{PACKAGE}.sync.uploader" in loaded  # the check sees our modules at all
    assert under(loaded, "rclpy", f"{PACKAGE}.node", f"{PACKAGE}.capture") == set()
    assert under(loaded, "requests", "urllib3") == set()  # 16.6 MiB; http.client serves


def test_the_node_loads_no_upload_code():
    loaded = loaded_by(f"{PACKAGE}.node.data_manager_node")
    assert f"{PACKAGE}.wire" in loaded
    assert under(loaded, f"{PACKAGE}.sync", "requests", "sqlite3") == set()


def test_capture_is_plain_python():
    """Capture is tested as plain classes, and a mock writer or clock is all it needs."""
    loaded = loaded_by(f"{PACKAGE}.capture.engine")
    assert under(loaded, "rclpy", f"{PACKAGE}.node", f"{PACKAGE}.sync") == set()
