"""The ``data_manager`` node: ROS parameters, timers and services over plain classes.

Every setting is a declared parameter. A change is validated as a whole
config before it is accepted (a bad value is refused with the reason and the
old value stays in force) and applied right after, without a restart.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.timer import Timer
from std_msgs.msg import Bool
from std_srvs.srv import SetBool, Trigger

from data_manager_ros.capture_engine import CaptureEngine, WriterSettings
from data_manager_ros.clip_triggers import ClipTriggers, clip_settings
from data_manager_ros.clips import ClipRecorder
from data_manager_ros.config import (
    LIMITS,
    ConfigError,
    DataManagerConfig,
    frequency_warnings,
    resolve_topics,
)
from data_manager_ros.config_files import load_config_file
from data_manager_ros.diagnostics import capture_statuses, clip_status, sync_status
from data_manager_ros.file_events import FileEvents
from data_manager_ros.params import (
    CONFIG_FILE,
    DESCRIPTIONS,
    config_from_params,
    config_to_params,
    method_to_params,
)
from data_manager_ros.sync.sync_process import SyncProcess
from data_manager_ros.topic_follower import TopicFollower
from data_manager_ros.topic_recorder import TopicRecorder

_TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
          float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING,
          list: ParameterType.PARAMETER_STRING_ARRAY}
_EMPTY = {ParameterType.PARAMETER_STRING_ARRAY: Parameter.Type.STRING_ARRAY}
# how often topics still waiting for a publisher are looked for (rosbag2 polls every 100 ms);
# the timer runs only while one waits, so a node with every topic subscribed pays nothing
DISCOVERY_S = 0.1
# how often subscribed topics are checked for type changes and vanished publishers
HEALTH_S = 1.0


def writer_settings(config: DataManagerConfig) -> WriterSettings:
    return WriterSettings(
        max_file_bytes=config.maximum_capture_file_size_bytes,
        max_file_duration_s=config.maximum_capture_file_duration_s,
        chunk_size=config.mcap_chunk_size_bytes, compression=config.compression,
        flush_interval_s=config.flush_interval_s, max_backlog_bytes=config.max_backlog_bytes,
        minimum_free_bytes=config.minimum_free_space_bytes,
        minimum_free_fraction=config.minimum_free_space_fraction,
        disk_full_policy=config.disk_full_policy,
        additional_paths=config.additional_sync_paths, upload_priority=config.upload_priority)


def _descriptor(name: str, value: Any) -> ParameterDescriptor:
    kind = _TYPES[type(value)]
    # a float parameter takes an integer too (`ros2 param set ... 10`); config validation
    # still refuses anything that is not a number
    descriptor = ParameterDescriptor(name=name, type=kind,
                                     description=DESCRIPTIONS.get(name, _method_help(name)),
                                     dynamic_typing=kind == ParameterType.PARAMETER_DOUBLE)
    if name in LIMITS:
        low, high = LIMITS[name]
        if kind == ParameterType.PARAMETER_INTEGER:
            descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(high))]
        else:
            descriptor.floating_point_range = [FloatingPointRange(from_value=low, to_value=high)]
    return descriptor


def _parameter(name: str, value: Any) -> Parameter:
    """A typed parameter: an untyped [] would become a byte array."""
    if isinstance(value, list):
        return Parameter(name, Parameter.Type.STRING_ARRAY, value)
    return Parameter(name, value=value)


def _method_help(name: str) -> str:
    field = name.rsplit(".", 1)[-1]
    return {
        "topic": "Topic recorded for this method.",
        "type": "Message type (empty: taken from the ROS graph).",
        "capture_frequency_hz": "Messages kept per second; inf keeps every message, "
                                "0 or less captures nothing.",
        "disabled": "Do not capture this method.",
        "clip": "Keep a full-rate ring buffer of this topic for incident clips.",
        "tags": "Tags of this method.",
    }.get(field, "")


class DataManagerNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("data_manager", **kwargs)
        self._declared: set[str] = {CONFIG_FILE}
        config_file: str = self.declare_parameter(
            CONFIG_FILE, "", ParameterDescriptor(
                type=ParameterType.PARAMETER_STRING,
                description="data_manager JSON (seed format) or YAML file; setting it "
                            "replaces the whole config")).value
        base = load_config_file(config_file) if config_file else DataManagerConfig()
        for name, value in config_to_params(base).items():
            self._declare(name, value)
        self.config = self._config_from(self._values())
        if not self.config.methods:
            self.get_logger().warning(
                "no capture methods configured: recording nothing; give a config_file with "
                "components (see config/data_manager.yaml) or the capture_methods parameter")
        self._paused = False
        self.events = FileEvents(self)
        clock = self._receive_clock()
        self.capture = CaptureEngine(writer_settings(self.config), self.get_logger(), clock,
                                     on_file_closed=self._file_closed)
        self.clips = ClipRecorder(clip_settings(self.config), self.get_logger(),
                                  on_closed=self._clip_closed, on_file_closed=self._file_closed)
        self.clip_triggers = ClipTriggers(self, self.clips, clock)
        self.recorder = TopicRecorder(self, self.capture, self.config.qos_depth, self.clips)
        self.sync = SyncProcess(self.config, self.get_logger(), on_uploaded=self.events.uploaded)
        self._condition = TopicFollower(self, Bool, lambda m: self.sync.set_condition(m.data))
        self._sync_timer: Timer | None = None
        self._last_counts: dict[str, tuple[float, int]] = {}
        self._rates: dict[str, float] = {}
        self._discovery = self.create_timer(DISCOVERY_S, self._guarded(self._discover))
        self._apply(None, self.config)
        self.create_timer(HEALTH_S, self._guarded(self.recorder.poll))
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(1.0, self._guarded(self._publish_diagnostics))
        self.create_service(Trigger, "~/sync", self._on_sync)
        self.create_service(SetBool, "~/pause_capture", self._on_pause)
        self.create_service(Trigger, "~/split_bag", self._on_split)
        self._accepted: DataManagerConfig | None = None  # by _validate, for _after_set
        self._mirroring = False  # see _mirror_parameters
        self.add_on_set_parameters_callback(self._validate)
        self.add_post_set_parameters_callback(self._after_set)

    def _receive_clock(self) -> Callable[[], int]:
        """log_time of recorded messages, as rosbag2 stamps them: the node's clock, which is
        /clock time under ``use_sim_time`` (also when set at run time). Wall time is read
        directly otherwise: rclpy's Clock.now() costs microseconds per message at kHz rates."""
        if not self.get_parameter("use_sim_time").value:
            return time.time_ns
        clock = self.get_clock()
        return lambda: clock.now().nanoseconds

    def _guarded(self, callback: Callable[[], None]) -> Callable[[], None]:
        """A timer callback whose failure is logged instead of ending the executor (and capture)."""
        def run() -> None:
            try:
                callback()
            except Exception as error:  # noqa: BLE001 - logged with its place, capture goes on
                where = traceback.extract_tb(error.__traceback__)[-1]
                self.get_logger().error(
                    f"{callback.__qualname__} failed: {type(error).__name__}: {error} "
                    f"({os.path.basename(where.filename)}:{where.lineno})")
        return run

    # -- parameters --------------------------------------------------------------------
    def _declare(self, name: str, value: Any) -> None:
        descriptor = _descriptor(name, value)
        if isinstance(value, list) and not value:
            # rclpy would type a [] default as a byte array; declare by type instead
            param: Parameter = self.declare_parameter(name, _EMPTY[descriptor.type], descriptor)
            if param.type_ == Parameter.Type.NOT_SET:
                self.set_parameters([_parameter(name, [])])
        else:
            self.declare_parameter(name, value, descriptor)
        self._declared.add(name)

    def _values(self) -> dict[str, Any]:
        return {param.name: param.value for param in self.get_parameters(sorted(self._declared))}

    def _config_from(self, values: dict[str, Any]) -> DataManagerConfig:
        return resolve_topics(config_from_params(values), self.resolve_topic_name)

    def _candidate(self, changes: list[Parameter]) -> DataManagerConfig:
        values = self._values()
        for change in changes:
            if change.name == CONFIG_FILE and change.value:
                values = config_to_params(load_config_file(change.value))
                values[CONFIG_FILE] = change.value
        for change in changes:
            if change.name != CONFIG_FILE:
                values[change.name] = change.value
        return self._config_from(values)

    def _validate(self, changes: list[Parameter]) -> SetParametersResult:
        """The whole candidate config is built once, here; ``_after_set`` applies it."""
        if self._mirroring:  # parameters catching up with a config accepted already
            return SetParametersResult(successful=True)
        try:
            self._accepted = self._candidate(changes)
        except ConfigError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _after_set(self, changes: list[Parameter]) -> None:
        new, self._accepted = self._accepted, None
        if new is None or self._mirroring:
            return
        if any(c.name == "use_sim_time" for c in changes):
            self.capture.use_clock(self._receive_clock())
            self.clip_triggers.clock = self._receive_clock()
            self.recorder.clear()  # subscribed again by _apply, with callbacks on the new clock
        old, self.config = self.config, new
        self._apply(old, new)
        self._mirror_parameters(new)

    def _parameter_updates(self, config: DataManagerConfig) -> list[Parameter]:
        """Values of declared parameters that differ from ``config`` (after a config_file)."""
        return [_parameter(name, value) for name, value in config_to_params(config).items()
                if name in self._declared and self.get_parameter(name).value != value]

    def _mirror_parameters(self, config: DataManagerConfig) -> None:
        """Make the parameters show the applied config: declare the ``methods.*`` of added
        methods, undeclare those of removed ones, set what a config_file changed.

        This declares and sets from inside the post-set callback on purpose: `ros2 param get`
        right after `ros2 param set` must already show the new config (a deferred timer lost
        that race). The callbacks it re-enters see ``_mirroring`` and pass straight through,
        and the updates go in one atomic set, so the config is built and applied once."""
        self._mirroring = True
        try:
            wanted = config_to_params(config)
            for method in config.methods:
                for name, value in method_to_params(method).items():
                    if not self.has_parameter(name):
                        self._declare(name, value)
            for name in sorted(self._declared):
                if name.startswith("methods.") and name not in wanted:
                    self.undeclare_parameter(name)
                    self._declared.discard(name)
            updates = self._parameter_updates(config)
            if updates:
                self.set_parameters_atomically(updates)
        finally:
            self._mirroring = False

    # -- applying a config ---------------------------------------------------------------
    def _apply(self, old: DataManagerConfig | None, new: DataManagerConfig) -> None:
        for warning in frequency_warnings(new):
            self.get_logger().warning(warning)
        if new.capture_disabled or self._paused:
            self.recorder.clear()
            self.capture.stop()
        else:
            self.capture.configure(new.expanded_capture_dir(), writer_settings(new))
            if self.recorder.qos_depth != new.qos_depth:
                self.recorder.qos_depth = new.qos_depth
                self.recorder.clear()  # subscribed again below, at the new depth
            self.recorder.update(new.methods)
            self._discovery.reset()  # it stops itself once no topic waits
        self.clip_triggers.configure(new, self._resolved(new.clip_trigger_topic))
        self._condition.follow(self._resolved(new.sync_condition_topic))
        self.sync.apply(new)
        if old is None or old.sync_interval_mins != new.sync_interval_mins:
            if self._sync_timer is not None:
                self.destroy_timer(self._sync_timer)
            self._sync_timer = self.create_timer(new.sync_interval_mins * 60.0,
                                                 self._guarded(self._on_timer))

    def _resolved(self, topic: str) -> str:
        """A topic parameter as this node resolves names (validated already), or ""."""
        return self.resolve_topic_name(topic) if topic else ""

    def _file_closed(self, path: str, message_count: int) -> None:
        """On the writer's durable thread or the clip writer: an event must never fail them."""
        try:
            self.events.closed(path, message_count)
        except Exception as error:  # noqa: BLE001 - e.g. the context is gone at shutdown
            self.get_logger().debug(f"file_closed event for {path} not published: {error}")

    def _clip_closed(self, bag_dir: str) -> None:
        """A clip goes up at once, ahead of the rest, unless sync is off."""
        if not self.config.sync_disabled:
            self.sync.request_sweep()

    def _discover(self) -> None:
        if not self.recorder.discover():
            self._discovery.cancel()

    def _on_timer(self) -> None:
        if not self.config.sync_disabled:
            self.sync.request_sweep()

    # -- services ------------------------------------------------------------------------
    def _on_sync(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.sync.request_sweep(forced=True)
        snapshot = self.sync.snapshot
        response.success = True
        response.message = (f"sync sweep queued; {snapshot.waiting_files} file(s) already "
                            f"waiting, {snapshot.waiting_bytes} bytes")
        return response

    def _on_pause(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        self._paused = request.data
        self._apply(self.config, self.config)
        response.success = True
        response.message = "capture paused" if self._paused else "capture resumed"
        return response

    def _on_split(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success = self.capture.running
        if self.capture.running:
            self.capture.request_split()
            response.message = f"splitting the current file of {self.capture.bag_dir}"
        else:
            response.message = "capture is not running"
        return response

    # -- diagnostics -----------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        for topic, stats in self.capture.stats.items():
            then, count = self._last_counts.get(topic, (now, stats.written))
            if now > then:
                self._rates[topic] = (stats.written - count) / (now - then)
            self._last_counts[topic] = (now, stats.written)
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        array.status = capture_statuses(self.config, self.capture, self._rates, self._paused)
        array.status.append(sync_status(self.sync.snapshot, self.config.sync_disabled,
                                        self.sync.problem()))
        if any(method.clip for method in self.config.methods):
            array.status.append(clip_status(self.clips))
        for status in array.status:  # which of several data managers (one per namespace)
            status.hardware_id = self.get_fully_qualified_name()
        self._diagnostics.publish(array)

    def close(self) -> None:
        """Finalize the open bag and stop uploads; called before the process exits."""
        self.recorder.clear()
        self.capture.stop()
        self.clips.close()
        self.sync.close()
        for topic, stats in self.capture.stats.items():
            self.get_logger().info(
                f"capture stats {topic}: received {stats.received} written {stats.written} "
                f"dropped {stats.dropped} throttled {stats.throttled}")
        self.get_logger().info(
            f"capture writer backlog peak {self.capture.peak_backlog_bytes} bytes")
