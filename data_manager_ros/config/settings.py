"""The data manager's settings, validated in one place whatever their source.

Files, ROS parameters and ``ros2 param set`` all end here, so a bad value gets
the same message (naming the setting and what would be right) everywhere, and
nothing half-validated reaches capture or sync.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlparse

import yaml

DEFAULT_CAPTURE_DIR = "~/.ros/data_manager/capture"
DEFAULT_SYNC_URL = "file://~/.ros/data_manager/uploaded"
EVERY_MESSAGE = math.inf
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_TOPIC = re.compile(r"^/?[A-Za-z_~{][A-Za-z0-9_/{}~]*$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/msg/[A-Za-z][A-Za-z0-9_]*$")
MIB = 1024 * 1024


class ConfigError(ValueError):
    """A setting is wrong; the message names it and says what would be right."""


class UploadClass(StrEnum):
    """What a file to upload is; the default upload priority is this order."""

    CLIPS = "clips"
    BAGS = "bags"
    FILES = "files"

    @property
    def kind(self) -> str:
        """The upload metadata's ``kind`` of a file of this class."""
        return {"clips": "clip", "bags": "bag", "files": "file"}[self.value]


class UploadOrder(StrEnum):
    OLDEST_FIRST = "oldest_first"
    NEWEST_FIRST = "newest_first"


class UploadDigest(StrEnum):
    """The digest each upload carries for the server to check (data_manager_ros.digest)."""

    BLAKE3 = "blake3"
    SHA256 = "sha256"


class DiskFullPolicy(StrEnum):
    PAUSE = "pause"
    DELETE_OLDEST = "delete_oldest"


class Compression(StrEnum):
    """MCAP chunk compressions."""

    NONE = "none"
    ZSTD = "zstd"
    LZ4 = "lz4"


UPLOAD_CLASSES = tuple(UploadClass)


def setting(default: Any, doc: str, *, limits: tuple[float, float] | None = None,
            choices: type[StrEnum] | None = None, each_once: bool = False,
            feeds: dict[str, str] | None = None,
            parse: Callable[[str, Any], Any] | None = None) -> Any:
    """One setting, declared once: its default, what it does, and what values it takes. The
    ROS parameter descriptors, the validation, the README's tables and the settings of the
    parts it configures come from here. ``each_once``: a list that names every choice once
    (an order). ``feeds``: part → the name of this setting in that part's settings (see
    ``part_settings``). ``parse(where, value)``: checks a value whose form the type alone
    does not say, and turns a file's mapping into the parameter's form."""
    return field(default=default, metadata={"doc": doc, "limits": limits, "choices": choices,
                                            "each_once": each_once, "feeds": feeds or {},
                                            "parse": parse})


@dataclass(frozen=True)
class MethodConfig:
    """One captured topic: a component's method, in the seed's words."""

    component: str
    method: str
    topic: str = setting("", "Topic recorded for this method (default: "
                         "<component>/<method in snake_case>, in the node's namespace).")
    type: str = setting("", "Message type, e.g. sensor_msgs/msg/NavSatFix (empty: taken from "
                        "the ROS graph).")
    capture_frequency_hz: float = setting(
        EVERY_MESSAGE, "Messages kept per second; inf keeps every message, 0 or less captures "
        "nothing (with a warning).")
    disabled: bool = setting(False, "Do not capture this method.")
    tags: tuple[str, ...] = setting((), "Tags added to the uploads of every bag file that holds "
                                    "this topic.")
    clip: bool = setting(False, "Keep a full-rate ring buffer of this topic for incident clips.")
    topic_regex: str = setting(
        "", "A regular expression (searched, as rosbag2's --regex): this method's settings "
        "apply to every topic it matches that no other method names; topic is then unused.")

    @property
    def key(self) -> str:
        """component/method; a topic that only the topic selection records is its own key."""
        return f"{self.component}/{self.method}" if self.component else self.method

    @property
    def label(self) -> str:
        """How diagnostics name it: a pattern's method once per topic it matched."""
        return f"{self.key} {self.topic}" if self.topic_regex else self.key

    @property
    def captured(self) -> bool:
        return not self.disabled and self.capture_frequency_hz > 0

    @property
    def rate_limit_hz(self) -> float | None:
        """None when every message is kept."""
        return None if math.isinf(self.capture_frequency_hz) else self.capture_frequency_hz


def _regex(where: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            re.compile(value)
        except re.error as error:
            raise ConfigError(f"{where}: {value!r} is not a regular expression ({error})") from None
    return value


def _custom_data(where: str, value: Any) -> Any:
    """A mapping (a config file) becomes ``key=value`` strings, the parameter's form."""
    if isinstance(value, dict):
        value = [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        for pair in value:
            if not isinstance(pair, str) or not pair.partition("=")[0] or "=" not in pair:
                raise ConfigError(f"{where}: {pair!r} is not key=value; give e.g. "
                                  "[\"site=lab\", \"driver=ana\"] or a mapping")
    return value


def custom_data_pairs(values: tuple[str, ...]) -> dict[str, str]:
    """``("site=lab",)`` → ``{"site": "lab"}``; a value may hold ``=`` (as rosbag2 splits)."""
    return dict(value.split("=", 1) for value in values)  # type: ignore[misc]


QOS_KEYS = {"history": ("keep_last", "keep_all", "system_default"),
            "reliability": ("reliable", "best_effort", "system_default"),
            "durability": ("volatile", "transient_local", "system_default"), "depth": ()}


def _qos_overrides(where: str, value: Any) -> Any:
    """rosbag2's overrides file as a mapping, or its YAML text; kept as canonical JSON text."""
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value) if value.strip() else {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{where}: not YAML ({error})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must map topics to QoS settings, e.g. "
                          "{\"/gps\": {\"reliability\": \"best_effort\", \"depth\": 5}}")
    for topic, profile in value.items():
        if not isinstance(topic, str) or not _TOPIC.match(topic):
            raise ConfigError(f"{where}: {topic!r} is not a topic name")
        if not isinstance(profile, dict):
            raise ConfigError(f"{where}: {topic}: give a mapping of {', '.join(QOS_KEYS)}")
        reject_unknown(f"{where}: {topic}", profile, tuple(QOS_KEYS))
        for key, choices in QOS_KEYS.items():
            given = profile.get(key)
            if given is None:
                continue
            if key == "depth":
                if isinstance(given, bool) or not isinstance(given, int) or given < 0:
                    raise ConfigError(f"{where}: {topic}: depth must be a whole number >= 0, "
                                      f"got {given!r}")
            elif given not in choices:
                raise ConfigError(f"{where}: {topic}: {key} must be one of "
                                  f"{', '.join(choices)}, got {given!r}")
    return json.dumps(value, sort_keys=True) if value else ""


def qos_overrides(config: DataManagerConfig) -> dict[str, dict[str, Any]]:
    """Topic → the QoS settings to use instead of those adapted to its publishers."""
    return json.loads(config.qos_overrides) if config.qos_overrides else {}


@dataclass(frozen=True)
class DataManagerConfig:
    capture_dir: str = setting(DEFAULT_CAPTURE_DIR, "Directory that holds the bags (created "
                               "0700).", feeds={"writer": "capture_dir"})
    capture_disabled: bool = setting(False, "Stop capture and close the current bag cleanly.")
    sync_disabled: bool = setting(False, "Stop scheduled sync (the ~/sync service still "
                                  "works); no upload process runs until sync is asked for.")
    sync_interval_mins: float = setting(0.1, "Minutes between sync sweeps.",
                                        limits=(0.001, 10080.0))
    additional_sync_paths: tuple[str, ...] = setting(
        (), "Directories whose files are uploaded too (then deleted).",
        feeds={"writer": "additional_paths"})
    tags: tuple[str, ...] = setting((), "Tags attached to every upload.")
    file_last_modified_millis: int = setting(
        10000, "Quiet time before a file in additional_sync_paths is synced.",
        limits=(0, 86_400_000))
    maximum_num_sync_threads: int = setting(2, "Parallel uploads.", limits=(1, 64))
    sync_url: str = setting(DEFAULT_SYNC_URL, "tus 1.0 endpoint (https://, http://) or a "
                            "directory (file:///path).")
    api_key_env: str = setting("DATA_MANAGER_API_KEY", "Environment variable holding the API "
                               "key (the key itself is never a parameter).")
    api_key_file: str = setting("", "File holding the API key, read when the sync destination "
                                "is set up.")
    ca_bundle: str = setting("", "PEM file of CAs to trust for an https sync_url (empty: the "
                             "system's, or REQUESTS_CA_BUNDLE).")
    robot_id: str = setting("", "Robot/part id sent with every upload (empty: the host name).")
    maximum_capture_file_size_bytes: int = setting(
        128 * MIB, "Split the bag file at this size.", limits=(64 * 1024, 1 << 40),
        feeds={"writer": "max_file_bytes"})
    maximum_capture_file_duration_s: float = setting(
        60.0, "Split the bag file at this age (at the first message past it, as rosbag2).",
        limits=(1.0, 86400.0), feeds={"writer": "max_file_duration_s"})
    flush_interval_s: float = setting(
        1.0, "Flush period: the most data a crash can lose (plus the fsync time, on power "
        "loss).", limits=(0.05, 10.0), feeds={"writer": "flush_interval_s"})
    mcap_chunk_size_bytes: int = setting(768 * 1024, "MCAP chunk size.",
                                         limits=(4096, 64 * MIB), feeds={"writer": "chunk_size"})
    compression: str = setting(Compression.NONE, "MCAP chunk compression.",
                               choices=Compression, feeds={"writer": "compression"})
    qos_depth: int = setting(1000, "Subscription queue depth at most; a type that can carry "
                             "bulk data (images, clouds) starts at 10 until its messages are "
                             "seen, and memory_budget_bytes sets each topic's depth once they "
                             "are.", limits=(1, 100_000))
    memory_budget_bytes: int = setting(
        256 * MIB, "Bytes the node may hold for data: every topic's subscription queue (depth "
        "x its largest message), the writer backlog and clip_buffer_bytes together; past it "
        "messages are dropped and counted per topic.",
        limits=(4 * MIB, 1 << 40), feeds={"writer": "memory_budget_bytes"})
    upload_bandwidth_limit_bytes_per_s: int = setting(
        0, "Upload bandwidth cap for all uploads together, 0 = none.", limits=(0, 1 << 40))
    minimum_free_space_bytes: int = setting(
        1 << 30, "Below this much free disk (or the fraction, the larger) capture finalizes "
        "its file and applies disk_full_policy.", limits=(0, 1 << 50),
        feeds={"writer": "minimum_free_bytes"})
    minimum_free_space_fraction: float = setting(
        0.05, "The free-space floor as a fraction of the disk.", limits=(0.0, 0.9),
        feeds={"writer": "minimum_free_fraction"})
    disk_full_policy: str = setting(
        DiskFullPolicy.PAUSE, "At the free-space floor: pause capture, or delete_oldest files "
        "of the lowest upload class (never clips) and go on.", choices=DiskFullPolicy,
        feeds={"writer": "disk_full_policy"})
    clip_pre_s: float = setting(10.0, "Seconds before a trigger an incident clip holds "
                                "(methods with clip: true).", limits=(0.0, 600.0),
                                feeds={"clip": "pre_s"})
    clip_post_s: float = setting(5.0, "Seconds after the last trigger an incident clip holds.",
                                 limits=(0.0, 600.0), feeds={"clip": "post_s"})
    clip_buffer_bytes: int = setting(
        64 * MIB, "Memory for incident clips (ring buffers, the open clip and clips waiting "
        "for the disk), taken from memory_budget_bytes while a method has clip: true; at most "
        "half of it.", limits=(MIB, 1 << 40), feeds={"clip": "buffer_bytes"})
    clip_trigger_topic: str = setting(
        "", "std_msgs/String topic whose messages trigger a clip (the reason); empty for none. "
        "~/capture_clip triggers one too.")
    clip_tags: tuple[str, ...] = setting((), "Tags of every incident clip (metadata.yaml "
                                         "custom_data, upload metadata).", feeds={"clip": "tags"})
    upload_priority: tuple[str, ...] = setting(
        UPLOAD_CLASSES, "Upload classes in the order they are sent.", choices=UploadClass,
        each_once=True, feeds={"writer": "upload_priority"})
    upload_order: str = setting(UploadOrder.OLDEST_FIRST, "Order within an upload class.",
                                choices=UploadOrder)
    upload_digest: str = setting(
        UploadDigest.BLAKE3, "Digest of each file in its Upload-Metadata, which the server "
        "checks at finish; sha256 for a server (or hook) that checks SHA-256.",
        choices=UploadDigest)
    sync_windows: tuple[str, ...] = setting(
        (), "Local time windows for scheduled sync, e.g. [\"22:00-06:00\"]; [] = always. "
        "~/sync overrides once.")
    sync_condition_topic: str = setting(
        "", "std_msgs/Bool topic gating scheduled sync (true = may sync); empty for none. "
        "~/sync overrides once.")
    upload_bandwidth_limit_outside_windows_bytes_per_s: int = setting(
        0, "Upload bandwidth cap outside sync_windows (for ~/sync), 0 = none.",
        limits=(0, 1 << 40))
    topic_wait_warning_s: float = setting(
        10.0, "Seconds a captured topic may wait for its first publisher before /diagnostics "
        "says WARN (nothing is recorded meanwhile).", limits=(0.0, 86400.0))
    all_topics: bool = setting(False, "Record every topic of the graph, as `ros2 bag record "
                               "--all-topics` (hidden ones only with include_hidden_topics).",
                               feeds={"selection": "all_topics"})
    topics_regex: str = setting("", "Record the topics this regular expression finds (searched, "
                                "as `--regex`); \"\" for none.", parse=_regex,
                                feeds={"selection": "regex"})
    exclude_regex: str = setting("", "Do not record the topics and services this regular "
                                 "expression finds (`--exclude-regex`).", parse=_regex,
                                 feeds={"selection": "exclude_regex"})
    exclude_topics: tuple[str, ...] = setting((), "Topics not recorded (`--exclude-topics`).",
                                              feeds={"selection": "exclude_topics"})
    topic_types: tuple[str, ...] = setting(
        (), "Record the topics of these types (`--topic-types`), e.g. sensor_msgs/msg/Imu.",
        feeds={"selection": "topic_types"})
    exclude_topic_types: tuple[str, ...] = setting(
        (), "Types not recorded (`--exclude-topic-types`).",
        feeds={"selection": "exclude_topic_types"})
    include_hidden_topics: bool = setting(
        False, "Let the selection take hidden topics (a name part starting with _).",
        feeds={"selection": "include_hidden_topics"})
    include_unpublished_topics: bool = setting(
        False, "Subscribe to selected topics that have no publisher yet, and to methods with a "
        "type before their publisher appears (reliable, volatile).",
        feeds={"selection": "include_unpublished_topics"})
    services: tuple[str, ...] = setting(
        (), "Services whose introspection events are recorded (`--services`); the service's "
        "owner must enable introspection.", feeds={"selection": "services"})
    all_services: bool = setting(False, "Record the events of every introspected service "
                                 "(`--all-services`).", feeds={"selection": "all_services"})
    qos_overrides: str = setting(
        "", "QoS per topic as rosbag2's overrides file ({topic: {history, depth, reliability, "
        "durability}}); a mapping in a config file, its YAML text as a parameter.",
        parse=_qos_overrides)
    custom_data: tuple[str, ...] = setting(
        (), "key=value pairs stored in every bag's metadata.yaml (`--custom-data`); a mapping "
        "in a config file.", parse=_custom_data,
        feeds={"writer": "custom_data", "clip": "custom_data"})
    methods: tuple[MethodConfig, ...] = field(default_factory=tuple)

    def expanded_capture_dir(self) -> str:
        return os.path.abspath(os.path.expanduser(self.capture_dir))

    def method(self, key: str) -> MethodConfig | None:
        return next((m for m in self.methods if m.key == key), None)


SETTINGS: dict[str, Field] = {f.name: f for f in fields(DataManagerConfig) if f.name != "methods"}
METHOD_SETTINGS: dict[str, Field] = {f.name: f for f in fields(MethodConfig) if f.metadata}
ATTRIBUTES = tuple(SETTINGS)
SEED_METHOD_KEYS = ("method", *METHOD_SETTINGS, "component", "additional_params")
LIMITS: dict[str, tuple[float, float]] = {
    name: f.metadata["limits"] for name, f in SETTINGS.items() if f.metadata["limits"]}


P = TypeVar("P")


def part_settings(config: DataManagerConfig, part: str, settings_class: Callable[..., P]) -> P:
    """The settings of one part (the capture writer, incident clips), made from the settings
    that feed it, so a new one is declared once, in the schema, and reaches its part."""
    return settings_class(**{spec.metadata["feeds"][part]: getattr(config, name)
                             for name, spec in SETTINGS.items() if part in spec.metadata["feeds"]})


def did_you_mean(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"


# attributes of earlier releases: refused with what replaces them, never ignored
RETIRED = {
    "max_backlog_bytes": "memory_budget_bytes, which bounds the subscription queues, the "
                         "writer backlog and clip_buffer_bytes together (give it about the old "
                         "value plus clip_buffer_bytes)",
}


def retired(name: str) -> str:
    """Why ``name`` is refused, or "" when it is no retired attribute."""
    if name not in RETIRED:
        return ""
    return f"{name!r} was replaced by {RETIRED[name]}"


def reject_unknown(where: str, given: dict, known: tuple[str, ...]) -> None:
    for key in given:
        if retired(str(key)):
            raise ConfigError(f"{where}: {retired(str(key))}")
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
    parse = SETTINGS[name].metadata["parse"]
    if parse is not None:
        value = parse(where, value)
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
        value = tuple(value)
    elif not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {value!r}")
    return _choice(name, value) if SETTINGS[name].metadata["choices"] else value


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
    for window in config.sync_windows:
        if not _WINDOW.match(window):
            raise ConfigError(f"data manager attribute 'sync_windows': {window!r} is not a time "
                              "window; give local times like \"22:00-06:00\" (HH:MM-HH:MM)")
    for name in ("clip_trigger_topic", "sync_condition_topic"):
        topic = getattr(config, name)
        if topic and (not _TOPIC.match(topic) or "//" in topic or topic.endswith("/")):
            raise ConfigError(f"data manager attribute {name!r}: {topic!r} is not a valid ROS "
                              "topic name; give e.g. \"/incidents\", or \"\" for none")


def _check_budget(config: DataManagerConfig) -> None:
    """Clips take their buffer out of the budget; the readers and the writer need the rest."""
    if any(m.clip for m in config.methods) and \
            config.clip_buffer_bytes * 2 > config.memory_budget_bytes:
        raise ConfigError(
            f"data manager attribute 'clip_buffer_bytes' ({config.clip_buffer_bytes}) must be "
            f"at most half of memory_budget_bytes ({config.memory_budget_bytes}), which also "
            "holds the subscription queues and the writer backlog; lower it or raise "
            "memory_budget_bytes")


def _choice(name: str, value: Any) -> Any:
    """A setting with closed choices, as its enum members (a list: each a member)."""
    meta = SETTINGS[name].metadata
    choices: type[StrEnum] = meta["choices"]
    given = value if isinstance(value, tuple) else (value,)
    known = tuple(c.value for c in choices)
    wrong = [v for v in given if v not in known]
    if wrong or (meta["each_once"] and sorted(given) != sorted(known)):
        what = (f"each of {', '.join(known)} once" if meta["each_once"]
                else f"one of {', '.join(known)}")
        shown = list(given) if isinstance(value, tuple) else value
        raise ConfigError(f"data manager attribute {name!r} must be {what}, got {shown!r}")
    members = tuple(choices(v) for v in given)
    return members if isinstance(value, tuple) else members[0]


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
    topic_regex = _regex(f"{where}: 'topic_regex'", raw.get("topic_regex", ""))
    if not isinstance(topic_regex, str):
        raise ConfigError(f"{where}: 'topic_regex' must be a regular expression, "
                          f"got {topic_regex!r}")
    return MethodConfig(component, method, topic, msg_type, float(frequency), disabled,
                        tuple(tags), clip, topic_regex)


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
    _check_budget(config)
    return config


def frequency_warnings(config: DataManagerConfig) -> list[str]:
    """The seed's rule: a frequency of 0 or less means not captured, with a warning."""
    return [f"capture method {m.key}: capture_frequency_hz is {m.capture_frequency_hz:g}, "
            "so it is not captured; set a positive frequency to capture it"
            for m in config.methods if not m.disabled and m.capture_frequency_hz <= 0]
