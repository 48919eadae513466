"""The schema of a recorded type, found the way rosbag2 finds it.

Readers that do not know a type (Foxglove, rosbags, mcap tooling) decode a bag
from this text alone, so it must be byte-for-byte what ``ros2 bag record``
stores. As rosbag2's local message definition source: the ``.msg`` file as
installed, then every nested type once, depth first, dependencies in sorted
order, each behind an 80 ``=`` line and a ``MSG: pkg/Type`` line (encoding
``ros2msg``); a type with no ``.msg`` (defined in IDL only) the same way from
its ``.idl`` files and their ``#include`` lines, every part behind an
``IDL: pkg/msg/Type`` line (``ros2idl``); a type found in neither is recorded
with encoding ``unknown`` and no text, which readers that know it still decode.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

_FIELD_TYPE = re.compile(r"(?:^|\n)\s*([a-zA-Z0-9_/]+)(?:\[[^\]]*\])?\s+")
_IDL_INCLUDE = re.compile(r'(?:^|\n)#include\s+(?:"|<)([a-zA-Z0-9_/]+)\.idl(?:"|>)')
_PRIMITIVES = frozenset({
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16",
    "uint16", "int32", "uint32", "int64", "uint64", "string",
})
_TYPE_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)/(?:(msg|srv)/)?([A-Za-z][A-Za-z0-9_]*)$")
_SERVICE_PARTS = ("_Event", "_Request", "_Response")
_DELIMITER = "=" * 80 + "\n"
_MAX_DEPTH = 50


class UnknownMessageType(LookupError):
    """The type is not installed (no ``.msg`` or ``.idl`` under the ament index)."""


@dataclass(frozen=True)
class MessageDefinition:
    encoding: str  # the MCAP schema encoding: "ros2msg", "ros2idl" or "unknown"
    text: str


def split_type_name(type_name: str) -> tuple[str, str, str]:
    """Return (package, msg or srv, Type) for ``pkg/msg/Type``, ``pkg/srv/Type`` or
    ``pkg/Type``."""
    match = _TYPE_NAME.match(type_name)
    if not match:
        raise UnknownMessageType(
            f"message type {type_name!r} is not a ROS message type name; "
            "expected 'package/msg/Type', e.g. 'sensor_msgs/msg/NavSatFix'")
    return match.group(1), match.group(2) or "msg", match.group(3)


def service_of(type_name: str) -> str:
    """``pkg/srv/Name_Event`` → ``pkg/srv/Name``: the file that defines a service's parts."""
    for suffix in _SERVICE_PARTS:
        if type_name.endswith(suffix):
            return type_name[:-len(suffix)]
    return type_name


def _share_file(type_name: str, extension: str) -> str:
    package, interface, name = split_type_name(type_name)
    if interface == "srv":
        name = split_type_name(service_of(type_name))[2]
    try:
        share = get_package_share_directory(package)
    except PackageNotFoundError:
        raise UnknownMessageType(
            f"message type {type_name!r}: package {package!r} is not installed "
            "(not found in AMENT_PREFIX_PATH)") from None
    path = os.path.join(share, interface, name + extension)
    if not os.path.isfile(path):
        raise UnknownMessageType(
            f"message type {type_name!r}: no {name}{extension} in {share}/{interface}")
    return path


@cache
def _definition_text(type_name: str, extension: str) -> str:
    with open(_share_file(type_name, extension), encoding="utf-8") as handle:
        return handle.read()


def _dependencies(text: str, package: str, extension: str) -> list[str]:
    if extension == ".idl":
        return sorted(set(_IDL_INCLUDE.findall(text)))
    found = set()
    for match in _FIELD_TYPE.finditer(text):
        field_type = match.group(1)
        if field_type in _PRIMITIVES:
            continue
        found.add(field_type if "/" in field_type else f"{package}/{field_type}")
    return sorted(found)


def _delimiter(extension: str, type_name: str) -> str:
    return _DELIMITER + ("IDL: " if extension == ".idl" else "MSG: ") + type_name + "\n"


def _full_text(type_name: str, extension: str, seen: set[str] | None = None,
               depth: int = _MAX_DEPTH) -> str:
    """The definition and, once each (``seen``), those it nests."""
    seen = set() if seen is None else seen
    if depth <= 0:
        raise UnknownMessageType(f"message type {type_name!r}: definitions nest too deeply")
    text = _definition_text(type_name, extension)
    for dependency in _dependencies(text, split_type_name(type_name)[0], extension):
        if dependency not in seen:
            seen.add(dependency)
            text += "\n" + _delimiter(extension, dependency) + _full_text(
                dependency, extension, seen, depth - 1)
    return text


def _service_event_definition(type_name: str) -> MessageDefinition:
    """As rosbag2 0.29 stores a service event's schema: the ``.srv`` file behind an
    ``SRV:`` line, then each type it names as for a message; the encoding is ``ros2msg``
    only when it names one (rosbag2 says ``unknown`` otherwise, and so does this)."""
    service = service_of(type_name)
    text = _definition_text(service, ".srv")
    result = _DELIMITER + "SRV: " + service + "\n" + text
    seen = {service}
    encoding = "unknown"
    for dependency in _dependencies(text, split_type_name(service)[0], ".msg"):
        if dependency in seen:
            continue
        seen.add(dependency)
        try:
            nested = _delimiter(".msg", dependency) + _full_text(dependency, ".msg", seen)
            encoding = "ros2msg"
        except UnknownMessageType:
            nested = _delimiter(".idl", dependency) + _full_text(dependency, ".idl", seen)
            encoding = "ros2idl"
        result += "\n" + nested
    return MessageDefinition(encoding, result)


@cache
def message_definition(type_name: str) -> MessageDefinition:
    """What rosbag2 stores as the schema of ``type_name`` (see the module doc)."""
    if split_type_name(type_name)[1] == "srv":
        try:
            return _service_event_definition(type_name)
        except UnknownMessageType:
            return MessageDefinition("unknown", "")
    try:
        return MessageDefinition("ros2msg", _full_text(type_name, ".msg"))
    except UnknownMessageType:
        pass
    try:
        return MessageDefinition("ros2idl", _delimiter(".idl", type_name)
                                 + _full_text(type_name, ".idl"))
    except UnknownMessageType:
        return MessageDefinition("unknown", "")


@cache
def type_hash(type_name: str) -> str:
    """The RIHS01 type description hash that rosidl generated for ``type_name``.

    Empty when the package ships no type description (older distributions), as
    rosbag2 records it then.
    """
    package, interface, name = split_type_name(type_name)
    try:
        path = _share_file(type_name, ".json")
    except UnknownMessageType:
        return ""
    with open(path, encoding="utf-8") as handle:
        hashes = json.load(handle).get("type_hashes", [])
    wanted = f"{package}/{interface}/{name}"
    return next((h["hash_string"] for h in hashes if h.get("type_name") == wanted), "")
