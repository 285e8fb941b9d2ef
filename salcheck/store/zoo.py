"""The model zoo: a tier's trained models and their evaluations, committed under ``zoo/<tier>/``.

Train once, judge anywhere: a fresh clone reads the zoo instead of retraining. The zoo has the
store's layout (:mod:`salcheck.store.files`) without its format folder: ``zoo/<tier>/<kind>/
<key>.json`` (each ``{"sha256", "entry"}``, checked on every read like a store entry) and
``zoo/<tier>/models/<key>.safetensors`` (float16 weights, their sha256 in the model's entry).
An evaluation's group maps lie once in ``zoo/<tier>/arrays/<sha256>.json``, named by the
evaluation (:data:`~salcheck.store.files.ARRAYS`): a null map that does not depend on the model
is kept once, not once per model. No pickle anywhere. Every
:class:`~salcheck.store.files.Store` reads the zoo as a read-only layer after its own entries;
what is computed goes to the store, never to the zoo.

``add`` copies finished entries from a store: it adds files and rewrites none, so a long run
can commit what it finished at any point. ``pack`` moves the group maps of entries written
with their maps inline (by an earlier salcheck) into the shared arrays, reading each back
equal, and removes array files no entry names. ``verify`` checks every file: its checksum, its
record, its key against its content under this code's declared versions (a forgotten bump of
:data:`~salcheck.store.keys.MODEL_FORMAT_VERSION` or
:data:`~salcheck.store.keys.EVALUATION_VERSIONS` shows as entries of another version), and
each model's weights against their sha256, and every shared array against its name (one no
entry names is reported too).

Where: ``$SALCHECK_ZOO`` (``none`` reads no zoo: everything is computed afresh), else the
``zoo/`` folder of the source checkout salcheck runs from, else (an installed package) the
user cache that ``salcheck zoo fetch`` fills (:mod:`salcheck.store.zoo_fetch`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import salcheck.atomic as atomic
from salcheck.errors import InvalidArgument
from salcheck.store.files import (  # where the zoo is: beside where the store is
    ARRAYS,
    BLOB_SUFFIX,
    CORRUPTED,
    KINDS,
    Store,
    _read,
    _valid,
    array_name,
    array_references,
    array_text,
    checked,
    entry_json,
    inline_arrays,
    is_array_reference,
    zoo_layers,
    zoo_root,
)
from salcheck.store.keys import EVALUATION_VERSIONS, ModelSpec
from salcheck.store.records import check_entry


def tier_dir(root: Path, tag: str) -> Path:
    """The zoo folder of the tier named ``tag`` (:attr:`Tier.tag`)."""
    if not tag or "/" in tag or tag.startswith("."):
        raise InvalidArgument(f"a zoo tier must be a plain folder name, got {tag!r}")
    return root / tag


@dataclass
class Added:
    """What :func:`add` copied (per kind) and left as it was (already in the zoo)."""

    copied: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)  # "kind/key (why)"


def _model_keys(entry: dict[str, Any], kind: str) -> list[str]:
    """The keys of the models an evaluation or a check-suite entry reads."""
    if kind == "checks":
        return [str(k) for k in (entry.get("identity") or {}).get("models") or []]
    return [ModelSpec.from_dict(entry["model"]).key()]


def _current(kind: str, entry: dict[str, Any], test: dict[str, Any] | None = None) -> str | None:
    """Why ``entry`` does not belong in a zoo of this code (None when it does): unfinished, of
    another declared version, or (unless ``test`` is None) on another test set."""
    if entry.get("status") != "done":
        return "not finished"
    if kind == "models":
        return None
    identity = entry.get("identity") or {}
    if identity.get("version") != EVALUATION_VERSIONS[kind]:
        return f"version {identity.get('version')} is not this code's {EVALUATION_VERSIONS[kind]}"
    if test is not None and identity.get("test") != test:
        return "another test set"
    return None


def tier_models(store: Store, tier: Any, seeds: Iterable[int] | None = None) -> list[str]:
    """The keys of the finished models in ``store`` at ``tier``'s scale and training protocol:
    its image size, network, batch, learning rate, stop rule and selection (the grid's cells,
    the F2 control, and the drawn cohorts and dose points its properties train), of ``seeds``
    (default: every seed)."""
    wanted = None if seeds is None else set(seeds)
    grid = tier.spec("homogeneous")
    stops = {(grid.epochs, grid.patience), (tier.spec("homogeneous-steps").epochs, None)}
    out = []
    for key, entry in store.items("models"):
        spec = ModelSpec.from_dict(entry["spec"])
        same_scale = (spec.image_size, spec.model) == (tier.image_size, tier.network)
        same_training = (spec.batch_size, spec.learning_rate, spec.tolerance, spec.selection) == (
            grid.batch_size,
            grid.learning_rate,
            grid.tolerance,
            grid.selection,
        ) and (spec.epochs, spec.patience) in stops
        wanted_seed = wanted is None or spec.seed in wanted
        if entry.get("status") == "done" and same_scale and same_training and wanted_seed:
            out.append(key)
    return out


def add(store: Store, root: Path, tier: Any, model_keys: Iterable[str]) -> Added:
    """Copy the finished models ``model_keys`` of ``tier`` from ``store`` into the zoo at
    ``root``, with every finished evaluation of this code's versions on the tier's test set
    that reads only them or models the zoo already holds (a model committed earlier and
    evaluated since, in a store that never held it); files already in the zoo are left as
    they are."""
    target = tier_dir(root, tier.tag)
    wanted = set(model_keys) | {p.stem for p in (target / "models").glob("*.json")}
    test = tier.test().to_dict()
    out = Added()
    for kind in KINDS:
        for key, entry in store.items(kind, on_bad=lambda why: out.skipped.append(why)):
            reads = [key] if kind == "models" else _model_keys(entry, kind)
            if not set(reads) <= wanted:
                continue
            try:
                check_entry(kind, key, entry)  # filed under its own key, or it stays out
            except CORRUPTED as exc:
                out.skipped.append(f"{kind}/{key} ({exc})")
                continue
            why = _current(kind, entry, test)
            if why is not None:
                out.skipped.append(f"{kind}/{key} ({why})")
                continue
            dest = target / kind / f"{key}.json"
            if dest.exists():
                out.present[kind] += 1
                continue
            if kind == "models":
                blob = store.get_blob(kind, key, entry.get("weights_sha256"))
                if blob is None:
                    out.skipped.append(f"{kind}/{key} (weights missing)")
                    continue
                atomic.write_bytes(target / kind / f"{key}{BLOB_SUFFIX}", blob)
            atomic.write_text(dest, entry_json(share_arrays(target, entry)))
            out.copied[kind] += 1
    return out


def _shared_form(entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(``entry`` naming each inline group map by its sha256, the texts of those arrays by name).
    Pure: nothing is written."""
    maps = entry.get("maps")
    if not isinstance(maps, dict) or not maps:
        return entry, {}
    named, texts = {}, {}
    for group, encoded in maps.items():
        if is_array_reference(encoded):
            named[group] = encoded
            continue
        text = array_text(encoded)
        sha = array_name(text)
        texts[sha] = text
        named[group] = {"array": sha}
    return {**entry, "maps": named}, texts


def _write_arrays(layer: Path, texts: dict[str, str]) -> None:
    """Write each array file that is missing or damaged (its bytes not the ones its name hashes;
    its name is its content, so rewriting it is safe beside another writer)."""
    for sha, text in texts.items():
        path = layer / ARRAYS / f"{sha}.json"
        if not path.exists() or array_name(path.read_bytes()) != sha:
            atomic.write_text(path, text)


def share_arrays(layer: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with each inline group map written once to ``layer``'s shared arrays and named
    by its sha256. The arrays are written before the caller writes the entry, so an entry never
    names a missing array (a crash between the two leaves an array no entry names: see
    :func:`pack`)."""
    shared, texts = _shared_form(entry)
    _write_arrays(layer, texts)
    return shared


@dataclass
class Packed:
    """What :func:`pack` did: entries rewritten, arrays no entry named (removed), problems."""

    rewritten: int = 0
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def pack(layer: Path) -> Packed:
    """Move the inline group maps of ``layer``'s evaluations into its shared arrays, then remove
    the array files no entry names (left by an interrupted ``add``). Each rewritten entry must
    read back equal to the one it replaces before anything of it is written; an entry that
    cannot be read is a problem (named, left as it is, and no array is removed)."""
    if not (layer / "models").is_dir():
        raise InvalidArgument(f"{layer} is not a zoo tier folder (it has no models/ folder)")
    out = Packed()
    named: set[str] = set()
    for kind in KINDS:
        for path in sorted((layer / kind).glob("*.json")):
            try:
                entry = _read(path)
                named |= set(array_references(entry))
                maps = entry.get("maps") if isinstance(entry, dict) else None
                if not isinstance(maps, dict) or all(is_array_reference(v) for v in maps.values()):
                    continue
                whole = inline_arrays(layer, entry)  # an entry already partly packed, whole
                shared, texts = _shared_form(whole)
                back = json.loads(entry_json(shared))["entry"]
                back["maps"] = {g: json.loads(texts[v["array"]]) for g, v in back["maps"].items()}
                if back != whole:
                    raise ValueError("its packed form does not read back equal")
                _write_arrays(layer, texts)
                atomic.write_text(path, entry_json(shared))
                named |= set(texts)
                out.rewritten += 1
            except CORRUPTED as exc:
                out.problems.append(f"{layer.name}/{kind}/{path.name}: {exc}; left as it was")
    folder = layer / ARRAYS
    if not out.problems and folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            if path.stem not in named:
                path.unlink()
                out.removed.append(path.name)
    return out


@dataclass
class Verified:
    """What :func:`verify` found: files checked per kind, problems, seconds, megabytes."""

    checked: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    megabytes: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(root: Path | None = None) -> Verified:
    """Check every file of the zoo (see the module docstring); never raises on a bad file."""
    t0 = time.perf_counter()
    out = Verified()
    layers = zoo_layers(root)
    if not layers:
        out.problems.append(f"{root or zoo_root()}: no tier folder (<tier>/models/) to verify")
    for layer in layers:
        test_of_layer: set[str] = set()
        named: set[str] = set()  # the shared arrays some entry names (damaged ones included)
        arrays: dict[str, dict[str, Any]] = {}  # each read, checked against its name, once
        for kind in KINDS:
            folder = layer / kind
            names = sorted(folder.glob("*.json")) if folder.is_dir() else []
            for path in names:
                out.checked[kind] += 1
                where = f"{layer.name}/{kind}/{path.name}"
                try:
                    data = json.loads(path.read_text())
                    named |= {str(a) for a in array_references(data.get("entry"))}
                    entry = _valid(kind, path.stem, inline_arrays(layer, checked(data), arrays))
                except CORRUPTED as exc:
                    out.problems.append(f"{where}: {exc}")
                    continue
                why = _current(kind, entry)
                if why is not None:
                    out.problems.append(f"{where}: {why}")
                if kind != "models":
                    test_of_layer.add(json.dumps(entry["identity"].get("test"), sort_keys=True))
                    continue
                out.problems += _check_blob(layer, path.stem, entry, where)
            stray = sorted(
                p.name for p in (folder.iterdir() if folder.is_dir() else []) if not _expected(kind, p)
            )
            out.problems += [f"{layer.name}/{kind}/{name}: not a zoo file" for name in stray]
        out.problems += _check_arrays(layer, named, set(arrays), out)
        if len(test_of_layer) > 1:
            out.problems.append(f"{layer.name}: evaluations on {len(test_of_layer)} test sets")
    out.megabytes = (
        sum(p.stat().st_size for layer in layers for p in layer.rglob("*") if p.is_file()) / 1e6
    )
    out.seconds = time.perf_counter() - t0
    return out


def _check_arrays(layer: Path, named: set[str], read: set[str], out: Verified) -> list[str]:
    """Problems of ``layer``'s shared arrays: a file no entry names (``salcheck zoo pack``
    removes it), or one whose bytes are not the ones its name hashes (those already ``read``
    through an entry were checked then; an entry naming a missing or damaged array is reported
    with it)."""
    folder = layer / ARRAYS
    problems = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        out.checked[ARRAYS] += 1
        where = f"{layer.name}/{ARRAYS}/{path.name}"
        if path.suffix != ".json":
            problems.append(f"{where}: not a zoo file")
        elif path.stem not in read and array_name(path.read_bytes()) != path.stem:
            problems.append(f"{where}: its bytes do not match its name")
        elif path.stem not in named:
            problems.append(f"{where}: no entry names it (salcheck zoo pack removes it)")
    return problems


def _expected(kind: str, path: Path) -> bool:
    if path.suffix == ".json":
        return True
    return kind == "models" and path.name.endswith(BLOB_SUFFIX) and path.with_suffix(".json").exists()


def _check_blob(layer: Path, key: str, entry: dict[str, Any], where: str) -> list[str]:
    blob = layer / "models" / f"{key}{BLOB_SUFFIX}"
    if not blob.exists():
        return [f"{where}: its weights {blob.name} are missing"]
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    if digest != entry.get("weights_sha256"):
        return [f"{where}: weights sha256 {digest[:12]}... is not the entry's"]
    return []


def progress(layer: Path, tier: Any, workers: int = 2) -> dict[str, Any]:
    """How far the zoo folder ``layer`` holds ``tier``'s grid: models done of the grid's, and
    the hours left on ``workers``, measured from the epochs the done models ran: their mean
    seconds per training image and epoch, times each missing model's images (2 n_per_class)
    and epochs (its fixed length without early stopping; with it, the mean epochs the done
    models of its dataset ran, else of every done model that stopped early); and
    ``worker_hours``, the hours the done models' training took on one worker (their epochs'
    recorded seconds, which a resumed model's ``train_s`` counts only since its resumption)."""
    done, rates, epochs_run, spent = 0, [], {}, 0.0  # type: ignore[var-annotated]
    missing = []
    for spec in tier.grid():
        path = layer / "models" / f"{spec.key()}.json"
        if not path.exists():
            missing.append(spec)
            continue
        done += 1
        try:
            entry = json.loads(path.read_text())["entry"]
            ran, trained = len(entry["history"]), float(entry["timings"]["train_s"])
            epochs_s = [h.get("seconds") for h in entry["history"]]
            spent += trained if None in epochs_s else sum(map(float, epochs_s))
            rates.append(trained / (ran * 2 * spec.train_spec().n_per_class))
        except (ValueError, KeyError, TypeError, ZeroDivisionError):
            continue  # verify names a damaged file; its time is not counted
        if spec.patience is not None:
            epochs_run.setdefault(spec.dataset, []).append(ran)
    every = [e for runs in epochs_run.values() for e in runs]

    def epochs(spec: Any) -> float:
        if spec.patience is None:
            return float(spec.epochs)
        runs = epochs_run.get(spec.dataset) or every or [spec.epochs]
        return sum(runs) / len(runs)

    hours = None
    if rates:
        rate = sum(rates) / len(rates)
        seconds = sum(rate * 2 * s.train_spec().n_per_class * epochs(s) for s in missing)
        hours = seconds / workers / 3600
    return {"done": done, "of": done + len(missing), "hours_left": hours, "worker_hours": spent / 3600}


def status(root: Path | None = None) -> list[dict[str, Any]]:
    """Per tier folder: entries per kind, megabytes, and the cells x seeds of its models."""
    out = []
    for layer in zoo_layers(root):
        counts = {kind: len(list((layer / kind).glob("*.json"))) for kind in KINDS}
        cells: dict[str, set[int]] = {}
        for path in sorted((layer / "models").glob("*.json")):
            try:
                spec = json.loads(path.read_text())["entry"]["spec"]
                cell = f"{spec['dataset']}/{spec['variant']}/{spec['epochs']}ep"
                seed = int(spec["seed"])
            except (ValueError, KeyError, TypeError):
                continue  # verify names it
            cells.setdefault(cell, set()).add(seed)
        size = sum(p.stat().st_size for p in layer.rglob("*") if p.is_file()) / 1e6
        out.append(
            {
                "tier": layer.name,
                "entries": counts,
                "megabytes": round(size, 1),
                "cells": {c: sorted(s) for c, s in sorted(cells.items())},
            }
        )
    return out
