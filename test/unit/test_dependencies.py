"""What the package imports at run time is what it declares, and nothing more: rosdep and pip
install exactly what the node needs (a test-only reader among the run-time requirements, or a
ROS package imported but not declared, is what a user meets first)."""

from __future__ import annotations

import ast
import os
import re
import sys
import xml.etree.ElementTree as ElementTree

from helpers import REPO

# pip requirements whose module has another name
MODULE_OF = {"PyYAML": "yaml"}


def imported_modules() -> set[str]:
    found = set()
    for directory, _, names in os.walk(os.path.join(REPO, "data_manager_ros")):
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    tree = ast.parse(handle.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        found |= {alias.name.split(".")[0] for alias in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"data_manager_ros"}


def declared() -> tuple[set[str], set[str]]:
    """(ROS packages of package.xml's exec_depend, modules of setup.py's install_requires and
    of its "fleet" extra: the fleet operators' tools, which a robot never loads)"""
    root = ElementTree.parse(os.path.join(REPO, "package.xml")).getroot()
    ros = {e.text for e in root.iter("exec_depend") if e.text and not e.text.startswith("python3")}
    with open(os.path.join(REPO, "setup.py"), encoding="utf-8") as handle:
        setup = handle.read()
    requirements = [*ast.literal_eval(re.search(r"install_requires=(\[[^]]*\])", setup).group(1)),
                    *ast.literal_eval(re.search(r'"fleet": (\[.*?\]),\n', setup).group(1))]
    pip = {MODULE_OF.get(name, name) for name in
           (re.split(r"[<>=!~ \[]", requirement)[0] for requirement in requirements)}
    return ros, pip


def test_run_time_imports_are_exactly_the_declared_dependencies():
    ros, pip = declared()
    imports = imported_modules()
    assert imports - ros - pip == set(), "imported but not declared"
    assert (ros | pip) - imports == set(), "declared but never imported at run time"
