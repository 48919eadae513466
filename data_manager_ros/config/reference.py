"""The README's settings tables, made from the settings schema so the two cannot drift apart
(a test compares them). ``python -m data_manager_ros.config.reference`` prints them."""

from __future__ import annotations

import math
from dataclasses import Field
from enum import StrEnum
from typing import Any

from data_manager_ros.config.settings import METHOD_SETTINGS, SETTINGS

_UNITS = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


def _value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, StrEnum) or isinstance(value, str):
        return f"`{value}`" if value else '""'
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if "bytes" in name and value:
        for size, unit in _UNITS:
            if value >= size and value % size == 0:
                return f"{value // size} {unit}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _values(name: str, spec: Field) -> str:
    meta = spec.metadata
    if meta["choices"]:
        choices = ", ".join(c.value for c in meta["choices"])
        return f"each of {choices} once" if meta["each_once"] else choices
    if meta["limits"]:
        kind: Any = type(spec.default)  # int or float: limits shown as the setting's type
        low, high = (_value(name, kind(limit)) for limit in meta["limits"])
        return f"{low} to {high}"
    return ""


def _table(settings: dict[str, Field]) -> str:
    rows = ["| setting | default | values | meaning |", "|---|---|---|---|"]
    rows += [f"| `{name}` | {_value(name, spec.default)} | {_values(name, spec)} | "
             f"{spec.metadata['doc']} |" for name, spec in settings.items()]
    return "\n".join(rows)


def attribute_table() -> str:
    return _table(SETTINGS)


def method_table() -> str:
    return _table(METHOD_SETTINGS)


if __name__ == "__main__":
    print(attribute_table(), method_table(), sep="\n\n")
