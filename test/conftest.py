"""Isolation for every test run: its own ROS domain (the one given, else one picked per run),
localhost-only discovery, its own ROS_HOME."""

import os
import random
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# node and uploader processes started by tests run this tree too
os.environ["PYTHONPATH"] = os.pathsep.join(
    [REPO, os.path.join(REPO, "test"), *filter(None, [os.environ.get("PYTHONPATH")])])
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 200)))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
os.environ["ROS_HOME"] = tempfile.mkdtemp(prefix="dm-ros-home-")
os.environ.setdefault("HOME", os.environ["ROS_HOME"])

pytest_plugins = ["helpers.fixtures"]
LAYERS = ("unit", "node", "interop")  # test/<layer>/, each a marker of the same name


def pytest_collection_modifyitems(items: list) -> None:
    for item in items:
        layer = os.path.relpath(str(item.path), os.path.dirname(__file__)).split(os.sep)[0]
        if layer in LAYERS:
            item.add_marker(layer)


def pytest_sessionfinish(session, exitstatus) -> None:
    """In CI (CI=true) a skipped test is a failure: a launch, rosbag2 or tmpfs test that did
    not run proves nothing. Each is named, with why, by pytest's -rs summary."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; in CI a skip is a failure "
                            "(see the skip reasons above)", red=True)
        session.exitstatus = 1
