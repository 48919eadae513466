"""Capture ROS 2 topics into rosbag2 MCAP bags and sync them to the cloud."""
