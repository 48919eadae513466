"""The node's ROS parameters: declared from the config, typed, validated as a whole, mirrored.

A ROS user gives settings three ways: a params file at start, ``ros2 param set``
and ``ros2 param load`` (often a ``ros2 param dump`` of another robot). All three
must have the same effect, so this class:

- declares ``methods.<component>.<method>.*`` for every method that
  ``capture_methods`` names, also when only a params file names it;
- keeps every parameter's type: an integer given to a float parameter becomes a
  float, an empty list (which YAML and the CLI cannot type) becomes the declared
  list type, and a value of another type is refused in words, not type numbers;
- builds the whole candidate config before a change is accepted, and hands it to
  ``on_config`` once after, so a refused change leaves the old config in force.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.parameter import Parameter

from data_manager_ros.config.credentials import check_change
from data_manager_ros.config.files import load_config_file
from data_manager_ros.config.params import (
    CAPTURE_METHODS,
    CONFIG_FILE,
    config_from_params,
    config_to_params,
    describe,
    method_defaults,
    method_to_params,
)
from data_manager_ros.config.settings import (
    LIMITS,
    ConfigError,
    DataManagerConfig,
    resolve_topics,
    retired,
)

_KIND = {bool: Parameter.Type.BOOL, int: Parameter.Type.INTEGER,
         float: Parameter.Type.DOUBLE, str: Parameter.Type.STRING,
         list: Parameter.Type.STRING_ARRAY}
_WORDS = {
    Parameter.Type.NOT_SET: "no value",
    Parameter.Type.BOOL: "true or false",
    Parameter.Type.INTEGER: "a whole number",
    Parameter.Type.DOUBLE: "a number",
    Parameter.Type.STRING: "a string",
    Parameter.Type.BYTE_ARRAY: "a list of bytes",
    Parameter.Type.BOOL_ARRAY: "a list of true/false values",
    Parameter.Type.INTEGER_ARRAY: "a list of whole numbers",
    Parameter.Type.DOUBLE_ARRAY: "a list of numbers",
    Parameter.Type.STRING_ARRAY: "a list of strings",
}
_ARRAYS = {Parameter.Type.BYTE_ARRAY, Parameter.Type.BOOL_ARRAY, Parameter.Type.INTEGER_ARRAY,
           Parameter.Type.DOUBLE_ARRAY, Parameter.Type.STRING_ARRAY}


def kind_of(value: Any) -> Parameter.Type:
    return _KIND[type(value)]


def coerce(name: str, kind: Parameter.Type, given: Parameter) -> Parameter:
    """``given`` as a parameter of type ``kind``, where nothing is lost by the change; raises
    ConfigError naming both types in words otherwise."""
    value = given.value
    if given.type_ == kind:
        return given
    if kind == Parameter.Type.DOUBLE and given.type_ == Parameter.Type.INTEGER:
        return Parameter(name, kind, float(value))
    # rclpy's params file reader and the ros2 CLI read YAML's .inf back as the string "inf"
    if (kind == Parameter.Type.DOUBLE and given.type_ == Parameter.Type.STRING
            and value.strip().lower().lstrip("+-.") in ("inf", "infinity")):
        return Parameter(name, kind, float(value.replace(".", "")))
    if (kind == Parameter.Type.INTEGER and given.type_ == Parameter.Type.DOUBLE
            and math.isfinite(value) and float(value).is_integer()):
        return Parameter(name, kind, int(value))
    # an empty YAML or CLI list has no element to type it: rcl reads it as unset, rclpy's
    # parser as a list of booleans or bytes
    empty = given.type_ == Parameter.Type.NOT_SET or (given.type_ in _ARRAYS and not len(value))
    if kind in _ARRAYS and empty:
        return Parameter(name, kind, [])
    shown = "" if given.type_ == Parameter.Type.NOT_SET else f" {value!r}"
    raise ConfigError(f"parameter {name!r} takes {_WORDS[kind]}; got {_WORDS[given.type_]}"
                      f"{shown}")


def descriptor(name: str, value: Any) -> ParameterDescriptor:
    kind = kind_of(value)
    result = ParameterDescriptor(name=name, type=kind.value, description=describe(name))
    if name in LIMITS:
        low, high = LIMITS[name]
        if kind == Parameter.Type.INTEGER:
            result.integer_range = [IntegerRange(from_value=int(low), to_value=int(high))]
        else:
            result.floating_point_range = [FloatingPointRange(from_value=low, to_value=high)]
    return result


class NodeParameters:
    """Owns the parameters of one node; ``on_config(old, new, changed_names)`` applies a
    config that was accepted."""

    def __init__(self, node: Node,
                 on_config: Callable[[DataManagerConfig, DataManagerConfig, set[str]], None]
                 ) -> None:
        self._node = node
        self._on_config = on_config
        self._kinds: dict[str, Parameter.Type] = {}
        # rclpy offers no public view of the overrides given at start (params files, -p)
        self._overrides: dict[str, Parameter] = dict(getattr(node, "_parameter_overrides", {}))
        self._type_errors: list[str] = []  # found by _coerce, reported by _validate
        # by _validate, for _after_set: the config as given (topics as the user wrote them,
        # which the parameters keep, so a dump works under any namespace) and as resolved
        self._accepted: tuple[DataManagerConfig, DataManagerConfig] | None = None
        self._mirroring = False  # see _mirror
        self.config = self._declare_all()

    def start(self) -> None:
        """Take changes from now on (``on_config`` may use the node's other parts)."""
        self._node.add_pre_set_parameters_callback(self._coerce)
        self._node.add_on_set_parameters_callback(self._validate)
        self._node.add_post_set_parameters_callback(self._after_set)

    # -- declaration ---------------------------------------------------------------------
    def _declare_all(self) -> DataManagerConfig:
        config_file = self._declare(CONFIG_FILE, "")
        base = load_config_file(config_file) if config_file else DataManagerConfig()
        values = config_to_params(base)
        for name, default in values.items():
            if not name.startswith("methods."):
                self._declare(name, default)
        # methods named only by a params file get their parameters too, from the same file
        for key in self._node.get_parameter(CAPTURE_METHODS).value:
            if isinstance(key, str) and key.count("/") == 1:
                method = base.method(key)
                fields = method_to_params(method) if method else method_defaults(key)
                for name, default in fields.items():
                    self._declare(name, default)
        self._warn_unknown_overrides()
        return self._configs_from(self._values())[1]

    def _declare(self, name: str, default: Any, from_start: bool = True) -> Any:
        """Declare with the value given at start (``from_start``), coerced to the declared
        type as a later set would be."""
        kind = kind_of(default)
        param = Parameter(name, kind, default)
        if from_start and name in self._overrides:
            param = coerce(name, kind, self._overrides[name])
        desc = descriptor(name, default)
        if param.value == []:
            # rclpy types a [] value as a byte array: declare by type, then set it
            self._node.declare_parameter(name, kind, desc, ignore_override=True)
            self._node.set_parameters([param])
        else:
            self._node.declare_parameter(name, param.value, desc, ignore_override=True)
        self._kinds[name] = kind
        return param.value

    def _warn_unknown_overrides(self) -> None:
        """A misspelt name in a params file would otherwise be dropped without a word."""
        declared = tuple(self._node.list_parameters([], 0).names)
        for name in sorted(set(self._overrides) - set(declared)):
            if retired(name):  # refused as a config file's would be, not run without it
                raise ConfigError(f"parameter {retired(name)}")
            close = difflib.get_close_matches(name, declared, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self._node.get_logger().warning(
                f"parameter {name!r} given at start is not a data_manager parameter and is "
                f"ignored{hint} (methods.<component>.<method>.* apply to methods listed in "
                f"{CAPTURE_METHODS!r})")

    # -- changes -------------------------------------------------------------------------
    def _values(self) -> dict[str, Any]:
        return {p.name: p.value for p in self._node.get_parameters(sorted(self._kinds))}

    def _configs_from(self, values: dict[str, Any]
                      ) -> tuple[DataManagerConfig, DataManagerConfig]:
        """The config as given and with its topics resolved in the node's namespace."""
        given = config_from_params(values)
        return given, resolve_topics(given, self._node.resolve_topic_name)

    def _coerce(self, changes: list[Parameter]) -> list[Parameter]:
        """Before rclpy checks types: lossless conversions to the declared type. A value of
        another type is swapped for the current one and remembered, so that ``_validate``
        refuses the change with a reason in words (rclpy's would give type numbers)."""
        self._type_errors = []
        if self._mirroring:
            return changes
        result = []
        for change in changes:
            kind = self._kinds.get(change.name)
            if kind is None:
                result.append(change)  # not ours (use_sim_time...) or undeclared: rclpy's
                continue
            try:
                result.append(coerce(change.name, kind, change))
            except ConfigError as error:
                self._type_errors.append(str(error))
                result.append(self._node.get_parameter(change.name))
        return result

    def _validate(self, changes: list[Parameter]) -> SetParametersResult:
        """The whole candidate config is built once, here; ``_after_set`` applies it."""
        if self._mirroring:  # parameters catching up with a config accepted already
            return SetParametersResult(successful=True)
        if self._type_errors:
            return SetParametersResult(successful=False, reason="; ".join(self._type_errors))
        try:
            self._accepted = self._candidate(changes)
            check_change(self.config, self._accepted[1])
        except ConfigError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _candidate(self, changes: list[Parameter]
                   ) -> tuple[DataManagerConfig, DataManagerConfig]:
        values = self._values()
        for change in changes:
            if change.name == CONFIG_FILE and change.value:
                values = config_to_params(load_config_file(change.value))
                values[CONFIG_FILE] = change.value
        for change in changes:
            if change.name != CONFIG_FILE:
                values[change.name] = change.value
        return self._configs_from(values)

    def _after_set(self, changes: list[Parameter]) -> None:
        accepted, self._accepted = self._accepted, None
        if accepted is None or self._mirroring:
            return
        given, new = accepted
        old, self.config = self.config, new
        self._on_config(old, new, {change.name for change in changes})
        self._mirror(given)

    def _mirror(self, config: DataManagerConfig) -> None:
        """Make the parameters show the applied config: declare the ``methods.*`` of added
        methods, undeclare those of removed ones, set what a config_file changed.

        This declares and sets from inside the post-set callback on purpose: `ros2 param get`
        right after `ros2 param set` must already show the new config (a deferred timer lost
        that race). The callbacks it re-enters see ``_mirroring`` and pass straight through,
        and the updates go in one atomic set, so the config is built and applied once."""
        self._mirroring = True
        try:
            wanted = config_to_params(config)
            for name, value in wanted.items():
                if name.startswith("methods.") and name not in self._kinds:
                    self._declare(name, value, from_start=False)
            for name in sorted(self._kinds):
                if name.startswith("methods.") and name not in wanted:
                    self._node.undeclare_parameter(name)
                    del self._kinds[name]
            updates = [Parameter(name, self._kinds[name], value)
                       for name, value in wanted.items()
                       if self._node.get_parameter(name).value != value]
            if updates:
                self._node.set_parameters_atomically(updates)
        finally:
            self._mirroring = False
