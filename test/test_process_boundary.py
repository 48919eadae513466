"""The node and its upload process share only process_boundary (and config, layout, fsutil):
each loads none of the other's code, in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

CAPTURE_SIDE = {"data_manager_ros.capture_engine", "data_manager_ros.bag_writer",
                "data_manager_ros.mcap_file", "data_manager_ros.bag_recovery",
                "data_manager_ros.topic_recorder", "data_manager_ros.node", "rclpy"}
UPLOAD_SIDE = {"requests", "sqlite3", "data_manager_ros.sync.uploader",
               "data_manager_ros.sync.sync_manager", "data_manager_ros.sync.tus_client"}


def loaded_by(module: str) -> set[str]:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_the_upload_worker_loads_no_capture_code():
    assert not loaded_by("data_manager_ros.sync.sync_worker") & CAPTURE_SIDE


def test_the_node_loads_no_upload_code():
    loaded = loaded_by("data_manager_ros.node")
    assert "data_manager_ros.process_boundary" in loaded  # the check sees our modules at all
    assert not loaded & UPLOAD_SIDE
