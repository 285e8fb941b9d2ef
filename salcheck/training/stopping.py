"""When training stops and which epoch's model is kept (early stopping and model selection).

Early stopping (in the sense of ClinicaDL's ``patience`` / ``tolerance``) watches the validation
loss: an epoch *improves* when its validation loss is below ``best * (1 - tolerance)``, where
``best`` is the lowest validation loss so far; training stops once ``patience`` epochs in a row
have not improved, or at the cap (the configuration's ``epochs``). ``patience=None`` runs every
epoch up to the cap.

Model selection keeps, for each rule of :data:`SELECTIONS`, the state of the best epoch seen so
far: the lowest validation loss (``loss``) or the highest validation balanced accuracy
(``balanced_accuracy``); a later epoch replaces it only when strictly better, so ties keep the
earlier epoch. Both rules are tracked in the same run: the stopping rule does not depend on the
selection, so the model kept under either rule is the model a run under that rule would keep.

A run is *still improving* when it stopped (at the cap) while its validation loss was still
falling: the best validation loss of its last ``patience`` epochs (the last quarter of the
epochs when it has no patience) is lower, by more than the tolerance, than the best before them
(:func:`still_improving`). A model *learned* when the kept epoch's validation balanced accuracy
reaches :data:`LEARNED_BALANCED_ACCURACY` (:func:`learned`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SELECTIONS = ("loss", "balanced_accuracy")
#: The validation balanced accuracy (chance 0.5) a kept model must reach to count as learned:
#: about three standard errors above chance on the 200 validation images of a 500-per-class set.
LEARNED_BALANCED_ACCURACY = 0.6
#: The test accuracy on a subtype's atrophied images a model must reach to have *learned* that
#: subtype: it calls most of them atrophied. A model below it on the atypical images gives an
#: atypical map (b†, c†) of images it takes for controls, and a claim on that map is undecidable.
LEARNED_SUBTYPE_ACCURACY = 0.5


def _better(selection: str, value: float, best: float) -> bool:
    return value < best if selection == "loss" else value > best


_METRIC = {"loss": "val_loss", "balanced_accuracy": "val_balanced_accuracy"}


@dataclass
class Checkpoint:
    """The best epoch under one selection rule, and that epoch's weights."""

    epoch: int = 0
    value: float = math.nan
    state: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class StopRule:
    """Follows one training run epoch by epoch: checkpoints per selection rule, and the stop.

    ``observe(entry, state)`` takes the epoch's history entry (``epoch``, ``val_loss``,
    ``val_balanced_accuracy``) and a function returning the model's state; it returns True
    when training should stop after this epoch.
    """

    epochs: int
    patience: int | None = None
    tolerance: float = 0.0
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)
    reason: str | None = None  # "patience" or "cap" once stopped
    epochs_run: int = 0
    _best_loss: float = math.inf
    _bad_epochs: int = 0

    def observe(self, entry: Mapping[str, float], state: Callable[[], dict[str, Any]]) -> bool:
        if self.reason is not None:
            return True
        self.epochs_run = int(entry["epoch"])
        for selection, metric in _METRIC.items():
            value = float(entry[metric])
            best = self.checkpoints.get(selection)
            if best is None or _better(selection, value, best.value):
                self.checkpoints[selection] = Checkpoint(self.epochs_run, value, copy.deepcopy(state()))
        loss = float(entry["val_loss"])
        if loss < self._best_loss * (1 - self.tolerance) or self._best_loss == math.inf:
            self._best_loss, self._bad_epochs = min(loss, self._best_loss), 0
        else:
            self._bad_epochs += 1
        if self.patience is not None and self._bad_epochs >= self.patience:
            self.reason = "patience"
        elif self.epochs_run >= self.epochs:
            self.reason = "cap"
        return self.reason is not None

    def summary(self) -> dict[str, Any]:
        """What the model record keeps: epochs run, why it stopped, best epoch per rule."""
        return {
            "epochs_run": self.epochs_run,
            "reason": self.reason or "cap",
            "best_epochs": {k: c.epoch for k, c in self.checkpoints.items()},
        }


def still_improving(
    history: Sequence[Mapping[str, float]], patience: int | None, tolerance: float = 0.0
) -> bool:
    """Whether the validation loss still fell in the last ``patience`` epochs of ``history``
    (the last quarter without patience) against the best before them, beyond ``tolerance``."""
    losses = [float(h["val_loss"]) for h in history]
    window = patience if patience else max(1, len(losses) // 4)
    if len(losses) <= window:
        return True  # too short to tell: not shown to have converged
    return min(losses[-window:]) < min(losses[:-window]) * (1 - tolerance)


def learned(history: Sequence[Mapping[str, float]], best_epoch: int) -> bool:
    """Whether the kept epoch's validation balanced accuracy reaches the learned floor."""
    if not 1 <= best_epoch <= len(history):
        return False
    return float(history[best_epoch - 1]["val_balanced_accuracy"]) >= LEARNED_BALANCED_ACCURACY


def learned_subtype(accuracy: Mapping[str, float], subtype: str = "atypical") -> bool:
    """Whether a model's test accuracy on the atrophied images of ``subtype``
    (``accuracy_AD_<subtype>``, :func:`salcheck.training.inference.accuracy`) reaches
    :data:`LEARNED_SUBTYPE_ACCURACY`; False when the test set has none.

    Examples:
        >>> [learned_subtype({"accuracy_AD_atypical": a}) for a in (0.2, 0.9)]
        [False, True]
    """
    value = accuracy.get(f"accuracy_AD_{subtype}")
    return value is not None and float(value) >= LEARNED_SUBTYPE_ACCURACY


def replay(
    history: Sequence[Mapping[str, float]], patience: int | None, tolerance: float, epochs: int
) -> tuple[int, int]:
    """(epochs run, kept epoch by validation loss) had ``history`` been trained under this stop
    rule. Exact whenever the rule stops no later than the run that recorded ``history`` (the
    same seed gives the same epochs up to the stop), e.g. a smaller patience or a larger
    tolerance than it ran with.

    Examples:
        >>> h = [{"epoch": e, "val_loss": v, "val_balanced_accuracy": 0.9}
        ...      for e, v in enumerate([1.0, 0.8, 0.9, 0.85, 0.7, 0.75], 1)]
        >>> replay(h, 2, 0.0, 10), replay(h, 3, 0.0, 10), replay(h, None, 0.0, 4)
        ((4, 2), (6, 5), (4, 2))
    """
    rule = StopRule(epochs, patience, tolerance)
    for entry in history:
        if rule.observe(entry, dict):
            break
    summary = rule.summary()
    return summary["epochs_run"], summary["best_epochs"]["loss"]
