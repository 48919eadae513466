"""Object keys as the ingest makes them (``ingest/keys.mjs``), and back to local paths only
where that is safe: a key from the bucket is untrusted, and one that would climb out of a
download directory, name nothing or carry a NUL is refused, never written."""

from __future__ import annotations

import os
import re

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_ESCAPE = re.compile(r"%([0-9A-F]{2})")
_CANONICAL = re.compile(r"(?:[A-Za-z0-9_.-]|%[0-9A-F]{2})+")
MAX_ROBOT_ID_BYTES = 128


class UnsafeKey(ValueError):
    """A key (or a name given for one) that is no safe path; says which part and why."""


def key_segment(name: str | bytes) -> str:
    """A name as the ingest escapes it in a key (letters, digits, ``_.-`` stay, any other
    byte is %XX), so a robot's or a bag's objects are listed by their prefix."""
    raw = os.fsencode(name)
    return "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in raw)


def segment_bytes(segment: str) -> bytes:
    """A key segment back to the bytes it was made from."""
    if not _CANONICAL.fullmatch(segment):
        raise UnsafeKey(f"segment {segment!r} is not one the ingest makes (letters, digits, "
                        "'_.-' and %XX escapes only)")
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), segment).encode("latin-1")


def name_problem(raw: bytes) -> str | None:
    """Why ``raw`` cannot be one path segment on this machine, or None."""
    if not raw:
        return "is empty"
    if raw in (b".", b".."):
        return f"is {raw.decode()!r}, which climbs instead of naming"
    if b"/" in raw:
        return "contains '/'"
    if b"\0" in raw:
        return "contains a NUL byte"
    return None


def robot_id_problem(raw: bytes) -> str | None:
    """Why ``raw`` cannot be a robot id (the first segment of every key it uploads), or None:
    the same rule as the ingest's robotIdProblem."""
    if len(raw) > MAX_ROBOT_ID_BYTES:
        return f"is {len(raw)} bytes, over {MAX_ROBOT_ID_BYTES}"
    if raw.startswith(b"."):
        return "starts with '.', which the ingest keeps for itself (.meta/)"
    return name_problem(raw)


def key_parts(key: str) -> list[bytes]:
    """Every segment of ``key`` unescaped, each a safe name; UnsafeKey otherwise."""
    parts = []
    for index, segment in enumerate(key.split("/")):
        raw = segment_bytes(segment)
        problem = name_problem(raw)
        if problem:
            raise UnsafeKey(f"key {key!r}: segment {index + 1} {problem}")
        parts.append(raw)
    return parts


def key_path(key: str) -> str:
    """An object key back to the path it was made from, for people to read."""
    return "/".join(os.fsdecode(segment_bytes(part)) for part in key.split("/"))


def local_path(directory: str, parts: list[bytes]) -> str:
    """Where ``parts`` (checked by key_parts) go below ``directory``; UnsafeKey if that is
    not inside it (a symbolic link on the way that leads out, say)."""
    root = os.path.realpath(directory)
    path = os.path.join(root, *map(os.fsdecode, parts))
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        raise UnsafeKey(f"{path!r} would be outside {root!r}")
    return path
