"""The Node.js programs the tests run (the reference tus server, the fleet's ingest) install
their npm packages on first use, from their lockfiles, so a test run in a fresh clone or a
colcon workspace needs no step of its own beyond Node.js itself."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess


def npm_ready(directory: str, marker: str) -> None:
    """``directory``'s packages installed (``marker``: a path under node_modules that shows
    they are); installs them once, under a lock, with `npm install` from the lockfile."""
    if os.path.exists(os.path.join(directory, "node_modules", marker)):
        return
    if not shutil.which("node") or not shutil.which("npm"):
        raise RuntimeError(f"{directory} needs Node.js 20 or newer and npm (`apt-get install "
                           "nodejs npm`; rosdep installs them as test dependencies)")
    with open(os.path.join(directory, ".npm-install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(directory, "node_modules", marker)):
            return
        result = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=directory,
                                capture_output=True, text=True, timeout=600)
        if result.returncode:
            raise RuntimeError(f"npm install in {directory} failed: {result.stderr[-2000:]}")
