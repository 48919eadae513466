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
# what only the Kilted builds of ../shared/wheels give (rosbag2_py, rosbag2's messages, the
# launch layer, the ros2 CLI): a test that uses one is marked kilted_judges, and the Jazzy
# leg (.ci/jazzy), whose venv cannot load them, names it and leaves it to the Kilted leg
JUDGES = ("rosbag2_py", "rosbag2_interfaces", "launch_testing", "import launch",
          "assert_rosbag2_reads_every_message", "read_rosbag2", "play(", "service_call(",
          "ros2(", '"ros2"')


# where the judges cannot load (the Jazzy leg), a module that imports one is not collected
JUDGES_LOAD = all(importlib.util.find_spec(name) is not None
                  for name in ("rosbag2_py", "launch_testing"))
LEFT_TO_KILTED: list[str] = []


def _imports_a_judge(text: str) -> bool:
    return any(judge in line for line in text.splitlines()
               if line.startswith(("import ", "from ")) for judge in JUDGES)


def pytest_ignore_collect(collection_path, config) -> bool | None:
    if JUDGES_LOAD or collection_path.suffix != ".py" or \
            not collection_path.name.startswith("test_"):
        return None
    if _imports_a_judge(collection_path.read_text(encoding="utf-8")):
        LEFT_TO_KILTED.append(os.path.relpath(collection_path, REPO))
        return True
    return None


def pytest_report_header(config) -> list[str]:
    return [] if JUDGES_LOAD else [
        "rosbag2_py and the launch layer do not load here: modules that import them are left "
        "to the Kilted leg, as are tests marked kilted_judges"]


def pytest_terminal_summary(terminalreporter) -> None:
    if LEFT_TO_KILTED:
        terminalreporter.write_line("left to the Kilted leg (they import a judge): "
                                    + ", ".join(sorted(LEFT_TO_KILTED)))


def _source(obj: object) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _uses_judges(item, modules: dict) -> bool:
    module = getattr(item, "module", None)
    if module is None:  # a launch_testing item
        return True
    if module not in modules:
        modules[module] = _imports_a_judge(_source(module))
    function = getattr(item, "function", None)
    fixtures = [item._request._fixturemanager.getfixturedefs(name, item)
                for name in getattr(item, "fixturenames", ())] if hasattr(item, "_request") \
        else []
    sources = [_source(function)] + [_source(d[-1].func) for d in fixtures if d]
    return modules[module] or any(judge in text for text in sources for judge in JUDGES)


def pytest_collection_modifyitems(items: list) -> None:
    modules: dict = {}
    for item in items:
        layer = os.path.relpath(str(item.path), os.path.dirname(__file__)).split(os.sep)[0]
        if layer in LAYERS:
            item.add_marker(layer)
        if _uses_judges(item, modules):
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
