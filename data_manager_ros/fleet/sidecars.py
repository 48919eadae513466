"""The ingest's sidecars (``.meta/<key>.json``): what each finished object is, read as
untrusted input. A sidecar that is no JSON object, lacks a field, names a key other than the
one it sits beside or a key that is no safe path is a BadSidecar, reported and skipped: one
bad object never hides the rest of the bucket."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from data_manager_ros.digest import hasher, parse, tagged
from data_manager_ros.fleet.keys import UnsafeKey, key_parts
from data_manager_ros.tools.s3 import Bucket

META_PREFIX = ".meta/"
MAX_SIDECAR_BYTES = 1 << 20  # a sidecar is a few KB; more is someone else's object


class BadSidecar(ValueError):
    """A sidecar that cannot be trusted; the message names it and what is wrong."""


@dataclass(frozen=True)
class Stored:
    """One finished file of the bucket, as its sidecar describes it."""

    key: str
    size: int
    digest: str  # data_manager_ros.digest's "<algorithm>:<hex>"
    metadata: dict[str, str]

    @property
    def robot(self) -> str:
        """The robot whose credential uploaded it: the key's first segment (the ingest names
        keys by credential), never what the metadata claims."""
        return os.fsdecode(key_parts(self.key)[0])

    @property
    def time_range(self) -> tuple[int, int] | None:
        try:
            return int(self.metadata["start_ns"]), int(self.metadata["end_ns"])
        except (KeyError, ValueError):
            return None


def parse_sidecar(sidecar_key: str, body: bytes) -> Stored:
    where = f"sidecar {sidecar_key!r}"
    try:
        record = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadSidecar(f"{where} is not JSON ({error})") from None
    if not isinstance(record, dict):
        raise BadSidecar(f"{where} is not a JSON object")
    key = record.get("key")
    expected = sidecar_key[len(META_PREFIX):-len(".json")]
    if key != expected:
        raise BadSidecar(f"{where} describes key {key!r}, not {expected!r} that it sits beside")
    try:
        key_parts(key)
    except UnsafeKey as error:
        raise BadSidecar(f"{where}: {error}") from None
    size, metadata = record.get("size"), record.get("metadata") or {}
    if type(size) is not int or size < 0:
        raise BadSidecar(f"{where}: size {size!r} is not a whole number of bytes")
    # tus gives a metadata key sent without a value as null
    if not isinstance(metadata, dict) or not all(isinstance(v, str | None)
                                                 for v in metadata.values()):
        raise BadSidecar(f"{where}: metadata is not a map of strings")
    try:
        # sidecars from before BLAKE3 name a sha256 alone
        digest = record["digest"] if "digest" in record else tagged(record["sha256"])
        algorithm, value = parse(digest)
        hasher(algorithm)
        if len(value) != 64 or value.strip("0123456789abcdef"):
            raise ValueError(f"{value!r} is not 64 hex digits")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BadSidecar(f"{where}: no usable digest ({error})") from None
    return Stored(key, size, digest, {str(k): v or "" for k, v in metadata.items()})


def stored(bucket: Bucket, prefix: str, problem: Callable[[str], None]) -> Iterator[Stored]:
    """The finished files under ``prefix`` (a key prefix); ``problem`` hears each sidecar
    that was skipped, and why."""
    for sidecar_key in bucket.keys(META_PREFIX + prefix):
        if not sidecar_key.endswith(".json"):
            problem(f"object {sidecar_key!r} under {META_PREFIX} is no sidecar (.json)")
            continue
        try:
            yield parse_sidecar(sidecar_key, bucket.get(sidecar_key, MAX_SIDECAR_BYTES))
        except BadSidecar as error:
            problem(str(error))
