"""Capture as plain classes (no rclpy): messages in from callbacks, rate gates, the writer
thread, incident clips and the disk policy. The node feeds it; the upload process never
loads it."""
