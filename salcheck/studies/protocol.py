"""Which protocol reproduces the study? Each choice the poster leaves open, measured one at a time.

From a baseline (methods.md's definitions, ClinicaDL 1.x's batch of 8), each :class:`Switch`
changes one thing: a training setting (the models are trained again) or a setting of the
evaluation protocol (the same models, scored again). On the default training of the
homogeneous and heterogeneous sets, for every seed of the tier, the study gives a, b, c, b†, c†
per switch beside the poster's row, and each switch's *log-distance* to the poster:

    D = mean over datasets d and criteria k in (b, c, b†, c†) of | mean_s log x_{d,k,s} - log p_{d,k} |

(x: salcheck's value on seed s; p: the poster's number). A poster number is one training run,
so D of the seed mean leaves out the poster's own run-to-run spread; :meth:`Row.single_run`
gives the D of single runs instead, one seed per dataset against the poster, over every
combination of seeds (the exact distribution a percentile bootstrap of one drawn seed per
dataset approximates), and its central 95 % range. Every row trains with the tier's own stop
rule (early stopping on the validation loss, as the tiers' models do). A switch is *settled*
when ClinicaDL's own code (the poster's implementation) decides it, and salcheck follows the
code whatever D says: the row ``ClinicaDL's code`` applies every settled decision. Each
unsettled switch is then measured on top of that row, and adopted when it brings salcheck
closer to the poster (lower D than ``ClinicaDL's code``); ``adopted`` combines them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from salcheck.criteria import EvalProtocol
from salcheck.engine.plan import Plan
from salcheck.engine.tasks import Task
from salcheck.errors import InvalidArgument
from salcheck.saliency.resolve import MethodRef, resolve
from salcheck.science.findings import CRITERIA_KEYS, POSTER
from salcheck.store.files import Store
from salcheck.store.tiers import Tier, check_seeds
from salcheck.store.view import ResultsView

DATASETS = ("homogeneous", "heterogeneous")
DISTANCE_KEYS = ("b", "c", "b_dagger", "c_dagger")
TRAINING_FIELDS = ("batch_size", "selection")


@dataclass(frozen=True)
class Switch:
    """One choice changed from the baseline: ``field`` set to ``value``.

    ``clinicadl``: True when ClinicaDL's code does what the switch does, False when it does
    what the baseline does, None when its code does not say (the evidence decides);
    ``evidence``: where in ClinicaDL's code (or why it does not say).
    """

    name: str
    field: str
    value: Any
    clinicadl: bool | None
    evidence: str

    @property
    def training(self) -> bool:
        return self.field in TRAINING_FIELDS


SWITCHES: tuple[Switch, ...] = (
    Switch(
        "batch 2 (not 8)",
        "batch_size",
        2,
        True,
        "ClinicaDL 0.2.x (2020-21, the phantom study's code) trains with `--batch_size` default "
        "2; 1.1.1 and later default to 8",
    ),
    Switch(
        "model kept on balanced accuracy (not loss)",
        "selection",
        "balanced_accuracy",
        False,
        "ClinicaDL saves both checkpoints; `interpret` reads the best-loss one by default "
        "(0.2.x `--selection best_loss`, 1.6.1 `selection_metrics = ['loss']`)",
    ),
    Switch(
        "regions drawn per group (not analytic boxes)",
        "regions",
        "drawn",
        None,
        "the poster's criteria are not in ClinicaDL's repository (the study's scripts were "
        "kept out of git)",
    ),
    Switch(
        "|m| averaged (not signed m)",
        "averaging",
        "absolute",
        False,
        "ClinicaDL's `interpret` sums the signed gradients and divides by the group's size; "
        "no abs() anywhere",
    ),
    Switch(
        "Rest with the skull rim (not the brain only)",
        "rest",
        "skull",
        None,
        "the poster's criteria are not in ClinicaDL's repository",
    ),
    Switch(
        "correctly classified images only (not all)",
        "images",
        "correct",
        False,
        "ClinicaDL 0.2.x `interpret --keep_true` defaults to None: every image of the group",
    ),
)


@dataclass(frozen=True)
class Row:
    """One protocol scored: per dataset, per criterion, the per-seed values."""

    name: str
    training: dict[str, Any]
    evaluation: EvalProtocol
    values: dict[str, dict[str, list[float]]]  # dataset -> criterion -> per seed

    def distance(self) -> float:
        """D: the mean absolute log-distance to the poster (see the module docstring); NaN
        when a value is not positive."""
        with np.errstate(divide="ignore", invalid="ignore"):
            gaps = [
                abs(float(np.mean(np.log(self.values[d][k]))) - math.log(POSTER[(d, "default")][i]))
                for d in DATASETS
                for i, k in enumerate(CRITERIA_KEYS)
                if k in DISTANCE_KEYS
            ]
        return float(np.mean(gaps)) if all(np.isfinite(gaps)) else math.nan

    def single_run(self) -> np.ndarray:
        """D of every single run: for one seed s_d per dataset, the mean over datasets and
        criteria of | log x_{d,k,s_d} - log p_{d,k} |, one value per combination of seeds
        (the criteria of one dataset come from one run, as the poster's do). NaN where a
        value is not positive."""
        keys = [(i, k) for i, k in enumerate(CRITERIA_KEYS) if k in DISTANCE_KEYS]
        total = np.zeros(())
        for d in DATASETS:
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.log(np.array([self.values[d][k] for _, k in keys], float))  # (K, S_d)
            poster = np.log([POSTER[(d, "default")][i] for i, _ in keys])
            gaps = np.abs(logs - poster[:, None]).sum(0)  # (S_d,)
            total = np.add.outer(total, gaps)  # one axis per dataset
        mean = total / (len(DATASETS) * len(keys))
        return np.where(np.isfinite(mean), mean, np.nan).ravel()

    def single_run_range(self, level: float = 0.95) -> tuple[float, float]:
        """The central ``level`` range of :meth:`single_run` (NaN when a run's D is undefined)."""
        if not 0 < level < 1:
            raise InvalidArgument(f"level must be in (0, 1), got {level!r}")
        runs = self.single_run()
        if not runs.size or not np.isfinite(runs).all():
            return math.nan, math.nan
        lo, hi = np.quantile(runs, [(1 - level) / 2, (1 + level) / 2])
        return float(lo), float(hi)


def baseline(tier: Tier) -> tuple[dict[str, Any], EvalProtocol]:
    """The baseline the switches change: ClinicaDL 1.x's batch 8, the best-loss model, the
    tier's own stop rule (its epochs cap and patience: early stopping on the validation loss)
    and methods.md's definitions."""
    return {"batch_size": 8, "selection": "loss"}, EvalProtocol()


def stop_rule(tier: Tier) -> str:
    """The stop rule every row trains with, in words (the tier's default training)."""
    spec = tier.spec(DATASETS[0])
    if spec.patience is None:
        return f"{spec.epochs} epochs without early stopping"
    return f"early stopping on the validation loss (patience {spec.patience}, cap {spec.epochs} epochs)"


def _apply(
    switch: Switch, training: dict[str, Any], evaluation: EvalProtocol
) -> tuple[dict[str, Any], EvalProtocol]:
    if switch.training:
        return {**training, switch.field: switch.value}, evaluation
    return training, replace(evaluation, **{switch.field: switch.value})


CODE = "ClinicaDL's code"
SETTLED = tuple(s for s in SWITCHES if s.clinicadl is True)
OPEN = tuple(s for s in SWITCHES if s.clinicadl is None)


def on_code(switch: Switch) -> str:
    """The row name of an open switch measured on top of ClinicaDL's code."""
    return f"{CODE} + {switch.name}"


def adopted_switches(rows: dict[str, Row]) -> list[Switch]:
    """The switches ClinicaDL's code makes, and the open ones that lower D on top of them."""
    code = rows[CODE].distance()
    return [*SETTLED, *(s for s in OPEN if rows[on_code(s)].distance() < code)]


def protocols(
    tier: Tier, adopted: Iterable[Switch] | None = None
) -> dict[str, tuple[dict[str, Any], EvalProtocol]]:
    """name -> (training overrides, evaluation protocol): the baseline, each switch alone,
    ClinicaDL's code, each open switch on top of it, and (when ``adopted`` is given) the
    adopted combination."""
    training, evaluation = baseline(tier)
    out = {"baseline": (training, evaluation)}
    for s in SWITCHES:
        out[s.name] = _apply(s, training, evaluation)
    for s in SETTLED:
        training, evaluation = _apply(s, training, evaluation)
    out[CODE] = (training, evaluation)
    for s in OPEN:
        out[on_code(s)] = _apply(s, training, evaluation)
    if adopted is not None:
        for s in adopted:
            if s not in SETTLED:
                training, evaluation = _apply(s, training, evaluation)
        out["adopted"] = (training, evaluation)
    return out


def protocol_plan(tier: Tier, method: Any = "vanilla", *, seeds: Iterable[int] | None = None) -> Any:
    """The models and evaluations of every protocol (the adopted combination is planned by
    :func:`adopted_plan`, once the switches' rows are known)."""
    return _plan(tier, resolve(method), protocols(tier), seeds)


def _plan(tier: Tier, method: MethodRef, chosen: dict[str, Any], seeds: Iterable[int] | None) -> Any:
    seeds = check_seeds(tier.seeds if seeds is None else seeds, at_least=2)
    tasks = []
    for training, evaluation in chosen.values():
        for d in DATASETS:
            for s in seeds:
                spec = tier.spec(d, "default", s, **training)
                tasks += [
                    Task("model", spec),
                    Task("features", spec),
                    Task("maps", spec, method, evaluation),
                ]
    return Plan(tier.test(), tuple(tasks))


def adopted_plan(
    store: Store, tier: Tier, method: Any = "vanilla", *, seeds: Iterable[int] | None = None
) -> Any:
    """The plan of the adopted combination, decided from the stored switches' rows."""
    ref = resolve(method)
    rows = collect(store, tier, ref, seeds=seeds, adopted=False)
    chosen = protocols(tier, adopted_switches(rows))
    return _plan(tier, ref, {"adopted": chosen["adopted"]}, seeds)


def adopted_protocol(rows: dict[str, Row]) -> tuple[dict[str, Any], EvalProtocol]:
    """(training overrides, evaluation protocol) of the adopted row."""
    row = rows["adopted"]
    return row.training, row.evaluation


def collect(
    store: Store,
    tier: Tier,
    method: Any = "vanilla",
    *,
    seeds: Iterable[int] | None = None,
    adopted: bool = True,
) -> dict[str, Row]:
    """Every protocol's row, read from the store (``adopted``: with the adopted combination)."""
    ref = resolve(method)
    chosen = protocols(tier)
    rows = {name: _row(store, tier, ref, name, t, e, seeds) for name, (t, e) in chosen.items()}
    if adopted:
        t, e = protocols(tier, adopted_switches(rows))["adopted"]
        rows["adopted"] = _row(store, tier, ref, "adopted", t, e, seeds)
    return rows


def _row(
    store: Store,
    tier: Tier,
    method: MethodRef,
    name: str,
    training: dict[str, Any],
    evaluation: EvalProtocol,
    seeds: Iterable[int] | None,
) -> Row:
    view = ResultsView(store, tier, method, seeds=seeds, protocol=evaluation)
    values = {d: {k: view.values(d, "default", k, **training) for k in CRITERIA_KEYS} for d in DATASETS}
    return Row(name, training, evaluation, values)
