"""A real ROS client, as `ros2 param`, `ros2 service call` and `ros2 topic echo` use the node."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter, parameter_value_to_python

from helpers.processes import NodeProcess, start_sensors, stopped_after


class RosClient:
    def __init__(self, node_name: str = "/data_manager",
                 context: rclpy.Context | None = None) -> None:
        self.node_name = node_name
        self.node = rclpy.create_node("ros_client_for_tests", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self._set = self.node.create_client(SetParameters, f"{node_name}/set_parameters")
        self._get = self.node.create_client(GetParameters, f"{node_name}/get_parameters")

    def _call(self, client, request, tries: int = 3):
        """A request or its answer sent just as discovery matches the two ends can be lost
        (DDS delivers only to readers already matched): ask again, as `ros2 service call`
        users do. Every request here is idempotent."""
        assert client.wait_for_service(timeout_sec=30), f"{client.srv_name} not available"
        for _ in range(tries):
            future = client.call_async(request)
            self.executor.spin_until_future_complete(future, timeout_sec=10)
            if future.done():
                return future.result()
            client.remove_pending_request(future)
        raise AssertionError(f"{client.srv_name} did not answer {tries} requests")

    def set(self, name: str, value: object) -> tuple[bool, str]:
        """(successful, reason) of `ros2 param set <node> name value`."""
        request = SetParameters.Request(
            parameters=[Parameter(name, value=value).to_parameter_msg()])
        result = self._call(self._set, request).results[0]
        return result.successful, result.reason

    def get(self, name: str) -> object:
        value = self._call(self._get, GetParameters.Request(names=[name])).values[0]
        return parameter_value_to_python(value)

    def call(self, srv_type: type, service: str, request: object) -> object:
        """Call ``~/<service>`` of the node."""
        client = self.node.create_client(srv_type, f"{self.node_name}/{service}")
        try:
            return self._call(client, request)
        finally:
            self.node.destroy_client(client)

    def next_message(self, msg_type: type, topic: str, accept: Callable[[object], bool],
                     timeout: float = 15.0) -> object:
        """The first message on ``topic`` that ``accept`` takes."""
        found: list[object] = []
        sub = self.node.create_subscription(
            msg_type, topic, lambda m: found.append(m) if accept(m) else None, 10)
        deadline = time.monotonic() + timeout
        try:
            while not found and time.monotonic() < deadline:
                self.executor.spin_once(timeout_sec=0.1)
        finally:
            self.node.destroy_subscription(sub)
        assert found, f"no accepted message on {topic} within {timeout} s"
        return found[0]

    def close(self) -> None:
        self.node.destroy_node()


@contextlib.contextmanager
def ros_client(node_name: str = "/data_manager") -> Iterator[RosClient]:
    """A RosClient in an rclpy context of its own, shut down afterwards (also on a failure)."""
    context = rclpy.Context()
    rclpy.init(context=context)
    client = RosClient(node_name, context=context)
    try:
        yield client
    finally:
        client.close()
        rclpy.shutdown(context=context)


def wait_received(expected: dict[str, int], timeout: float = 30.0) -> None:
    """Until the node's /diagnostics count at least ``expected`` messages received per topic:
    what the sensors published has reached the node, and stopping it now loses none."""
    def arrived(array: DiagnosticArray) -> bool:
        received = {}
        for status in array.status:
            values = {kv.key: kv.value for kv in status.values}
            if "topic" in values:
                received[values["topic"]] = int(values["received"])
        return all(received.get(topic, 0) >= count for topic, count in expected.items())

    with ros_client() as client:
        client.next_message(DiagnosticArray, "/diagnostics", arrived, timeout)


@contextlib.contextmanager
def node_and_client(config_file: str, log_path: str, gps_hz: float, cloud_hz: float,
                    sensors_env: dict[str, str] | None = None
                    ) -> Iterator[tuple[NodeProcess, RosClient]]:
    """The node on ``config_file`` beside the demo sensors, with a client, once it captures
    the GPS; afterwards the sensors stop and the node is stopped by SIGINT, exiting 0."""
    node = NodeProcess(config_file, log_path).start()
    sensors = start_sensors(gps_hz, cloud_hz, env=sensors_env)
    with stopped_after(node, sensors):
        with ros_client() as client:
            node.wait_log("capturing /gps1/position")
            yield node, client
