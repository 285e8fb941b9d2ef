"""Saliency methods by name, and the fingerprint that names a method's results in the store.

A method's fingerprint covers its class, its parameters and the meaning of the code of every
class in its MRO (:func:`salcheck.fingerprint.code_id`): the ``version`` a class declares in
its own body (every salcheck method does: a refactor recomputes nothing), the version of captum
or MONAI for their classes, else the source of the defining module (editing a method of yours
that declares no version changes its fingerprint, and its results are computed afresh). A
method whose source cannot be read (defined in ``__main__``, a notebook, a C extension), even
one that declares a version, or whose parameters have no stable text (an object shown with its
memory address) has no fingerprint and is never answered from the store.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

from salcheck.errors import InvalidArgument
from salcheck.fingerprint import Unstable, code_id, import_here, qualname, stable
from salcheck.saliency.base import AttributionMethod, SaliencyMethod, method_tags
from salcheck.saliency.captum_adapter import CaptumMethod
from salcheck.saliency.catalogue import CATALOGUE, NULLS, build_method

DEFAULT_METHOD = "vanilla"
#: The fingerprint prefix of a method whose results no other run may read.
VOLATILE = "volatile:"


@dataclass(frozen=True)
class MethodRef:
    """A saliency method resolved once (:func:`resolve`): what the user named (``spec``), its
    readable ``name``, its ``fingerprint``, its tags, and the object. It travels as one value
    through plans, store keys, workers (pickled) and reports. Two refs are equal when spec,
    name, fingerprint and tags are. A method whose source cannot be read gets a fingerprint
    ``volatile:<process>:<spec>:<class>``: the same within the process that resolved it (the
    plan and the view key it alike), never answered to another run."""

    spec: str
    name: str
    fingerprint: str
    tags: tuple[tuple[str, bool | None], ...]
    method: AttributionMethod = field(compare=False, repr=False)

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
    if isinstance(method, MethodRef):
        return method
    if isinstance(method, str):
        obj = resolve_method(method, seed)
        module, _, attr = method.partition(":")
        named = getattr(sys.modules.get(module), attr, type(obj)) if attr else type(obj)
        return _ref(method, obj, f"{id(named):x}")
    return _ref(f"{type(method).__module__}:{type(method).__qualname__}", method, f"{id(method):x}")


#: Drawn once per process: a volatile fingerprint is stable within the process, never across.
_PROCESS = uuid.uuid4().hex


def _ref(spec: str, obj: Any, identity: str) -> MethodRef:
    """The ref of ``obj``; without a fingerprint, ``volatile:<process>:<spec>:<identity>``: the
    object a name resolves to (``MODULE:OBJECT``'s object, a catalogue method's class: the same
    name gives the same key within the process, an edited, re-imported class another), or the
    object itself when one was passed."""
    return MethodRef(
        spec=spec,
        name=method_name(obj),
        fingerprint=method_fingerprint(obj) or f"{VOLATILE}{_PROCESS}:{spec}:{identity}",
        tags=tuple(method_tags(obj).items()),
        method=obj,
    )


def resolve_method(name: str, seed: int = 0) -> AttributionMethod:
    """A saliency method from a name: a short name of the catalogue (``vanilla``,
    ``integrated-gradients``, ``random``, ...; :mod:`salcheck.saliency.catalogue`) or
    ``module:object`` (a method instance, a method class, or a captum attribution class)."""
    if not isinstance(name, str):
        return name  # already a method object
    if name in CATALOGUE:
        return build_method(name, seed)
    if ":" not in name:
        msg = f"unknown saliency method {name!r}; accepted: {', '.join(CATALOGUE)}, or MODULE:OBJECT"
        raise InvalidArgument(msg)
    module, _, attr = name.partition(":")
    try:
        obj = getattr(import_here(module), attr)
    except (ImportError, AttributeError) as exc:
        msg = f"cannot import saliency method {name!r}: {exc}"
        raise InvalidArgument(msg) from exc
    if isinstance(obj, SaliencyMethod):
        return obj
    if isinstance(obj, type) and issubclass(obj, SaliencyMethod):
        return _construct(obj, seed)
    if isinstance(obj, type) and hasattr(obj, "attribute"):
        return CaptumMethod(obj, seed=seed)
    if hasattr(obj, "attribute"):
        return obj
    msg = f"{name!r} is a {type(obj).__name__}, not a saliency method (needs .attribute)"
    raise InvalidArgument(msg)


def _construct(cls: type, seed: int) -> Any:
    """``cls(seed=seed)`` when its constructor takes a seed (or any keyword), else ``cls()``: a
    method class with its own ``__init__(self, scale=1.0)`` is built with its defaults."""
    params = inspect.signature(cls).parameters.values()
    takes_seed = any(p.name == "seed" or p.kind is p.VAR_KEYWORD for p in params)
    return cls(seed=seed) if takes_seed else cls()


def method_name(method: Any) -> str:
    """A readable label: ``get_name()``, else ``name``, else the class name."""
    if hasattr(method, "get_name"):
        return str(method.get_name())
    return str(getattr(method, "name", type(method).__name__))


def method_fingerprint(method: Any) -> str | None:
    """sha256 over class, parameters and defining source; None when any part is unreadable."""
    parts: dict[str, Any] = {"class": qualname(type(method))}
    try:
        params = vars(method) if hasattr(method, "__dict__") else {}
        parts["params"] = stable(params, nested=method_fingerprint)
        parts["code"] = [code_id(c) for c in type(method).__mro__ if c is not object]
    except Unstable:
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


@functools.cache
def _null_refs() -> tuple[MethodRef, ...]:
    return tuple(resolve(name) for name in NULLS)


def null_refs() -> list[MethodRef]:
    """The null maps (random, Sobel edges, constant, an untrained network's gradient), each
    resolved once per process."""
    return list(_null_refs())
