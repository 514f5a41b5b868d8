"""Argument checks shared by the library and the entry points."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from tfq_ssl.errors import ConfigError

__all__ = ["check_one_of", "check_positive_int"]


def is_int(value: object) -> bool:
    """An ``int`` that is not a ``bool`` (JSON and Python both let ``True`` pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_positive_int(
    name: str,
    value: object,
    *,
    minimum: int = 1,
    none_means: str | None = None,
    numpy_ints: bool = False,
) -> int | None:
    """``value`` if it is an integer >= ``minimum`` (never a bool), else a ValueError.

    Args:
        name: the argument's name, for the message.
        value: the value to check.
        minimum: smallest accepted value.
        none_means: if given, ``None`` is accepted too and the message says what it
            means, e.g. ``"exact"`` for ``shots``.
        numpy_ints: also accept NumPy integers (any ``numbers.Integral``).

    Returns:
        ``value`` unchanged.

    Raises:
        ConfigError: (a ``ValueError``) naming ``name``, what was expected and what it got.
    """
    if value is None and none_means is not None:
        return None
    integer = numbers.Integral if numpy_ints else int
    if isinstance(value, bool) or not isinstance(value, integer) or value < minimum:
        expected = f"an integer >= {minimum}"
        if none_means is not None:
            expected = f"None ({none_means}) or {expected}"
        raise ConfigError(f"{name} must be {expected}, got {value!r}.")
    return value


def check_one_of(name: str, value: object, allowed: Sequence[object]) -> None:
    """A :class:`ConfigError` naming ``name``, the choices and ``value`` unless ``value``
    is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {tuple(allowed)}, got {value!r}.")
