"""The config as flat ROS parameters, and back.

Attributes keep their seed names (``capture_dir``, ``sync_interval_mins``...).
``capture_methods`` lists the captured methods as ``component/method``; each
has ``methods.<component>.<method>.{topic,type,capture_frequency_hz,disabled,tags}``.
A frequency of ``inf`` (the default) keeps every message, as an absent
frequency does in a config file.
"""

from __future__ import annotations

from typing import Any

from data_manager_ros.config import (
    ATTRIBUTES,
    ConfigError,
    DataManagerConfig,
    MethodConfig,
    default_topic,
    make_config,
    make_method,
)

METHOD_PARAM_FIELDS = ("topic", "type", "capture_frequency_hz", "disabled", "tags", "clip")
CONFIG_FILE = "config_file"
CAPTURE_METHODS = "capture_methods"

DESCRIPTIONS = {
    "capture_dir": "Directory that holds the bags (created 0700).",
    "capture_disabled": "Stop capture and close the current bag cleanly.",
    "sync_disabled": "Stop scheduled sync (the ~/sync service still works).",
    "sync_interval_mins": "Minutes between sync sweeps.",
    "additional_sync_paths": "Directories whose files are uploaded too (then deleted).",
    "tags": "Tags attached to every upload.",
    "file_last_modified_millis": "Quiet time before a file in additional_sync_paths is synced.",
    "maximum_num_sync_threads": "Parallel uploads.",
    "sync_url": "tus 1.0 endpoint (https://, http://) or a directory (file:///path).",
    "api_key_env": "Environment variable holding the API key "
                   "(the key itself is never a parameter).",
    "api_key_file": "File holding the API key, read when the sync destination is set up.",
    "ca_bundle": "PEM file of CAs to trust for an https sync_url (default: the system's).",
    "robot_id": "Robot/part id sent with every upload (default: host name).",
    "maximum_capture_file_size_bytes": "Split the bag file at this size.",
    "maximum_capture_file_duration_s": "Split the bag file at this age.",
    "flush_interval_s": ("Flush period: the most data a crash can lose (plus the fsync time, "
                         "on power loss)."),
    "mcap_chunk_size_bytes": "MCAP chunk size.",
    "compression": "MCAP chunk compression: none, zstd or lz4.",
    "qos_depth": "Subscription queue depth.",
    "max_backlog_bytes": "Bytes queued for the writer before messages are dropped (and counted).",
    "upload_bandwidth_limit_bytes_per_s": "Upload bandwidth cap, 0 = none.",
    "minimum_free_space_bytes": "Capture pauses below this much free disk (and the fraction).",
    "minimum_free_space_fraction": "Capture pauses below this fraction of the disk free.",
    "disk_full_policy": ("At the free-space floor: pause (capture pauses) or delete_oldest "
                         "(the oldest files of the lowest upload class are deleted, never "
                         "clips; capture goes on)."),
    "clip_pre_s": "Seconds before a trigger an incident clip holds (methods with clip: true).",
    "clip_post_s": "Seconds after the last trigger an incident clip holds.",
    "clip_buffer_bytes": "Memory for incident clips: ring buffers and the open clip together.",
    "clip_trigger_topic": "std_msgs/String topic whose messages trigger a clip (the reason); "
                          "\"\" for none. ~/capture_clip triggers one too.",
    "clip_tags": "Tags of every incident clip (metadata.yaml custom_data, upload metadata).",
    "upload_priority": "Upload classes in the order they are sent: clips, bags, files.",
    "upload_order": "Within a class: oldest_first or newest_first.",
    "sync_windows": "Local time windows for scheduled sync, e.g. [\"22:00-06:00\"]; "
                    "[] = always. ~/sync overrides once.",
    "sync_condition_topic": "std_msgs/Bool topic gating scheduled sync (true = may sync); "
                            "\"\" for none. ~/sync overrides once.",
    "upload_bandwidth_limit_outside_windows_bytes_per_s": (
        "Upload bandwidth cap outside sync_windows (for ~/sync), 0 = none."),
    "topic_wait_warning_s": ("Seconds a captured topic may wait for its first publisher before "
                             "/diagnostics says WARN (nothing is recorded meanwhile)."),
}


METHOD_HELP = {
    "topic": "Topic recorded for this method.",
    "type": "Message type (empty: taken from the ROS graph).",
    "capture_frequency_hz": "Messages kept per second; inf keeps every message, "
                            "0 or less captures nothing.",
    "disabled": "Do not capture this method.",
    "clip": "Keep a full-rate ring buffer of this topic for incident clips.",
    "tags": "Tags added to the uploads of every bag file that holds this topic.",
}


def method_param(method_key: str, field: str) -> str:
    component, method = method_key.split("/", 1)
    return f"methods.{component}.{method}.{field}"


def method_to_params(method: MethodConfig) -> dict[str, Any]:
    return {
        method_param(method.key, "topic"): method.topic,
        method_param(method.key, "type"): method.type,
        method_param(method.key, "capture_frequency_hz"): method.capture_frequency_hz,
        method_param(method.key, "disabled"): method.disabled,
        method_param(method.key, "tags"): list(method.tags),
        method_param(method.key, "clip"): method.clip,
    }


def method_defaults(method_key: str) -> dict[str, Any]:
    """The parameters of a method that only ``capture_methods`` names (a params file)."""
    component, method = method_key.split("/", 1)
    return method_to_params(MethodConfig(component, method, default_topic(component, method)))


def config_to_params(config: DataManagerConfig) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ATTRIBUTES:
        value = getattr(config, name)
        values[name] = list(value) if isinstance(value, tuple) else value
    values[CAPTURE_METHODS] = [m.key for m in config.methods]
    for method in config.methods:
        values.update(method_to_params(method))
    return values


def config_from_params(values: dict[str, Any]) -> DataManagerConfig:
    """Validate a full set of parameter values; per-method values may be missing (defaults)."""
    attributes = {}
    for name in ATTRIBUTES:
        value = values.get(name)
        if value is not None:
            attributes[name] = tuple(value) if isinstance(value, list) else value
    keys = values.get(CAPTURE_METHODS) or []
    if isinstance(keys, str):
        raise ConfigError(f"parameter {CAPTURE_METHODS!r} must be a list of "
                          f"'component/method' names, got {keys!r}")
    methods = []
    for key in keys:
        if not isinstance(key, str) or key.count("/") != 1:
            raise ConfigError(f"parameter {CAPTURE_METHODS!r}: entry {key!r} must be "
                              "'component/method', e.g. 'gps1/position'")
        component, method = key.split("/")
        raw: dict[str, Any] = {"method": method}
        for field in METHOD_PARAM_FIELDS:
            value = values.get(method_param(key, field))
            if value is None or (field == "type" and value == ""):
                continue
            raw[field] = list(value) if field == "tags" else value
        methods.append(make_method(component, raw))
    return make_config(attributes, methods)
