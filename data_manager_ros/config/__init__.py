"""The settings: one model, validated in one place, read from config files and ROS parameters.

Imported by every other part (node, capture, sync, tools); imports none of them.
"""
