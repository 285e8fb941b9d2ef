"""Stable names for code and values across processes: what fingerprints of saliency methods and
networks are made of (a class's declared ``version`` of what it computes, else the source of
its defining module; a package's version; a parameter's text), and importing a user's
``MODULE:OBJECT`` from the current directory."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any


class Unstable(Exception):
    """A part of an object has no text that names it across processes."""


def import_here(module: str) -> Any:
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


def qualname(obj: Any) -> str:
    """``module.QualifiedName`` of a class or function."""
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def code_id(cls: Any) -> str:
    """What names a class's code by its meaning: the ``version`` the class declares in its own
    body (salcheck's methods do, and so may a user's: bump it when what the class computes
    changes), the package's version for captum's, MONAI's and torch's classes, else the sha256
    of the defining module's source (any edit is a new identity); raises :class:`Unstable` when
    the source cannot be read.

    Examples:
        >>> from salcheck.saliency import VanillaGradient
        >>> code_id(VanillaGradient)
        'salcheck.saliency.gradients.VanillaGradient version 1'
    """
    declared = vars(cls).get("version") if hasattr(cls, "__dict__") else None
    module = inspect.getmodule(cls)
    if isinstance(declared, (int, str)) and not isinstance(declared, bool):
        if module is None or module.__name__ == "__main__":  # no name another process reads
            raise Unstable(cls)
        try:
            inspect.getsource(cls)
        except (OSError, TypeError) as exc:  # a notebook's or exec'd class: no file to name it
            raise Unstable(cls) from exc
        return f"{qualname(cls)} version {declared}"
    if module is None:
        raise Unstable(cls)
    top = module.__name__.partition(".")[0]
    if top in ("captum", "monai", "torch", "builtins"):
        return f"{top} {getattr(importlib.import_module(top), '__version__', '?')}"
    try:
        inspect.getsource(cls)  # the class itself must be found in its module's file
        source = inspect.getsource(module)
    except (OSError, TypeError) as exc:
        raise Unstable(cls) from exc
    return f"{module.__name__} {hashlib.sha256(source.encode()).hexdigest()}"


def stable(value: Any, nested: Callable[[Any], str | None] | None = None) -> Any:
    """A JSON-able, process-independent form of a parameter value; ``nested`` fingerprints an
    object with an ``attribute`` method inside it (a method wrapping another). Raises
    :class:`Unstable` for a value shown by its memory address.

    Examples:
        >>> stable({"steps": 16, "sd": (0.1, 0.2)})
        {'sd': [0.1, 0.2], 'steps': 16}
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [stable(v, nested) for v in value]
    if isinstance(value, dict):
        return {str(k): stable(v, nested) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, type) or inspect.isfunction(value):
        return {"code": qualname(value), "source": code_id(value)}
    if nested is not None and hasattr(value, "attribute") and not isinstance(value, type):
        inner = nested(value)
        if inner is None:
            raise Unstable(value)
        return {"method": inner}
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # an array or tensor: its bytes
        data = value.detach().cpu().numpy() if hasattr(value, "detach") else value
        digest = hashlib.sha256(data.tobytes()).hexdigest()
        return {"array": digest, "shape": list(data.shape), "dtype": str(data.dtype)}
    text = repr(value)
    if " at 0x" in text:
        raise Unstable(value)
    return text
