"""rosbag2 bags with MCAP storage: the file format, metadata.yaml, the split-file writer,
crash recovery, message definitions and QoS as rosbag2 writes them. No rclpy, no threads of
capture: the capture engine and the tools use it, and so may the upload process."""
