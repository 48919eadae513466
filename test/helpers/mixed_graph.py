"""A graph like a robot's, for comparing topic selections with ``ros2 bag record``: publishers
of mixed types (some hidden), a topic with a subscriber only, and an introspected service
that is called every 100 ms. Run as a script; it runs until stopped."""

from __future__ import annotations

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.service_introspection import ServiceIntrospectionState
from sensor_msgs.msg import BatteryState, Image, Imu, LaserScan, NavSatFix, Temperature
from std_msgs.msg import Bool, Int32, String
from std_srvs.srv import Trigger

PUBLISHED = {
    "/cam0/image": Image, "/cam1/image": Image, "/imu": Imu, "/gps/fix": NavSatFix,
    "/scan": LaserScan, "/temperature": Temperature, "/battery": BatteryState,
    "/status": String, "/count": Int32, "/flag": Bool, "/debug/text": String,
    "/debug/level": Int32, "/_hidden/state": String, "/robot/_private": Int32,
}
SUBSCRIBED_ONLY = "/commands"  # std_msgs/String, with no publisher
SERVICE = "/reset"  # std_srvs/Trigger, introspection on


def main() -> None:
    rclpy.init()
    node = Node("mixed_graph")
    publishers = [(node.create_publisher(kind, topic, 10), kind)
                  for topic, kind in PUBLISHED.items()]
    node.create_subscription(String, SUBSCRIBED_ONLY, lambda message: None, 10)
    service = node.create_service(Trigger, SERVICE, lambda request, response: response)
    client = node.create_client(Trigger, SERVICE)
    for endpoint in (service, client):
        endpoint.configure_introspection(node.get_clock(), QoSProfile(depth=10),
                                         ServiceIntrospectionState.CONTENTS)

    ticks = [0]

    def tick() -> None:  # /status counts its ticks, so a test can tell a message lost
        ticks[0] += 1
        for publisher, kind in publishers:
            publisher.publish(String(data=str(ticks[0])) if publisher.topic_name == "/status"
                              else kind())
        if client.service_is_ready():
            client.call_async(Trigger.Request())

    node.create_timer(0.1, tick)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # SIGINT or SIGTERM: a stop


if __name__ == "__main__":
    main()
