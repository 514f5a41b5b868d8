"""Configs to and from JSON: the dict form, ``config.json`` files and ``--set`` overrides.

Reading is strict (unknown, missing or mistyped keys are one clear error) and keeps
old run folders loading: renamed keys (:data:`LEGACY_KEYS`) and fields added since a
file was written (:data:`ADDED_FIELDS`, which then take the default that code had).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from tfq_ssl.checks import is_int
from tfq_ssl.config import RunConfig, check_run
from tfq_ssl.errors import ConfigError
from tfq_ssl.files import atomic_write_json


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return dataclasses.asdict(config)


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def differences(old: Any, new: Any, old_name: str = "old", new_name: str = "new") -> str:
    """The keys where two configs differ, for an error line:
    ``"model.width: 8 there, 4 now"`` with ``old_name="there"``, ``new_name="now"``."""
    a, b = _flat(to_dict(old)), _flat(to_dict(new))
    return ", ".join(f"{k}: {a.get(k)!r} {old_name}, {b.get(k)!r} {new_name}"
                     for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def _coerce(tp: Any, value: Any, where: str, complete: bool) -> Any:
    """Turn a JSON value into the annotated field type (tuples come back as lists)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected an object, got {value!r}.")
        return from_dict(tp, value, where, complete=complete)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, where, complete)
            except ConfigError:
                pass
        raise ConfigError(f"{where}: {value!r} fits none of {tp}.")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}.")
        inner = args[0] if args else Any
        if len(args) == 2 and args[1] is Ellipsis or len(args) == 1:
            return tuple(_coerce(inner, v, where, complete) for v in value)
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} items, got {value!r}.")
        return tuple(_coerce(a, v, where, complete) for a, v in zip(args, value))
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}.")
        return value
    if tp is int:
        if not is_int(value):
            raise ConfigError(f"{where}: expected an integer, got {value!r}.")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}.")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}.")
        return value
    return value


def from_dict(cls: type, data: dict[str, Any], where: str = "config", *,
              complete: bool = False) -> Any:
    """Build a config dataclass from a dict, checking names and types.

    Args:
        cls: the dataclass.
        data: its fields (nested dicts for nested dataclasses).
        where: name of ``data`` in error messages.
        complete: every field must be present (a saved file); otherwise missing
            fields take their defaults.

    Raises:
        ConfigError: unknown, missing or mistyped fields; a :class:`RunConfig` that
            fails :func:`check_run`.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    data = _renamed(cls, data)
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(names)}.")
    if complete:
        missing = _missing(cls, data)
        if missing:
            raise ConfigError(f"{where}: missing field(s) {missing}; a saved config lists "
                              "every field (compare with a config.json that pretrain wrote).")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}", complete) for k, v in data.items()}
    try:
        config = cls(**kwargs)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    if cls is RunConfig:
        check_run(config)
    return config


# Keys renamed since configs were first saved: old config.json files keep loading.
LEGACY_KEYS: dict[str, dict[str, str]] = {"ModelConfig": {"backend": "engine"}}

# Fields added since configs were first saved, by class: a saved config without one
# was written before it existed and meant its default (what that code did).
ADDED_FIELDS: dict[str, frozenset[str]] = {
    "ModelConfig": frozenset({"init", "head_bn", "bn_per_view", "activation",
                             "noise_from", "noise_trajectories"}),
    "TrainConfig": frozenset({"data_seed"}),
    "ProbeConfig": frozenset({"head"})}


def _renamed(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    renames = LEGACY_KEYS.get(cls.__name__, {})
    if not any(old in data for old in renames):
        return data
    data = dict(data)
    for old, new in renames.items():
        if old in data:
            if new in data:
                raise ConfigError(f"both {old!r} (its old name) and {new!r} are given; keep {new!r}.")
            data[new] = data.pop(old)
    return data


def _missing(cls: type, data: dict[str, Any], prefix: str = "") -> list[str]:
    hints = typing.get_type_hints(cls)
    data = _renamed(cls, data)
    out = []
    added = ADDED_FIELDS.get(cls.__name__, frozenset())
    for f in dataclasses.fields(cls):
        if f.name not in data:
            if f.name not in added:
                out.append(f"{prefix}{f.name}")
        elif dataclasses.is_dataclass(hints[f.name]) and isinstance(data[f.name], dict):
            out += _missing(hints[f.name], data[f.name], f"{prefix}{f.name}.")
    return out


def save_json(config: RunConfig, path: str) -> None:
    """Write ``config`` as JSON atomically (a crash never leaves half a file)."""
    atomic_write_json(path, to_dict(config), indent=2, sort_keys=True)


def load_json(path: str) -> RunConfig:
    """Read a ``RunConfig`` saved by ``save_json``; every field must be present.

    Raises:
        ConfigError: the file is missing, not JSON, or not a complete valid config.
    """
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist.") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder; give its config.json.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} is not valid JSON ({err}).") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a JSON object, got {type(data).__name__}.")
    return from_dict(RunConfig, data, where=path, complete=True)


def override(config: RunConfig, assignments: list[str]) -> RunConfig:
    """Apply ``section.key=value`` overrides; values are parsed as JSON when they can be.

    Example: ``["model.width=4", "train.steps=10", "data.classes=[0, 1]"]``.
    The result is validated whole (:func:`check_run`).
    """
    data = to_dict(config)
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value.")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"override {item!r}: no section {part!r} in the config.")
            node = node[part]
        if parts[:-1] == ["model"] and parts[-1] in LEGACY_KEYS["ModelConfig"]:
            parts[-1] = LEGACY_KEYS["ModelConfig"][parts[-1]]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ConfigError(
                f"override {item!r}: no key {parts[-1]!r}; valid keys: "
                f"{sorted(node) if isinstance(node, dict) else []}."
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node[parts[-1]] = value
    return from_dict(RunConfig, data)
