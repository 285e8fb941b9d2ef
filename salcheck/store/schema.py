"""The JSON form of the stored records, checked against their dataclasses' annotations.

Every reader of the store and the bundle import read records through these checks (via the
records' ``from_dict``), so an entry that is well-formed JSON but not a record of its kind is
refused with :class:`~salcheck.errors.InvalidRecord` naming the field, never a traceback later.
A field annotated ``float`` accepts JSON integers; ``tuple[...]`` a list of that length;
``np.ndarray`` a non-empty 2-D array in its JSON form (:func:`encode_array`); a dataclass field
is checked by its own ``from_dict``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import math
import types
import typing
import zlib
from typing import Any

import numpy as np

from salcheck.errors import InvalidRecord


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: How a stored array keeps its numbers: float16 of the array divided by its largest magnitude
#: (a float32 ``scale``), so every value is kept to 2^-11 of that magnitude whatever the map's
#: units (values below about 6e-8 of it become 0), and a 64 x 64 group map is at most 11 KB of
#: JSON instead of 87.
ARRAY_DTYPE = "float16"


def encode_array(a: Any) -> dict[str, Any]:
    """The JSON form of an array: ``{"dtype": "float16", "shape", "scale", "zlib_base64"}``, the
    zlib-compressed little-endian float16 bytes of ``a / scale`` with ``scale`` its largest
    finite magnitude (NaN kept). Compression is lossless; it takes a constant map's 8 KB to a
    few bytes and a smooth one's by about a third.

    Examples:
        >>> decode_array(encode_array(np.array([[0.5, -2.0, np.nan]]))).tolist()
        [[0.5, -2.0, nan]]
    """
    data = np.asarray(a, dtype=np.float32)
    finite = np.abs(data[np.isfinite(data)])
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    raw = (data / np.float32(scale)).astype("<f2").tobytes()
    return {
        "dtype": ARRAY_DTYPE,
        "shape": list(data.shape),
        "scale": scale,
        "zlib_base64": base64.b64encode(zlib.compress(raw, 9)).decode(),
    }


#: The two payload fields :func:`decode_array` reads: plain float16 bytes (store format 5 as
#: first written) or their zlib stream (what :func:`encode_array` writes).
_PAYLOADS = ("base64", "zlib_base64")


def decode_array(d: Any) -> np.ndarray:
    """The float32 array of :func:`encode_array`'s JSON form (or its uncompressed ``base64``
    form); ValueError when it is not one."""
    fields = [{"dtype", "shape", "scale", p} for p in _PAYLOADS]
    if not isinstance(d, dict) or set(d) not in fields or d["dtype"] != ARRAY_DTYPE:
        raise ValueError(
            f"not an encoded {ARRAY_DTYPE} array (dtype, shape, scale and one of "
            f"{' or '.join(_PAYLOADS)}): {short(d)}"
        )
    shape, scale = d["shape"], d["scale"]
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"an array's shape must be a list of sizes, got {short(shape)}")
    if not _is_number(scale) or not 0 < scale <= np.finfo(np.float32).max:
        raise ValueError(f"an array's scale must be a finite number > 0, got {short(scale)}")
    payload = "base64" if "base64" in d else "zlib_base64"
    need = 2 * math.prod(shape)
    try:
        raw = base64.b64decode(d[payload], validate=True)
        if payload == "zlib_base64":
            # bounded: a stream that inflates beyond the shape's bytes is refused, not expanded
            inflate = zlib.decompressobj()
            raw = inflate.decompress(raw, need + 1)
            if not inflate.eof:
                raise ValueError(f"an array's zlib stream is truncated or longer than {need} bytes")
    except (binascii.Error, TypeError, zlib.error) as exc:
        raise ValueError(f"an array's {payload} does not decode ({exc})") from exc
    if len(raw) != need:
        raise ValueError(f"an array of shape {shape} needs {need} bytes, got {len(raw)}")
    return np.frombuffer(raw, "<f2").reshape(shape).astype(np.float32) * np.float32(scale)


def _name(hint: Any) -> str:
    if hint is np.ndarray:
        return "a non-empty 2-D or 3-D array (its JSON form: dtype float16, shape, scale, zlib_base64)"
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
        a = decode_array(value)
    except ValueError:
        return False
    return a.ndim in (2, 3) and a.size > 0  # a group map: an image's, or a volume's


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
