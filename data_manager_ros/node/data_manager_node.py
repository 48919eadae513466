"""The ``data_manager`` node: ROS parameters, timers and services over plain classes.

Every setting is a declared parameter. A change is validated as a whole
config before it is accepted (a bad value is refused with the reason and the
old value stays in force) and applied right after, without a restart.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.timer import Timer
from std_msgs.msg import Bool
from std_srvs.srv import SetBool, Trigger

from data_manager_ros.capture.clips import ClipRecorder
from data_manager_ros.capture.engine import CaptureEngine
from data_manager_ros.capture.recent_drops import RecentDrops
from data_manager_ros.capture.topic_selection import selection_of
from data_manager_ros.capture.writer_settings import WriterSettings
from data_manager_ros.config.settings import (
    DataManagerConfig,
    MethodConfig,
    frequency_warnings,
    part_settings,
    qos_overrides,
)
from data_manager_ros.node.clip_triggers import ClipTriggers, clip_settings
from data_manager_ros.node.diagnostics import capture_statuses, clip_status, sync_status
from data_manager_ros.node.file_events import FileEvents
from data_manager_ros.node.parameters import NodeParameters
from data_manager_ros.node.params_files import params_files, unmatched
from data_manager_ros.node.rosbag2_control import Rosbag2Control
from data_manager_ros.node.sync_client import SyncProcess
from data_manager_ros.node.topic_follower import TopicFollower
from data_manager_ros.node.topic_recorder import TopicRecorder

# how often topics still waiting for a publisher are looked for (rosbag2 polls every 100 ms);
# the timer runs only while one waits, so a node with every topic subscribed pays nothing
DISCOVERY_S = 0.1
# how often subscribed topics are checked for type changes and vanished publishers
HEALTH_S = 1.0


def writer_settings(config: DataManagerConfig) -> WriterSettings:
    return part_settings(config, "writer", WriterSettings)


class DataManagerNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("data_manager", **kwargs)
        self.parameters = NodeParameters(self, self._on_config)
        for path in params_files(sys.argv):
            problem = unmatched(path, self.get_fully_qualified_name())
            if problem:
                self.get_logger().warning(problem)
        if not self.config.methods and not selection_of(self.config, lambda t: t).active:
            self.get_logger().warning(
                "no capture methods and no topic selection configured: recording nothing; "
                "give a config_file with components (see config/data_manager.yaml), the "
                "capture_methods parameter, or a selection such as all_topics")
        self._paused = False
        self._sim_time: bool = self.get_parameter("use_sim_time").value
        self.events = FileEvents(self)
        clock = self._receive_clock()
        self.capture = CaptureEngine(writer_settings(self.config), self.get_logger(), clock,
                                     on_file_closed=self._file_closed)
        self.clips = ClipRecorder(clip_settings(self.config), self.get_logger(),
                                  on_closed=self._clip_closed,
                                  on_file_closed=self._file_closed).start()
        self.clip_triggers = ClipTriggers(self, self.clips, clock)
        self.recorder = TopicRecorder(self, self.capture, self.config.qos_depth, self.clips)
        self.sync = SyncProcess(self.config, self.get_logger(),
                                on_uploaded=self.events.uploaded).start()
        self._condition = TopicFollower(self, Bool, lambda m: self.sync.set_condition(m.data))
        self._sync_timer: Timer | None = None
        self._last_counts: dict[str, tuple[float, int]] = {}
        self._rates: dict[str, float] = {}
        self._drops = RecentDrops()
        self._discovery = self.create_timer(DISCOVERY_S, self._guarded(self._discover))
        self._apply(None, self.config)
        self.create_timer(HEALTH_S, self._guarded(self.recorder.poll))
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(1.0, self._guarded(self._publish_diagnostics))
        self.create_service(Trigger, "~/sync", self._on_sync)
        self.create_service(SetBool, "~/pause_capture", self._on_pause)
        self.create_service(Trigger, "~/split_bag", self._on_split)
        self.rosbag2_control = Rosbag2Control(
            self, pause=self._pause, paused=lambda: self._paused, split=self._split,
            snapshot=self.clip_triggers.snapshot)
        self.parameters.start()

    @property
    def config(self) -> DataManagerConfig:
        return self.parameters.config

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

    # -- applying a config ---------------------------------------------------------------
    def _on_config(self, old: DataManagerConfig, new: DataManagerConfig,
                   changed: set[str]) -> None:
        """A change that NodeParameters accepted (``changed``: the parameter names set)."""
        sim_time = self.get_parameter("use_sim_time").value
        if "use_sim_time" in changed and sim_time != self._sim_time:
            self._sim_time = sim_time
            # the open file ends at this point of the stream: no file mixes two clocks
            self.capture.intake.use_clock(self._receive_clock())
            self.clip_triggers.clock = self._receive_clock()
            self.recorder.clear()  # subscribed again by _apply, with callbacks on the new clock
        self._apply(old, new)

    def _apply(self, old: DataManagerConfig | None, new: DataManagerConfig) -> None:
        for warning in frequency_warnings(new):
            self.get_logger().warning(warning)
        if new.capture_disabled:
            self.recorder.clear()
            self.capture.close()
        elif self._paused:
            # the bag stays open and its current file is finalized, so what was recorded
            # before the pause can be uploaded now (rosbag2 keeps writing the same file
            # after a resume); recording goes on in a new file of the same bag on resume
            self.recorder.clear()
            self.capture.request_split()
        else:
            self.capture.configure(writer_settings(new))
            if self.recorder.qos_depth != new.qos_depth:
                self.recorder.qos_depth = new.qos_depth
                self.recorder.clear()  # subscribed again below, at the new depth
            overrides = {self.resolve_topic_name(topic): profile
                         for topic, profile in qos_overrides(new).items()}
            self.recorder.update(new.methods, selection_of(new, self.resolve_topic_name),
                                 overrides)
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
        self._pause(request.data)
        response.success = True
        response.message = "capture paused" if self._paused else "capture resumed"
        return response

    def _pause(self, paused: bool) -> None:
        if paused != self._paused:
            self.get_logger().info(
                "capture paused: the current file is finalized (it can be uploaded now), the "
                "bag stays open" if paused else
                "capture resumed: recording goes on in a new file of the same bag")
        self._paused = paused
        self._apply(self.config, self.config)

    def _on_split(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success = self._split()
        response.message = (f"splitting the current file of {self.capture.bag_dir}"
                            if response.success else "capture is not running")
        return response

    def _split(self) -> bool:
        if self.capture.running:
            self.capture.request_split()
        return self.capture.running

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
        name = self.get_fully_qualified_name()
        array.status = capture_statuses(name, self.config, self._recorded(), self.capture,
                                        self._rates, self.recorder.waiting_s(), self._drops,
                                        self.recorder.split, self._paused)
        array.status.append(sync_status(name, self.sync.snapshot, self.config.sync_disabled,
                                        self.sync.problem()))
        if any(method.clip for method in self.config.methods):
            array.status.append(clip_status(name, self.clips))
        self._diagnostics.publish(array)

    def _recorded(self) -> tuple[MethodConfig, ...]:
        """The configured methods, then the topics that the selection or a method's
        topic_regex found in the graph."""
        named = tuple(m for m in self.config.methods if not m.topic_regex)
        topics = {m.topic for m in named}
        return named + tuple(m for m in self.recorder.methods if m.topic not in topics)

    def close(self) -> None:
        """Finalize the open bag and stop uploads; called before the process exits."""
        self.recorder.clear()
        self.capture.close()
        self.clips.close()
        self.sync.close()
        for topic, stats in self.capture.stats.items():
            self.get_logger().info(
                f"capture stats {topic}: received {stats.received} written {stats.written} "
                f"dropped {stats.dropped} throttled {stats.throttled} missed before the node "
                f"{stats.gaps.describe()}")
        self.get_logger().info(
            f"capture writer backlog peak {self.capture.intake.backlog.peak} bytes")
