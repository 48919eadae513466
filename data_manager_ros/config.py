"""The data manager's settings, validated in one place whatever their source.

Files, ROS parameters and ``ros2 param set`` all end here, so a bad value gets
the same message (naming the setting and what would be right) everywhere, and
nothing half-validated reaches capture or sync.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlparse

DEFAULT_CAPTURE_DIR = "~/.ros/data_manager/capture"
DEFAULT_SYNC_URL = "file://~/.ros/data_manager/uploaded"
EVERY_MESSAGE = math.inf
UPLOAD_CLASSES = ("clips", "bags", "files")  # the default upload priority, first first
UPLOAD_ORDERS = ("oldest_first", "newest_first")
DISK_FULL_POLICIES = ("pause", "delete_oldest")
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_TOPIC = re.compile(r"^/?[A-Za-z_~{][A-Za-z0-9_/{}~]*$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/msg/[A-Za-z][A-Za-z0-9_]*$")


class ConfigError(ValueError):
    """A setting is wrong; the message names it and says what would be right."""


@dataclass(frozen=True)
class MethodConfig:
    """One captured topic: a component's method, in the seed's words."""

    component: str
    method: str
    topic: str
    type: str = ""
    capture_frequency_hz: float = EVERY_MESSAGE
    disabled: bool = False
    tags: tuple[str, ...] = ()
    clip: bool = False  # keeps a full-rate ring buffer for incident clips

    @property
    def key(self) -> str:
        return f"{self.component}/{self.method}"

    @property
    def captured(self) -> bool:
        return not self.disabled and self.capture_frequency_hz > 0

    @property
    def rate_limit_hz(self) -> float | None:
        """None when every message is kept."""
        return None if math.isinf(self.capture_frequency_hz) else self.capture_frequency_hz


@dataclass(frozen=True)
class DataManagerConfig:
    capture_dir: str = DEFAULT_CAPTURE_DIR
    capture_disabled: bool = False
    sync_disabled: bool = False
    sync_interval_mins: float = 0.1
    additional_sync_paths: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    file_last_modified_millis: int = 10000
    maximum_num_sync_threads: int = 2
    sync_url: str = DEFAULT_SYNC_URL
    api_key_env: str = "DATA_MANAGER_API_KEY"
    api_key_file: str = ""
    ca_bundle: str = ""
    robot_id: str = ""
    maximum_capture_file_size_bytes: int = 128 * 1024 * 1024
    maximum_capture_file_duration_s: float = 60.0
    flush_interval_s: float = 1.0
    mcap_chunk_size_bytes: int = 768 * 1024
    compression: str = "none"
    qos_depth: int = 1000
    max_backlog_bytes: int = 256 * 1024 * 1024
    upload_bandwidth_limit_bytes_per_s: int = 0
    minimum_free_space_bytes: int = 1 << 30
    minimum_free_space_fraction: float = 0.05
    disk_full_policy: str = "pause"
    clip_pre_s: float = 10.0
    clip_post_s: float = 5.0
    clip_buffer_bytes: int = 64 * 1024 * 1024
    clip_trigger_topic: str = ""
    clip_tags: tuple[str, ...] = ()
    upload_priority: tuple[str, ...] = UPLOAD_CLASSES
    upload_order: str = "oldest_first"
    sync_windows: tuple[str, ...] = ()
    sync_condition_topic: str = ""
    upload_bandwidth_limit_outside_windows_bytes_per_s: int = 0
    topic_wait_warning_s: float = 10.0
    methods: tuple[MethodConfig, ...] = field(default_factory=tuple)

    def expanded_capture_dir(self) -> str:
        return os.path.abspath(os.path.expanduser(self.capture_dir))

    def method(self, key: str) -> MethodConfig | None:
        return next((m for m in self.methods if m.key == key), None)


ATTRIBUTES = tuple(f.name for f in fields(DataManagerConfig) if f.name != "methods")
SEED_METHOD_KEYS = ("method", "topic", "type", "capture_frequency_hz", "disabled", "tags", "clip",
                 "component", "additional_params")
LIMITS: dict[str, tuple[float, float]] = {
    "sync_interval_mins": (0.001, 10080.0),
    "file_last_modified_millis": (0, 86_400_000),
    "maximum_num_sync_threads": (1, 64),
    "maximum_capture_file_size_bytes": (64 * 1024, 1 << 40),
    "maximum_capture_file_duration_s": (1.0, 86400.0),
    "flush_interval_s": (0.05, 10.0),
    "mcap_chunk_size_bytes": (4096, 64 * 1024 * 1024),
    "qos_depth": (1, 100_000),
    "max_backlog_bytes": (1024 * 1024, 1 << 40),
    "upload_bandwidth_limit_bytes_per_s": (0, 1 << 40),
    "minimum_free_space_bytes": (0, 1 << 50),
    "minimum_free_space_fraction": (0.0, 0.9),
    "clip_pre_s": (0.0, 600.0),
    "clip_post_s": (0.0, 600.0),
    "clip_buffer_bytes": (1024 * 1024, 1 << 40),
    "upload_bandwidth_limit_outside_windows_bytes_per_s": (0, 1 << 40),
    "topic_wait_warning_s": (0.0, 86400.0),
}
COMPRESSIONS = ("none", "zstd", "lz4")  # MCAP chunk compressions


def did_you_mean(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"


def reject_unknown(where: str, given: dict, known: tuple[str, ...]) -> None:
    for key in given:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(str(key), known)}")


def _number(where: str, value: Any, integer: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{where} must be {kind}, got {value!r}")
    if math.isnan(value):
        raise ConfigError(f"{where} must be a number, got NaN")
    if integer and (isinstance(value, float) and not value.is_integer()):
        raise ConfigError(f"{where} must be a whole number, got {value!r}")
    return value


def _check_attribute(name: str, value: Any) -> Any:
    default = getattr(DataManagerConfig, name)
    where = f"data manager attribute {name!r}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, (int, float)):
        number = _number(where, value, integer=isinstance(default, int))
        low, high = LIMITS[name]
        if not low <= number <= high:
            raise ConfigError(f"{where} must be between {low:g} and {high:g}, got {value!r}")
        return int(number) if isinstance(default, int) else float(number)
    if isinstance(default, tuple):
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
                isinstance(v, str) and v for v in value):
            raise ConfigError(f"{where} must be a list of non-empty strings, got {value!r}")
        return tuple(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {value!r}")
    return value


def _check_paths(config: DataManagerConfig) -> None:
    if not config.capture_dir.strip():
        raise ConfigError("data manager attribute 'capture_dir' must not be empty; "
                          f"the default is {DEFAULT_CAPTURE_DIR!r}")
    capture = config.expanded_capture_dir()
    probe = capture
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe) or not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(
            f"data manager attribute 'capture_dir': {capture!r} cannot be created or written "
            f"({probe!r} is not a writable directory); choose a directory this user can write")
    for path in config.additional_sync_paths:
        full = os.path.expanduser(path)
        if not os.path.isdir(full):
            raise ConfigError(
                f"data manager attribute 'additional_sync_paths': {path!r} is not an existing "
                "directory; create it or remove it from the list")
    parsed = urlparse(config.sync_url)
    if parsed.scheme in ("http", "https"):
        if not parsed.netloc:
            raise ConfigError(f"data manager attribute 'sync_url': {config.sync_url!r} has no host")
    elif parsed.scheme != "file":
        raise ConfigError(
            f"data manager attribute 'sync_url': {config.sync_url!r} must start with https://, "
            "http:// (a tus 1.0 endpoint) or file:// (a local or mounted directory)")
    if config.ca_bundle and not os.path.isfile(os.path.expanduser(config.ca_bundle)):
        raise ConfigError(f"data manager attribute 'ca_bundle': {config.ca_bundle!r} is not a "
                          "file; give a PEM file of the CA certificates to trust, or \"\" for "
                          "the system's")
    _check_choices("upload_priority", config.upload_priority, UPLOAD_CLASSES, all_once=True)
    _check_choices("upload_order", (config.upload_order,), UPLOAD_ORDERS)
    _check_choices("disk_full_policy", (config.disk_full_policy,), DISK_FULL_POLICIES)
    for window in config.sync_windows:
        if not _WINDOW.match(window):
            raise ConfigError(f"data manager attribute 'sync_windows': {window!r} is not a time "
                              "window; give local times like \"22:00-06:00\" (HH:MM-HH:MM)")
    for name in ("clip_trigger_topic", "sync_condition_topic"):
        topic = getattr(config, name)
        if topic and (not _TOPIC.match(topic) or "//" in topic or topic.endswith("/")):
            raise ConfigError(f"data manager attribute {name!r}: {topic!r} is not a valid ROS "
                              "topic name; give e.g. \"/incidents\", or \"\" for none")
    if config.compression not in COMPRESSIONS:
        raise ConfigError(f"data manager attribute 'compression' must be one of "
                          f"{', '.join(COMPRESSIONS)}, got {config.compression!r}")


def _check_choices(name: str, given: tuple[str, ...], choices: tuple[str, ...],
                   all_once: bool = False) -> None:
    wrong = [value for value in given if value not in choices]
    if wrong or (all_once and sorted(given) != sorted(choices)):
        what = f"each of {', '.join(choices)} once" if all_once else f"one of {', '.join(choices)}"
        raise ConfigError(f"data manager attribute {name!r} must be {what}, got {list(given)!r}")


def window_minutes(window: str) -> tuple[int, int]:
    """``"22:00-06:00"`` → (1320, 360): minutes after midnight of its start and end."""
    match = _WINDOW.match(window)
    if not match:
        raise ConfigError(f"{window!r} is not a time window like \"22:00-06:00\"")
    hours, minutes, end_hours, end_minutes = (int(g) for g in match.groups())
    return hours * 60 + minutes, end_hours * 60 + end_minutes


def default_topic(component: str, method: str) -> str:
    """``gps1`` + ``Position`` → ``gps1/position``, ``IMUData`` → ``imu_data`` (ROS names are
    snake_case; an acronym is one word). Relative, so it resolves in the node's namespace."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", method).lower()
    return f"{component}/{snake}"


def resolve_topics(config: DataManagerConfig,
                   resolve: Callable[[str], str]) -> DataManagerConfig:
    """Every method's topic as the node resolves it (``resolve``: rclpy's
    ``Node.resolve_topic_name``), the way rosbag2 resolves a recorded name: relative names in
    the node's namespace, ``~`` in the node's own. Two methods must not land on one topic."""
    methods = []
    for method in config.methods:
        try:
            topic = resolve(method.topic)
        except Exception as error:  # noqa: BLE001 - rclpy raises RCLError, not a ValueError
            raise ConfigError(f"capture method {method.key}: topic {method.topic!r} cannot be "
                              f"resolved in this node's namespace ({error})") from None
        methods.append(replace(method, topic=topic))
    _check_unique_topics(methods)
    return replace(config, methods=tuple(methods))


def in_root_namespace(topic: str) -> str:
    """A relative topic name as a node without namespace resolves it."""
    return topic if topic.startswith("/") else "/" + topic


def _check_unique_topics(methods: list[MethodConfig]) -> None:
    seen: dict[str, str] = {}
    for method in methods:
        other = seen.setdefault(method.topic, method.key)
        if other != method.key:
            raise ConfigError(f"capture methods {other} and {method.key} both record topic "
                              f"{method.topic!r}; each topic may be captured once")


def make_method(component: str, raw: dict) -> MethodConfig:
    """Validate one capture method given as the seed's ``capture_methods[]`` entry."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"component {component!r}: a capture method must be a mapping, got {raw!r}")
    method = raw.get("method")
    where = f"capture method {component}/{method}"
    reject_unknown(where, raw, SEED_METHOD_KEYS)
    if not isinstance(method, str) or not method:
        raise ConfigError(f"component {component!r}: capture method without a 'method' name "
                          f"(got {raw!r}); give e.g. \"method\": \"Position\"")
    if not _NAME.match(component) or not _NAME.match(method):
        raise ConfigError(f"{where}: component and method names must start with a letter and "
                          "hold only letters, digits and '_'")
    params = raw.get("additional_params", {})
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: 'additional_params' must be a mapping, got {params!r}")
    topic = raw.get("topic", params.get("topic", default_topic(component, method)))
    if (not isinstance(topic, str) or not _TOPIC.match(topic) or "//" in topic
            or topic.endswith("/")):
        raise ConfigError(f"{where}: 'topic' {topic!r} is not a valid ROS topic name")
    msg_type = raw.get("type", params.get("type", ""))
    if not isinstance(msg_type, str) or (msg_type and not _TYPE.match(msg_type)):
        raise ConfigError(f"{where}: 'type' {msg_type!r} is not a message type; expected "
                          "'package/msg/Type' such as 'sensor_msgs/msg/NavSatFix', or leave it "
                          "out to take the type from the ROS graph")
    frequency = raw.get("capture_frequency_hz", EVERY_MESSAGE)
    _number(f"{where}: 'capture_frequency_hz'", frequency, integer=False)
    disabled = raw.get("disabled", False)
    if not isinstance(disabled, bool):
        raise ConfigError(f"{where}: 'disabled' must be true or false, got {disabled!r}")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{where}: 'tags' must be a list of strings, got {tags!r}")
    clip = raw.get("clip", False)
    if not isinstance(clip, bool):
        raise ConfigError(f"{where}: 'clip' must be true or false, got {clip!r}")
    return MethodConfig(component, method, topic, msg_type, float(frequency), disabled,
                        tuple(tags), clip)


def make_config(attributes: dict, methods: list[MethodConfig]) -> DataManagerConfig:
    """Validate data manager attributes and the capture methods together."""
    if not isinstance(attributes, dict):
        raise ConfigError(f"data manager attributes must be a mapping, got {attributes!r}")
    reject_unknown("data manager attributes", attributes, ATTRIBUTES)
    values = {name: _check_attribute(name, value) for name, value in attributes.items()}
    _check_unique_topics(methods)
    keys = [m.key for m in methods]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ConfigError(f"capture method {duplicates[0]} is configured twice")
    config = replace(DataManagerConfig(**values), methods=tuple(methods))
    _check_paths(config)
    return config


def frequency_warnings(config: DataManagerConfig) -> list[str]:
    """The seed's rule: a frequency of 0 or less means not captured, with a warning."""
    return [f"capture method {m.key}: capture_frequency_hz is {m.capture_frequency_hz:g}, "
            "so it is not captured; set a positive frequency to capture it"
            for m in config.methods if not m.disabled and m.capture_frequency_hz <= 0]
