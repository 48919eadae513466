"""The node and the demo sensors as real processes, as a robot runs them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import yaml

from data_manager_ros.tools.demo_sensors import published


def write_config(path: str, components: dict, **attributes: object) -> str:
    """A native data manager YAML file (free-space floor low enough for small CI disks)."""
    attributes.setdefault("minimum_free_space_bytes", 64 << 20)
    attributes.setdefault("minimum_free_space_fraction", 0.0)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"data_manager": {**attributes, "components": components}}, handle)
    return path


class NodeProcess:
    def __init__(self, config_file: str, log_path: str, *extra: str,
                 env: dict[str, str] | None = None) -> None:
        """``config_file`` "": the node's settings come from ``extra`` alone (a params file)."""
        given = ["-p", f"config_file:={config_file}"] if config_file else []
        self.command = [sys.executable, "-m", "data_manager_ros.node.main", "--ros-args", *given,
                        *extra]
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None

    def start(self) -> NodeProcess:
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                        env=self.env)
        log.close()
        return self

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        wait_for(lambda: text in self.log(), timeout, f"{text!r} in the node log")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGINT, as Ctrl-C or `ros2 launch` would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@contextlib.contextmanager
def stopped_after(node: NodeProcess, *others: subprocess.Popen) -> Iterator[NodeProcess]:
    """The node and other processes, all stopped on the way out. The node's clean exit (0 on
    SIGINT) is asserted only when the body passed: a cleanup never hides the first failure."""
    try:
        yield node
    except BaseException:
        for process in others:
            process.kill()
            process.wait()
        node.stop()
        raise
    for process in others:
        process.terminate()
        process.wait()
    assert node.stop() == 0


def run_sensors(gps_hz: float, cloud_hz: float, duration: float, *extra: str,
                timeout: float = 120.0) -> tuple[int, int]:
    """Publish the demo sensors once a subscriber sees each topic; returns (fixes, clouds)."""
    result = subprocess.run(
        [sys.executable, "-m", "data_manager_ros.tools.demo_sensors", "--gps-hz", str(gps_hz),
         "--cloud-hz", str(cloud_hz), "--duration", str(duration), "--wait-subscribers", "1",
         *extra], capture_output=True, text=True, timeout=timeout, check=True)
    return published(result.stdout)


def start_sensors(gps_hz: float, cloud_hz: float, duration: float = 0.0, *extra: str,
                  env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "data_manager_ros.tools.demo_sensors", "--gps-hz", str(gps_hz),
         "--cloud-hz", str(cloud_hz), "--duration", str(duration), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {})})


def dds_profile_env(path: str) -> dict[str, str]:
    """The environment that gives a process a Fast DDS XML profile: Fast DDS 2 (Jazzy)
    reads FASTRTPS_DEFAULT_PROFILES_FILE; Fast DDS 3 (Kilted) reads FASTDDS_DEFAULT_PROFILES_FILE
    and warns about the older name, so each gets its own."""
    jazzy = os.environ.get("ROS_DISTRO") == "jazzy"
    return {f"{'FASTRTPS' if jazzy else 'FASTDDS'}_DEFAULT_PROFILES_FILE": path}


def largest_shared_memory_segment(pid: int) -> int:
    """Bytes of the biggest Fast DDS shared-memory segment a process has mapped (named
    fastdds_* by Fast DDS 3, Kilted's; fastrtps_* by Fast DDS 2, Jazzy's)."""
    sizes = [0]
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            if ("/dev/shm/fastdds_" in line or "/dev/shm/fastrtps_" in line) \
                    and "port" not in line:
                low, high = line.split()[0].split("-")
                sizes.append(int(high, 16) - int(low, 16))
    return max(sizes)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)
