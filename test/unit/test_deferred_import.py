"""A deferred module is loaded when something uses it, in a fresh interpreter each time."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split()


def test_rclpy_imports_without_loading_numpy_and_numpy_loads_on_first_use():
    out = run("""
import sys
from data_manager_ros.node.deferred_import import defer
print(defer("numpy"))
import rclpy.node
print("numpy._core" in sys.modules)
from sensor_msgs.msg import NavSatFix  # a fixed array: built with numpy
fix = NavSatFix()
fix.position_covariance[4] = 2.5
import numpy
print(type(fix.position_covariance) is numpy.ndarray, fix.position_covariance.sum())
print(sys.modules["numpy"].__version__ == numpy.__version__, "numpy._core" in sys.modules)
""")
    assert out == ["True", "False", "True", "2.5", "True", "True"]


def test_module_scans_leave_it_deferred_and_submodules_load_it():
    out = run("""
import sys
from data_manager_ros.node.deferred_import import defer
defer("json")
# what inspect.getmodule (rclpy's logging calls it) asks of every module
print(all(hasattr(m, "__file__") for m in list(sys.modules.values()) if m.__name__ == "json"))
print("json.decoder" in sys.modules)
import json.decoder  # a submodule: needs the package's __path__
print(json.loads("[1]") == [1], json.decoder.JSONDecodeError.__name__)
""")
    assert out == ["True", "False", "True", "JSONDecodeError"]


def test_nothing_is_deferred_where_the_module_is_loaded_or_missing():
    out = run("""
import json
from data_manager_ros.node.deferred_import import defer
print(defer("json"), defer("no_such_module_here"))
""")
    assert out == ["False", "False"]
