"""Subscription QoS chosen from the publishers, and its rosbag2 v9 YAML form.

rosbag2 subscribes reliably only if every publisher is reliable (a reliable
subscriber cannot match a best-effort publisher) and transient-local only if
every publisher is; it records what the publishers offered so ``ros2 bag play``
can offer the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rclpy.duration import Duration
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)

# rmw's RMW_DURATION_INFINITE, written by rosbag2 as {sec, nsec}.
_INFINITE_NS = 9223372036854775807


def adapted_profile(offered: Iterable[QoSProfile], depth: int) -> QoSProfile:
    """The profile that matches every offered publisher profile."""
    offered = list(offered)
    reliable = bool(offered) and all(
        p.reliability == ReliabilityPolicy.RELIABLE for p in offered)
    transient = bool(offered) and all(
        p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in offered)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if transient else DurabilityPolicy.VOLATILE,
    )


def _duration(value: Duration) -> dict[str, int]:
    nanoseconds = min(value.nanoseconds, _INFINITE_NS)
    if nanoseconds <= 0:
        nanoseconds = 0
    return {"sec": nanoseconds // 1_000_000_000, "nsec": nanoseconds % 1_000_000_000}


def profile_to_dict(profile: QoSProfile) -> dict:
    """One entry of rosbag2's ``offered_qos_profiles`` list (metadata v9)."""
    return {
        "history": profile.history.name.lower(),
        "depth": int(profile.depth),
        "reliability": profile.reliability.name.lower(),
        "durability": profile.durability.name.lower(),
        "deadline": _duration(profile.deadline),
        "lifespan": _duration(profile.lifespan),
        "liveliness": profile.liveliness.name.lower(),
        "liveliness_lease_duration": _duration(profile.liveliness_lease_duration),
        "avoid_ros_namespace_conventions": bool(profile.avoid_ros_namespace_conventions),
    }


def unpublished_profile(depth: int) -> QoSProfile:
    """For a topic subscribed before any publisher offers a profile: reliable and volatile,
    which every reliable publisher matches."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def overridden(profile: QoSProfile, override: Mapping[str, Any]) -> QoSProfile:
    """The keys of rosbag2's QoS overrides file (history, depth, reliability, durability)
    replace those of ``profile``; what the override leaves out stays adapted."""
    if "history" in override:
        profile.history = HistoryPolicy[override["history"].upper()]
    if "depth" in override:
        profile.depth = override["depth"]
    if "reliability" in override:
        profile.reliability = ReliabilityPolicy[override["reliability"].upper()]
    if "durability" in override:
        profile.durability = DurabilityPolicy[override["durability"].upper()]
    return profile
