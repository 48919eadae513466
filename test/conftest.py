"""Isolation for every test run: its own ROS domain (the one given, else one picked per run),
localhost-only discovery, its own ROS_HOME."""

import importlib.util
import inspect
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
# what only the Kilted builds of ../shared/wheels give. A test reaches rosbag2 and the ros2 CLI
# through helpers/judges.py, which runs them from the Kilted venv on the Jazzy leg; a module
# that imports a judge itself (rosbag2_py's writer API, the launch layer) cannot be collected
# where they do not load, and is left to the Kilted leg by name
JUDGES = ("rosbag2_py", "launch_testing", "import launch")
JUDGES_LOAD = all(importlib.util.find_spec(name) is not None
                  for name in ("rosbag2_py", "launch_testing"))
LEFT_TO_KILTED: list[str] = []


def _imports_a_judge(text: str) -> bool:
    return any(judge in line for line in text.splitlines()
               if line.strip().startswith(("import ", "from ")) for judge in JUDGES)


def pytest_ignore_collect(collection_path, config) -> bool | None:
    if JUDGES_LOAD or collection_path.suffix != ".py" or \
            not collection_path.name.startswith("test_"):
        return None
    text = collection_path.read_text(encoding="utf-8")
    if any(line.startswith(("import ", "from ")) and judge in line
           for line in text.splitlines() for judge in JUDGES):
        LEFT_TO_KILTED.append(os.path.relpath(collection_path, REPO))
        return True
    return None


def pytest_report_header(config) -> list[str]:
    from helpers import judges

    if JUDGES_LOAD:
        return []
    where = (f"the Kilted venv {judges.KILTED_VENV}" if judges.AVAILABLE
             else "nowhere (set DM_KILTED_VENV)")
    return [f"rosbag2 and the ros2 CLI judge from {where}; modules that import rosbag2_py or "
            "the launch layer, and tests marked kilted_only, are left to the Kilted leg"]


def pytest_terminal_summary(terminalreporter) -> None:
    if LEFT_TO_KILTED:
        terminalreporter.write_line("left to the Kilted leg (they import a judge): "
                                    + ", ".join(sorted(LEFT_TO_KILTED)))


def _source(obj: object) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _left_to_kilted(item) -> bool:
    """On a leg where the judges do not load: a test marked kilted_only, one that imports a
    judge in its body, and without a Kilted venv to judge from any test that uses one."""
    from helpers import judges

    if getattr(item, "module", None) is None or item.get_closest_marker("kilted_only"):
        return True  # a launch_testing item, or a test that says why
    body = _source(getattr(item, "function", None))
    return _imports_a_judge(body) or (not judges.AVAILABLE and "judges." in body)


def pytest_collection_modifyitems(items: list) -> None:
    for item in items:
        layer = os.path.relpath(str(item.path), os.path.dirname(__file__)).split(os.sep)[0]
        if layer in LAYERS:
            item.add_marker(layer)
        if not JUDGES_LOAD and _left_to_kilted(item):
            item.add_marker("kilted_judges")


def pytest_sessionfinish(session, exitstatus) -> None:
    """In CI (CI=true) a skipped test is a failure: a launch, rosbag2 or tmpfs test that did
    not run proves nothing. Each is named, with why, by pytest's -rs summary."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; in CI a skip is a failure "
                            "(see the skip reasons above)", red=True)
        session.exitstatus = 1
