"""Saliency methods by name, and the fingerprint that names a method's results in the store.

A method's fingerprint covers its class, its parameters and the source of the code that
defines it: the file of every class in its MRO outside salcheck's evaluation core (the user's
module, salcheck's own method modules), and the version of captum or MONAI for their classes. Editing a
method therefore changes its fingerprint, and its results are computed afresh; a method whose
source cannot be read (defined in ``__main__``, a notebook, a C extension) or whose parameters
have no stable text (an object shown with its memory address) has no fingerprint and is never
answered from the store.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

from salcheck.errors import InvalidArgument

DEFAULT_METHOD = "vanilla"
#: The fingerprint prefix of a method whose results no other run may read.
VOLATILE = "volatile:"


@dataclass(frozen=True)
class MethodRef:
    """A saliency method resolved once (:func:`resolve`): what the user named (``spec``), its
    readable ``name``, its ``fingerprint``, its tags, and the object. It travels as one value
    through plans, store keys, workers (pickled) and reports. Two refs are equal when spec,
    name, fingerprint and tags are. A method whose source cannot be read gets a fingerprint
    ``volatile:<random>`` drawn at resolution: its results are stored for this run only and
    never answered to another."""

    spec: str
    name: str
    fingerprint: str
    tags: tuple[tuple[str, bool | None], ...]
    method: Any = field(compare=False, repr=False)

    @property
    def cacheable(self) -> bool:
        """Whether another run may be answered from the stored results."""
        return not self.fingerprint.startswith(VOLATILE)

    def tag(self, name: str) -> bool | None:
        return dict(self.tags).get(name)


def resolve(method: Any, seed: int = 0) -> MethodRef:
    """The one place a method is resolved and fingerprinted: a catalogue name, ``MODULE:OBJECT``,
    a method object, or an existing :class:`MethodRef` (returned as it is).

    Examples:
        >>> ref = resolve("vanilla")
        >>> ref.name, ref.cacheable, ref.tag("signed")
        ('Vanilla gradient', True, True)
    """
    from salcheck.saliency.base import method_tags

    if isinstance(method, MethodRef):
        return method
    obj = resolve_method(method, seed) if isinstance(method, str) else method
    spec = method if isinstance(method, str) else f"{type(obj).__module__}:{type(obj).__qualname__}"
    return MethodRef(
        spec=spec,
        name=method_name(obj),
        fingerprint=method_fingerprint(obj) or f"{VOLATILE}{uuid.uuid4().hex}",
        tags=tuple(method_tags(obj).items()),
        method=obj,
    )


def resolve_method(name: str, seed: int = 0):
    """A saliency method from a name: a short name of the catalogue (``vanilla``,
    ``integrated-gradients``, ``random``, ...; :mod:`salcheck.saliency.catalogue`) or
    ``module:object`` (a method instance, a method class, or a captum attribution class)."""
    from salcheck.saliency import SaliencyMethod
    from salcheck.saliency.catalogue import CATALOGUE, build_method

    if not isinstance(name, str):
        return name  # already a method object
    if name in CATALOGUE:
        return build_method(name, seed)
    if ":" not in name:
        msg = f"unknown saliency method {name!r}; accepted: {', '.join(CATALOGUE)}, or MODULE:OBJECT"
        raise InvalidArgument(msg)
    module, _, attr = name.partition(":")
    try:
        obj = getattr(_import(module), attr)
    except (ImportError, AttributeError) as exc:
        msg = f"cannot import saliency method {name!r}: {exc}"
        raise InvalidArgument(msg) from exc
    if isinstance(obj, SaliencyMethod):
        return obj
    if isinstance(obj, type) and issubclass(obj, SaliencyMethod):
        return obj(seed=seed)
    if isinstance(obj, type) and hasattr(obj, "attribute"):
        from salcheck.saliency.captum_adapter import CaptumMethod

        return CaptumMethod(obj, seed=seed)
    if hasattr(obj, "attribute"):
        return obj
    msg = f"{name!r} is a {type(obj).__name__}, not a saliency method (needs .attribute)"
    raise InvalidArgument(msg)


def _import(module: str) -> Any:
    """Import ``module``; from a console script, also look in the current directory (as
    ``python -m`` does), so ``salcheck check mypkg:M`` works from the project's folder."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        cwd = os.getcwd()
        if cwd in sys.path:
            raise
        sys.path.insert(0, cwd)
        return importlib.import_module(module)


def method_name(method: Any) -> str:
    """A readable label: ``get_name()``, else ``name``, else the class name."""
    if hasattr(method, "get_name"):
        return str(method.get_name())
    return str(getattr(method, "name", type(method).__name__))


def method_fingerprint(method: Any) -> str | None:
    """sha256 over class, parameters and defining source; None when any part is unreadable."""
    parts: dict[str, Any] = {"class": _qualname(type(method))}
    try:
        parts["params"] = _stable(vars(method) if hasattr(method, "__dict__") else {})
        parts["code"] = [_code_id(c) for c in type(method).__mro__ if c is not object]
    except _Unstable:
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class _Unstable(Exception):
    """A part of a method has no text that names it across processes."""


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _code_id(cls: Any) -> str:
    """The package's version for captum's, MONAI's and torch's classes, else the sha256 of the
    defining module's source."""
    module = inspect.getmodule(cls)
    if module is None:
        raise _Unstable(cls)
    top = module.__name__.partition(".")[0]
    if top in ("captum", "monai", "torch", "builtins"):
        return f"{top} {getattr(importlib.import_module(top), '__version__', '?')}"
    try:
        inspect.getsource(cls)  # the class itself must be found in its module's file
        source = inspect.getsource(module)
    except (OSError, TypeError) as exc:
        raise _Unstable(cls) from exc
    return f"{module.__name__} {hashlib.sha256(source.encode()).hexdigest()}"


def _stable(value: Any) -> Any:
    """A JSON-able, process-independent form of a parameter value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, type) or inspect.isfunction(value):
        return {"code": _qualname(value), "source": _code_id(value)}
    if hasattr(value, "attribute") and not isinstance(value, type):  # a method inside a method
        inner = method_fingerprint(value)
        if inner is None:
            raise _Unstable(value)
        return {"method": inner}
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # an array or tensor: its bytes
        data = value.detach().cpu().numpy() if hasattr(value, "detach") else value
        digest = hashlib.sha256(data.tobytes()).hexdigest()
        return {"array": digest, "shape": list(data.shape), "dtype": str(data.dtype)}
    text = repr(value)
    if " at 0x" in text:
        raise _Unstable(value)
    return text
