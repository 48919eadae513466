"""The config as flat ROS parameters, and back.

Attributes keep their seed names (``capture_dir``, ``sync_interval_mins``...).
``capture_methods`` lists the captured methods as ``component/method``; each
has ``methods.<component>.<method>.{topic,type,capture_frequency_hz,disabled,tags}``.
A frequency of ``inf`` (the default) keeps every message, as an absent
frequency does in a config file.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from data_manager_ros.config.settings import (
    ATTRIBUTES,
    METHOD_SETTINGS,
    SETTINGS,
    ConfigError,
    DataManagerConfig,
    MethodConfig,
    default_topic,
    make_config,
    make_method,
)

METHOD_PARAM_FIELDS = tuple(METHOD_SETTINGS)
CONFIG_FILE = "config_file"
CAPTURE_METHODS = "capture_methods"


_OWN = {
    CONFIG_FILE: "data_manager JSON (seed format) or YAML file; setting it replaces the whole "
                 "config.",
    CAPTURE_METHODS: "The captured methods as component/method; each has the parameters "
                     "methods.<component>.<method>.*.",
}


def describe(name: str) -> str:
    """A parameter's description: from the settings schema, or of the parameters that only
    the ROS side has."""
    if name in _OWN:
        return _OWN[name]
    if name.startswith("methods."):
        return METHOD_SETTINGS[name.rsplit(".", 1)[-1]].metadata["doc"]
    return SETTINGS[name].metadata["doc"]


def _plain(value: Any) -> Any:
    """A parameter value: lists for tuples, strings for closed choices."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, StrEnum) else value


def method_param(method_key: str, field: str) -> str:
    component, method = method_key.split("/", 1)
    return f"methods.{component}.{method}.{field}"


def method_to_params(method: MethodConfig) -> dict[str, Any]:
    return {method_param(method.key, name): _plain(getattr(method, name))
            for name in METHOD_PARAM_FIELDS}


def method_defaults(method_key: str) -> dict[str, Any]:
    """The parameters of a method that only ``capture_methods`` names (a params file)."""
    component, method = method_key.split("/", 1)
    return method_to_params(MethodConfig(component, method, default_topic(component, method)))


def config_to_params(config: DataManagerConfig) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in ATTRIBUTES:
        values[name] = _plain(getattr(config, name))
    values[CAPTURE_METHODS] = [m.key for m in config.methods]
    for method in config.methods:
        values.update(method_to_params(method))
    return values


def config_from_params(values: dict[str, Any]) -> DataManagerConfig:
    """Validate a full set of parameter values; per-method values may be missing (defaults)."""
    attributes = {}
    for name in ATTRIBUTES:
        value = values.get(name)
        if value is not None:
            attributes[name] = tuple(value) if isinstance(value, list) else value
    keys = values.get(CAPTURE_METHODS) or []
    if isinstance(keys, str):
        raise ConfigError(f"parameter {CAPTURE_METHODS!r} must be a list of "
                          f"'component/method' names, got {keys!r}")
    methods = []
    for key in keys:
        if not isinstance(key, str) or key.count("/") != 1:
            raise ConfigError(f"parameter {CAPTURE_METHODS!r}: entry {key!r} must be "
                              "'component/method', e.g. 'gps1/position'")
        component, method = key.split("/")
        raw: dict[str, Any] = {"method": method}
        for field in METHOD_PARAM_FIELDS:
            value = values.get(method_param(key, field))
            if value is None or (field == "type" and value == ""):
                continue
            raw[field] = list(value) if field == "tags" else value
        methods.append(make_method(component, raw))
    return make_config(attributes, methods)
