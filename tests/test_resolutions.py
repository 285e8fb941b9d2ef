"""Every command that takes a saliency method resolves it, and each null map, once per process.

A resolution turns a name or a method object into a :class:`MethodRef` (it imports or builds
the method and fingerprints its code); every one goes through ``salcheck.saliency.resolve._ref``,
which the tests count (by fingerprint: ``"random"`` and ``RandomMap()`` are one method). Each
command runs in-process on a small tier, on an empty store (it stops at what is missing) and
then computing, through a stand-in for the engine's ``execute`` that plants results instead of
training: the models are untrained networks, the evaluations planted numbers, and the check
suites run for real on them. So every command goes from its plan to its page, no network
trained.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

import numpy as np
import pytest
import torch

import salcheck.checks
import salcheck.engine.plan
import salcheck.saliency.resolve as resolve_module
from salcheck.cli import main
from salcheck.engine.runner import run_checks
from salcheck.models import weights_bytes
from salcheck.models.custom import build_network
from salcheck.saliency.catalogue import NULLS
from salcheck.store import tiers
from salcheck.store.records import Evaluation, ModelResult
from salcheck.store.tiers import Tier

#: Map criteria every reader may ask for, and the accuracies of the features part.
MAP_KEYS = (
    "b", "c", "b_dagger", "c_dagger", "rma_typical", "rma_atypical", "rra_typical",
    "rra_atypical", "auc_typical", "auc_atypical", "pointing_typical", "pointing_atypical",
)  # fmt: skip
ACCURACIES = (
    "balanced_accuracy", "accuracy_AD_none", "accuracy_AD_typical", "accuracy_AD_atypical",
    "accuracy_atypical",
)  # fmt: skip
#: The ci tier's training sets on 32 x 32 images with a test set of 6 per class: nothing is
#: trained, so the sizes cost nothing, and the dose routes' points stay distinct.
PLANTED = Tier("planted", 32, {"homogeneous": 500, "heterogeneous": 500, "large": 2000}, 6, 1, 8, (0, 1))


class Resolutions:
    """How many times each method was resolved, by fingerprint (two specs of one method, a
    name and an object, count as one method), with the specs that resolved it."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.specs: defaultdict[str, set[str]] = defaultdict(set)
        self.names: dict[str, str] = {}

    def record(self, ref: resolve_module.MethodRef) -> None:
        key = ref.fingerprint if ref.cacheable else ref.spec
        self.counts[key] += 1
        self.specs[key].add(ref.spec)
        self.names[key] = ref.name

    def by_name(self) -> dict[str, int]:
        return {self.names[k]: n for k, n in self.counts.items()}

    def twice(self) -> dict[str, tuple[int, list[str]]]:
        return {self.names[k]: (n, sorted(self.specs[k])) for k, n in self.counts.items() if n > 1}


@pytest.fixture
def resolutions(monkeypatch):
    """Counts every resolution from a fresh process's state: the nulls' per-process cache is
    emptied first (and after, so no other test sees refs resolved under the counter)."""
    monkeypatch.setitem(tiers.TIERS, "planted", PLANTED)
    seen = Resolutions()
    real = resolve_module._ref

    def counting(spec, obj, identity):
        ref = real(spec, obj, identity)
        seen.record(ref)
        return ref

    monkeypatch.setattr(resolve_module, "_ref", counting)
    resolve_module._null_refs.cache_clear()
    yield seen
    resolve_module._null_refs.cache_clear()


def _noise(*parts: str) -> float:
    """A deterministic draw in [-0.05, 0.05] per model and method (seeds never tie)."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return (int(digest[:8], 16) / 0xFFFFFFFF - 0.5) / 10


def _plant(plan, store) -> None:
    """Done entries for every task of ``plan``: an untrained network for each model, planted
    numbers for each evaluation."""
    test = plan.test
    for t in plan.tasks:
        key = t.key(test)
        if t.part == "model":
            net = build_network(
                t.spec.model, t.spec.image_size, generator=torch.Generator().manual_seed(t.spec.seed)
            )
            history = [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.4, "val_balanced_accuracy": 0.9}]
            record = ModelResult(t.spec, "done", history, 1, {"train_s": 1.0}, {"git_commit": "abc"})
            record.weights_sha256 = store.put_blob("models", key, weights_bytes(net))
            store.put("models", key, record.to_dict())
            continue
        who = t.method.name if t.method is not None else "features"
        e = 1 + _noise(t.spec.key(), who, t.part)
        done: dict = {}
        if t.part == "features":
            done["criteria"] = {"a": 0.8 * e}
            done["accuracy"] = dict.fromkeys(ACCURACIES, 0.9 * e)
        elif t.part == "maps":
            done["criteria"] = {k: (2.0 if k[0] in "bc" else 0.5) * e for k in MAP_KEYS}
            done["maps"] = {"typical": np.full((4, 4), e), "atypical": np.ones((4, 4))}
        else:
            rows = [("none", 2.0 * e, 0.9), ("conv", 1.0 * e, 0.1 * e)]
            done["curve"] = [{"layer": n, "b": b, "c": b, "spearman": s} for n, b, s in rows]
        evaluation = Evaluation(
            part=t.part,
            model=t.spec,
            status="done",
            method=t.method.name if t.method is not None else None,
            fingerprint=t.method.fingerprint if t.method is not None else None,
            protocol=t.protocol.to_dict() if t.part != "features" else {},
            timings={"total_s": 1.0},
            provenance={"test": test.to_dict(), "git_commit": "abc"},
            identity=t.identity(test),
            **done,
        )
        store.put(t.part, key, evaluation.to_dict())


def planted_execute(plan, store, *, on_progress=None, **_):
    """The engine's ``execute`` with nothing trained: what the store lacks is planted; the
    check suites run for real on what was planted."""
    todo = plan.missing(store)
    _plant(todo, store)
    return run_checks(todo.checks, store, on_progress=on_progress)


@pytest.fixture
def planted(monkeypatch):
    monkeypatch.setattr(salcheck.engine.plan, "execute", planted_execute)
    monkeypatch.setattr(salcheck.checks, "execute", planted_execute)


#: Each command that takes a saliency method, as the tests call it (small: one cell, two methods,
#: one network, one route), and the methods it resolves: the user's, and the null maps it reads.
COMMANDS = {
    "run": (["run", "--datasets", "homogeneous", "--variants", "default"], ["vanilla"]),
    "report": (["report", "--out", "OUT"], ["vanilla", *NULLS]),
    "verdicts": (["verdicts"], ["vanilla", *NULLS]),
    # the check suite's nulls (random, constant, Sobel) are the process's null maps
    "check": (["check", "vanilla"], ["vanilla", *NULLS]),
    "baseline": (["baseline", "save", "vanilla", "OUT/baseline.json"], ["vanilla", *NULLS]),
    "benchmark": (
        ["benchmark", "--methods", "vanilla", "saliency", "--out", "OUT"],
        ["vanilla", "saliency", *NULLS],
    ),
    "networks": (
        ["networks", "--networks", "convnet", "--methods", "vanilla", "--out", "OUT"],
        ["vanilla", *NULLS],
    ),
    "protocol": (["protocol", "--out", "OUT"], ["vanilla"]),
    "dose": (["dose", "--route", "size", "--out", "OUT", "--write", "OUT"], ["vanilla", *NULLS]),
}
#: The commands that compute only with ``--run`` (the others always compute).
READERS = ("report", "verdicts", "benchmark", "networks", "protocol", "dose")


#: The readable name of each method the tests name (resolved here, before any is counted).
NAMES = {s: resolve_module.resolve(s).name for s in ("vanilla", "saliency", *NULLS)}


def _call(tmp_path, command: str, *extra: str) -> int:
    argv, _ = COMMANDS[command]
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    workers = [] if command == "baseline" else ["--workers", "1"]
    return main([*argv, "--tier", "planted", "--store", str(tmp_path / "store"), *workers, *extra])


def _names(command: str) -> set[str]:
    return {NAMES[s] for s in COMMANDS[command][1]}


def test_every_command_that_takes_a_method_is_covered():
    """A command given a method option (or argument) is in :data:`COMMANDS`."""
    from salcheck.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    takes = {
        name
        for name, parser in sub.choices.items()
        if any(a.dest in ("method", "methods") for a in parser._actions)
    }
    assert takes == set(COMMANDS)


@pytest.mark.parametrize("command", READERS)
def test_a_command_on_an_empty_store_resolves_each_method_once(command, resolutions, tmp_path):
    """Without ``--run`` it computes nothing and stops at what is missing, having resolved
    each method it reads at most once."""
    assert _call(tmp_path, command) in (0, 2)  # 2: the store lacks what it reads
    assert resolutions.counts, "no method was resolved"
    assert not resolutions.twice(), resolutions.twice()
    assert set(resolutions.by_name()) <= _names(command)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_resolves_each_method_once(command, resolutions, planted, tmp_path):
    """Planned, computed (planted), read and rendered in one process: each method it reads,
    the null maps included, resolved exactly once."""
    extra = ["--run"] if command in READERS else []
    assert _call(tmp_path, command, *extra) in (0, 1)  # 1: a check failed on planted numbers
    assert not resolutions.twice(), resolutions.twice()
    assert set(resolutions.by_name()) == _names(command)


def test_the_null_maps_are_resolved_once_per_process(resolutions, tmp_path):
    """Two commands in one process: the user's method once per command, the nulls once."""
    assert _call(tmp_path, "verdicts") == 0
    assert _call(tmp_path, "verdicts", "--method", "saliency") == 0
    assert resolutions.by_name() == {
        NAMES["vanilla"]: 1,
        NAMES["saliency"]: 1,
        **{NAMES[n]: 1 for n in NULLS},
    }


def test_verdicts_record_only_what_the_tiers_grid_decides(planted, monkeypatch, tmp_path):
    """A store may hold cells outside a tier's grid (``run --variants Noise`` at ci3d, which
    trains the default cells only): the tier's record decides only its grid's comparisons."""
    from dataclasses import replace

    from salcheck.science.verdicts import read_record

    narrow = replace(PLANTED, name="narrow", grid_cells=(("homogeneous", "default"),))
    monkeypatch.setitem(tiers.TIERS, "planted", PLANTED)
    monkeypatch.setitem(tiers.TIERS, "narrow", narrow)
    store = ["--store", str(tmp_path / "store"), "--workers", "1"]
    cells = ["--datasets", "homogeneous", "--variants", "default", "Noise"]
    assert main(["run", "--tier", "planted", *cells, *store]) == 0
    assert main(["verdicts", "--tier", "narrow", "--write", str(tmp_path / "v"), *store]) == 0
    decided = read_record(tmp_path / "v" / "narrow-vanilla-gradient.json")["verdicts"]
    assert "A-homogeneous-default" in decided  # the grid's cell, features only: no null maps
    assert "A-homogeneous-Noise" not in decided  # held in the store, outside the grid


@pytest.mark.parametrize("command", ["benchmark", "networks"])
def test_a_study_page_on_an_empty_store_says_how_much_is_missing(command, resolutions, tmp_path, capsys):
    """Without ``--run`` a study page refuses to render from a store and zoo that lack its
    plan, and says how much of it is missing and how to compute it."""
    assert _call(tmp_path, command) == 2
    err = capsys.readouterr().err
    assert f"salcheck {command}: error: the store {tmp_path / 'store'} and the zoo lack " in err
    assert "maps evaluations" in err
    assert f"of the {command}'s plan; compute them with `salcheck {command} --run`" in err
