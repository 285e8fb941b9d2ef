"""Every error salcheck raises on purpose derives from :class:`SalcheckError`.

Messages name the bad value and what is accepted, e.g.
``image_size must be a multiple of 32 and >= 32, got image_size=100``.
"""

from __future__ import annotations


class SalcheckError(Exception):
    """Root of salcheck's own errors."""


class InvalidArgument(SalcheckError, ValueError):
    """An argument outside its accepted range or set."""


class TrainingDiverged(SalcheckError, RuntimeError):
    """A training loss became NaN or infinite."""


class InvalidRecord(SalcheckError, ValueError):
    """A stored entry that is not a record of its kind, or not stored under its own key."""


class StoreError(SalcheckError, OSError):
    """A result store that cannot be used (not writable, wrong format version)."""


def check_choice(name: str, value: object, accepted: list[str] | tuple[str, ...]) -> None:
    """Raise InvalidArgument unless ``value`` is one of ``accepted``."""
    if value not in accepted:
        msg = f"unknown {name} {value!r}; accepted: {', '.join(map(str, accepted))}"
        raise InvalidArgument(msg)


class SilentEquivalenceWarning(UserWarning):
    """A method would silently compute another method's maps (e.g. a rule that never applies)."""
