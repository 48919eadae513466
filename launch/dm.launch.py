"""Start the data_manager node: ``ros2 launch data_manager_ros dm.launch.py``.

Arguments: ``config_file`` (seed JSON or native YAML; default: the package's
config/data_manager.yaml), ``params_file`` (ROS parameters, applied on top),
``namespace`` and ``log_level``.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("data_manager_ros")
    config_file = LaunchConfiguration("config_file")
    params_file = LaunchConfiguration("params_file")
    has_params = PythonExpression(["'", params_file, "' != ''"])

    def node(condition, parameters):
        return Node(
            package="data_manager_ros", executable="data_manager", name="data_manager",
            namespace=LaunchConfiguration("namespace"), output="screen", emulate_tty=True,
            parameters=parameters, condition=condition,
            ros_arguments=["--log-level", LaunchConfiguration("log_level")])

    return LaunchDescription([
        DeclareLaunchArgument("config_file",
                              default_value=os.path.join(share, "config", "data_manager.yaml"),
                              description="data_manager config: seed JSON or native YAML"),
        DeclareLaunchArgument("params_file", default_value="",
                              description="ROS parameters file applied on top of config_file"),
        DeclareLaunchArgument("namespace", default_value=""),
        DeclareLaunchArgument("log_level", default_value="info"),
        node(IfCondition(has_params), [{"config_file": config_file}, params_file]),
        node(UnlessCondition(has_params), [{"config_file": config_file}]),
    ])
