"""A recorded type's Python class, and whether its messages can grow without bound."""

from __future__ import annotations

import importlib
from functools import cache

from rosidl_parser.definition import AbstractNestedType, NamespacedType, UnboundedSequence

from data_manager_ros.bag.message_definitions import UnknownMessageType, split_type_name


def message_class(type_name: str) -> type:
    """A message's class, or a service event's (``pkg/srv/Name_Event``)."""
    package, interface, name = split_type_name(type_name)
    try:
        return getattr(importlib.import_module(f"{package}.{interface}"), name)
    except (ImportError, AttributeError):
        raise UnknownMessageType(
            f"message type {type_name!r} has no Python module ({package}.{interface}.{name}); "
            f"install the package that defines it") from None


@cache
def unbounded(type_name: str) -> bool:
    """Whether a message of the type can carry any amount of data: an unbounded sequence
    anywhere in it (an image's pixels, a cloud's points, a scan's ranges). Strings do not
    count: a frame id is not bulk data. A nested type that is not installed counts as
    unbounded."""
    try:
        slots = message_class(type_name).SLOT_TYPES  # type: ignore[attr-defined]
    except (UnknownMessageType, AttributeError):
        return True
    return any(_slot_unbounded(slot) for slot in slots)


def _slot_unbounded(slot: object) -> bool:
    if isinstance(slot, UnboundedSequence):
        return True
    if isinstance(slot, AbstractNestedType):  # an array or a bounded sequence: its elements
        slot = slot.value_type
    if isinstance(slot, NamespacedType):
        return unbounded("/".join([*slot.namespaces, slot.name]))
    return False
