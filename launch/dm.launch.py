"""Start the data_manager node: ``ros2 launch data_manager_ros dm.launch.py``.

``ros2 launch data_manager_ros dm.launch.py --show-args`` lists the arguments. The node is
built in an OpaqueFunction so that values are read as plain strings: no path is ever pasted
into a Python expression, and the log level can name this node's logger alone.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

LOG_LEVELS = ["debug", "info", "warn", "error", "fatal"]
BOOLEANS = ["true", "false"]


def _node(context: LaunchContext) -> list[Node]:
    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    namespace = arg("namespace").strip("/")
    name = arg("node_name")
    # rcl names a node's logger after its namespace and name: robot1/data_manager logs as
    # robot1.data_manager, and only that logger takes the level (not rcl's or rmw's)
    logger = ".".join([*filter(None, namespace.split("/")), name])
    try:
        respawn_delay = float(arg("respawn_delay"))
    except ValueError:
        respawn_delay = -1.0
    if respawn_delay < 0:
        raise ValueError(f"respawn_delay must be a number of seconds >= 0, "
                         f"not {arg('respawn_delay')!r}")
    parameters: list = [{"config_file": arg("config_file"),
                         "use_sim_time": arg("use_sim_time") == "true"}]
    if arg("params_file"):
        parameters.append(arg("params_file"))
    return [Node(
        package="data_manager_ros", executable="data_manager", name=name,
        namespace=namespace, output="screen", parameters=parameters,
        respawn=arg("respawn") == "true", respawn_delay=respawn_delay,
        ros_arguments=["--log-level", f"{logger}:={arg('log_level')}"])]


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("data_manager_ros")
    return LaunchDescription([
        DeclareLaunchArgument(
            "config_file", default_value=os.path.join(share, "config", "data_manager.yaml"),
            description="data_manager config: seed JSON or native YAML (the default records "
                        "nothing and uploads nothing until you configure it)"),
        DeclareLaunchArgument(
            "params_file", default_value="",
            description="ROS parameters file applied on top of config_file; key it '/**:' "
                        "to apply under any namespace"),
        DeclareLaunchArgument(
            "namespace", default_value="",
            description="namespace of the node; relative topic names resolve in it"),
        DeclareLaunchArgument(
            "node_name", default_value="data_manager",
            description="name of the node (as `ros2 bag record --node-name`); its services "
                        "and parameters are under it"),
        DeclareLaunchArgument(
            "log_level", default_value="info", choices=LOG_LEVELS,
            description="level of the data_manager node's logger (rcl and rmw keep theirs)"),
        DeclareLaunchArgument(
            "use_sim_time", default_value="false", choices=BOOLEANS,
            description="stamp recorded messages with /clock time instead of wall time"),
        DeclareLaunchArgument(
            "respawn", default_value="false", choices=BOOLEANS,
            description="start the node again if it exits (bags it left open are recovered)"),
        DeclareLaunchArgument(
            "respawn_delay", default_value="2.0",
            description="seconds to wait before a respawn"),
        OpaqueFunction(function=_node),
    ])
