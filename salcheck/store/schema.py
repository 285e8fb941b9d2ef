"""The JSON form of the stored records, checked against their dataclasses' annotations.

Every reader of the store and the bundle import read records through these checks (via the
records' ``from_dict``), so an entry that is well-formed JSON but not a record of its kind is
refused with :class:`~salcheck.errors.InvalidRecord` naming the field, never a traceback later.
A field annotated ``float`` accepts JSON integers; ``tuple[...]`` a list of that length;
``np.ndarray`` a non-empty 2-D nested list of numbers; a dataclass field is checked by its own
``from_dict``.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

import numpy as np

from salcheck.errors import InvalidRecord


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _name(hint: Any) -> str:
    if hint is np.ndarray:
        return "a non-empty 2-D array of float32 numbers"
    return (hint.__name__ if isinstance(hint, type) else str(hint)).replace("typing.", "")


def _is_number(value: Any) -> bool:
    """A JSON number that is a float (an integer beyond float's range is not)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _is_array(value: Any) -> bool:
    try:
        a = np.asarray(value)
    except (ValueError, TypeError):  # ragged nesting
        return False
    if a.ndim != 2 or a.size == 0 or a.dtype.kind not in "iuf":
        return False
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    return bool(np.all(np.abs(finite) <= np.finfo(np.float32).max))  # maps are float32


_SCALARS = {
    type(None): lambda v: v is None,
    bool: lambda v: isinstance(v, bool),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: _is_number,
    str: lambda v: isinstance(v, str),
    np.ndarray: _is_array,
}


def conform(value: Any, hint: Any, where: str) -> None:
    """Raise InvalidRecord unless the JSON ``value`` has the annotated type ``hint``.

    Examples:
        >>> conform({"b": 1.5}, dict[str, float], "criteria")
        >>> conform([1, 2], tuple[float, float, float], "mix")
        Traceback (most recent call last):
        salcheck.errors.InvalidRecord: mix must be tuple[float, float, float], got [1, 2]
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return
    if origin in (typing.Union, types.UnionType):
        if not any(_conforms(value, a) for a in args):
            raise InvalidRecord(f"{where} must be {_name(hint)}, got {short(value)}")
        return
    if hint in _SCALARS:
        ok = _SCALARS[hint](value)
    elif origin is list:
        ok = isinstance(value, list)
        for i, item in enumerate(value if ok else []):
            conform(item, args[0], f"{where}[{i}]")
    elif origin is tuple:
        ok = isinstance(value, (list, tuple)) and len(value) == len(args)
        for i, (item, a) in enumerate(zip(value, args, strict=True) if ok else []):
            conform(item, a, f"{where}[{i}]")
    elif origin is dict:
        ok = isinstance(value, dict) and all(isinstance(k, str) for k in value)
        for k, item in value.items() if ok else []:
            conform(item, args[1], f"{where}.{k}")
    else:
        raise TypeError(f"schema: no check for the annotation {hint!r} of {where}")  # a salcheck bug
    if not ok:
        raise InvalidRecord(f"{where} must be {_name(hint)}, got {short(value)}")


def _conforms(value: Any, hint: Any) -> bool:
    try:
        conform(value, hint, "")
    except InvalidRecord:
        return False
    return True


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def fields_of(cls: type, d: Any, where: str) -> dict[str, Any]:
    """``d`` checked as the JSON form of the dataclass ``cls``: an object with no unknown
    field, every field without a default present, each value of its annotated type (a
    dataclass-typed field is left to the caller). Returns ``d``."""
    if not isinstance(d, dict):
        raise InvalidRecord(f"{where} must be a JSON object, got {short(d)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise InvalidRecord(f"{where} has unknown field(s) {unknown}; accepted: {', '.join(fields)}")
    missing = [
        name
        for name, f in fields.items()
        if name not in d
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise InvalidRecord(f"{where} lacks the field(s) {missing}")
    hints = _hints(cls)
    for name, value in d.items():
        if not dataclasses.is_dataclass(hints[name]):
            conform(value, hints[name], f"{where}.{name}")
    return d
