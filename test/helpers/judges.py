"""Where the judges run: rosbag2 (rosbag2_py, `ros2 bag`), rosbag2_interfaces and the ros2 CLI
exist here only as Kilted builds (../shared/wheels). On the Kilted leg they load in the test's
own process. On the Jazzy leg (.ci/jazzy) they cannot, so they run from the Kilted venv
(``DM_KILTED_VENV``) in processes of their own and judge what the Jazzy node made: its bags,
its graph, its services and parameters. A test never skips for want of a judge."""

from __future__ import annotations

import importlib.util
import os
import pickle
import subprocess
import sys
from typing import Any

KILTED_VENV = os.environ.get("DM_KILTED_VENV", "")
IN_PROCESS = importlib.util.find_spec("rosbag2_py") is not None
AVAILABLE = IN_PROCESS or os.path.isfile(os.path.join(KILTED_VENV, "bin", "python"))
# what a ROS wheel's Python sets for itself when it starts; a Kilted Python started from a
# Jazzy one must not inherit Jazzy's, or it loads Jazzy's libraries
_WHEEL_ENVIRONMENT = ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE")


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a judge's process: the test's own where the judges load, else the
    Kilted venv's as .ci/env sets it."""
    out = dict(os.environ)
    if not IN_PROCESS:
        for name in _WHEEL_ENVIRONMENT:
            out.pop(name, None)
        out.update(AMENT_PREFIX_PATH=KILTED_VENV, ROS_DISTRO="kilted",
                   PATH=os.pathsep.join([os.path.join(KILTED_VENV, "bin"), out["PATH"]]))
    return {**out, **(extra or {})}


def ros2(*args: str) -> list[str]:
    """The command line of ``ros2 <args>`` from the judges' install."""
    return ["ros2" if IN_PROCESS else os.path.join(KILTED_VENV, "bin", "ros2"), *args]


def call(function: str, *args: Any) -> Any:
    """``helpers.judged.<function>(*args)``: in this process where the judges load, else run
    by the Kilted venv's Python (the same Python version: arguments and answer travel
    pickled)."""
    if IN_PROCESS:
        from helpers import judged

        return getattr(judged, function)(*args)
    python = os.path.join(KILTED_VENV, "bin", "python")
    result = subprocess.run([python, "-m", "helpers.judged", function], env=env(),
                            input=pickle.dumps(args), capture_output=True, timeout=600)
    if result.returncode != 0:
        raise AssertionError(f"the Kilted judge {function}{args} failed:\n"
                             f"{result.stderr.decode(errors='replace')}")
    return pickle.loads(result.stdout)


def main_of(module: str, *args: str) -> list[str]:
    """The command line of ``python -m <module> <args>`` in the judges' Python."""
    python = sys.executable if IN_PROCESS else os.path.join(KILTED_VENV, "bin", "python")
    return [python, "-m", module, *args]
