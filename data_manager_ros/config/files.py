"""Read a data manager config file: the seed's JSON as a user pastes it, or native YAML.

Seed JSON: ``services[type=data_manager].attributes`` holds the data manager
attributes; each ``components[].service_configs[type=data_manager]
.attributes.capture_methods[]`` is a captured method of that component, recorded
from topic ``/<component>/<method in snake_case>`` unless ``topic`` (or
``additional_params.topic``) says otherwise.

Native YAML: a ``data_manager`` mapping of the same attributes plus
``components: {<component>: [<capture method>, ...]}``.
"""

from __future__ import annotations

import json
import os

import yaml

from data_manager_ros.config.settings import (
    ConfigError,
    DataManagerConfig,
    MethodConfig,
    make_config,
    make_method,
    reject_unknown,
)

_DATA_MANAGER = ("data_manager", "rdk:service:data_manager")


def _is_data_manager(entry: dict) -> bool:
    return isinstance(entry, dict) and (
        entry.get("type") in _DATA_MANAGER or entry.get("api") in _DATA_MANAGER)


def _parse(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ConfigError(f"config file {path!r} cannot be read: {error.strerror}") from None
    try:
        if path.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"config file {path!r} is not valid JSON: {error.msg} "
                          f"at line {error.lineno} column {error.colno}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path!r} is not valid YAML: {error}") from None


def _component_methods(name: object, raw_methods: object) -> list[MethodConfig]:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a component has no 'name' (got {name!r})")
    if not isinstance(raw_methods, list):
        raise ConfigError(
            f"component {name!r}: capture_methods must be a list, got {raw_methods!r}")
    return [make_method(name, raw) for raw in raw_methods]


def from_seed_json(document: dict) -> DataManagerConfig:
    services = [s for s in document.get("services", []) if _is_data_manager(s)]
    if len(services) > 1:
        raise ConfigError("the config has more than one data_manager service; keep one")
    attributes = dict(services[0].get("attributes") or {}) if services else {}
    methods: list[MethodConfig] = []
    for component in document.get("components", []):
        if not isinstance(component, dict):
            raise ConfigError(f"a component must be a mapping, got {component!r}")
        for service in component.get("service_configs", []):
            if _is_data_manager(service):
                raw = (service.get("attributes") or {}).get("capture_methods", [])
                methods += _component_methods(component.get("name"), raw)
    return make_config(attributes, methods)


def from_native(section: dict) -> DataManagerConfig:
    if not isinstance(section, dict):
        raise ConfigError(f"'data_manager' must be a mapping, got {section!r}")
    attributes = dict(section)
    components = attributes.pop("components", {}) or {}
    if not isinstance(components, dict):
        raise ConfigError("'data_manager.components' must map component names to lists of "
                          f"capture methods, got {components!r}")
    methods = [m for name, raw in components.items() for m in _component_methods(name, raw)]
    return make_config(attributes, methods)


def load_config_file(path: str) -> DataManagerConfig:
    path = os.path.expanduser(path)
    document = _parse(path)
    if not isinstance(document, dict):
        raise ConfigError(f"config file {path!r} must hold a mapping at the top level")
    try:
        if "data_manager" in document:
            reject_unknown("top level", document, ("data_manager",))
            return from_native(document["data_manager"])
        if "services" in document or "components" in document:
            return from_seed_json(document)
    except ConfigError as error:
        raise ConfigError(f"config file {path!r}: {error}") from None
    raise ConfigError(f"config file {path!r} has neither a 'data_manager' section (native YAML) "
                      "nor 'services'/'components' (seed JSON)")
