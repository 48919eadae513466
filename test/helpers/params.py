"""A real ROS client for a node's parameter services, as `ros2 param set` uses them."""

from __future__ import annotations

import rclpy
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter, parameter_value_to_python


class ParamClient:
    def __init__(self, node_name: str = "/data_manager") -> None:
        self.node = rclpy.create_node("param_client_for_tests")
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self._set = self.node.create_client(SetParameters, f"{node_name}/set_parameters")
        self._get = self.node.create_client(GetParameters, f"{node_name}/get_parameters")

    def _call(self, client, request):
        assert client.wait_for_service(timeout_sec=30), f"{client.srv_name} not available"
        future = client.call_async(request)
        self.executor.spin_until_future_complete(future, timeout_sec=30)
        assert future.done(), f"{client.srv_name} did not answer"
        return future.result()

    def set(self, name: str, value: object) -> tuple[bool, str]:
        """(successful, reason) of `ros2 param set <node> name value`."""
        request = SetParameters.Request(
            parameters=[Parameter(name, value=value).to_parameter_msg()])
        result = self._call(self._set, request).results[0]
        return result.successful, result.reason

    def get(self, name: str) -> object:
        value = self._call(self._get, GetParameters.Request(names=[name])).values[0]
        return parameter_value_to_python(value)

    def close(self) -> None:
        self.node.destroy_node()
