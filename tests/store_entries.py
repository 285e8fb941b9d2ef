"""Valid store entries of every kind built without training, for the tests of the store, its
readers and bundles: each as the runner stores it, with the identity its key hashes."""

from __future__ import annotations

import numpy as np

from salcheck.engine.plan import execute, specs_plan
from salcheck.store.files import Store
from salcheck.store.keys import ModelSpec, TestSpec, checks_payload, content_key, evaluation_payload
from salcheck.store.records import CheckRecord, Evaluation, ModelResult

TEST = TestSpec(32, 6)
FINGERPRINT = "fingerprint-of-a-method"
PROTOCOL = {"averaging": "signed", "images": "all", "regions": "boxes", "rest": "brain"}


def spec(seed: int = 0, **overrides) -> ModelSpec:
    return ModelSpec(
        "homogeneous", seed=seed, **{"n_per_class": 12, "image_size": 32, "epochs": 1, **overrides}
    )


def model_entry(s: ModelSpec, status: str = "done", weights_sha256: str | None = None) -> dict:
    history = [{"epoch": 1, "train_loss": 0.6, "val_loss": 0.5, "val_balanced_accuracy": 0.75}]
    return ModelResult(
        spec=s,
        status=status,
        history=history if status == "done" else [],
        best_epoch=1 if status == "done" else 0,
        provenance={"git_commit": "abc", "finished_at": "2026-01-01T00:00:00Z"},
        error=None if status == "done" else "RuntimeError: boom",
        weights_sha256=weights_sha256,
    ).to_dict()


def _part(
    part: str, s: ModelSpec, status: str, test: TestSpec, fingerprint: str | None, **done
) -> tuple:
    """(key, entry) of one evaluation ``part``: ``done`` holds its numbers when finished."""
    method_part = part != "features"
    identity = evaluation_payload(
        part, s, test, fingerprint if method_part else None, PROTOCOL if method_part else None
    )
    ok = status == "done"
    result = Evaluation(
        part=part,
        model=s,
        status=status,
        method=done.pop("method", None) if method_part else None,
        fingerprint=fingerprint if method_part else None,
        protocol=dict(PROTOCOL) if method_part else {},
        provenance={"test": test.to_dict(), "git_commit": "abc"} if ok else {"traceback": "..."},
        error=None if ok else "RuntimeError: boom",
        identity=identity,
        **(done if ok else {}),
    )
    return content_key(identity), result.to_dict()


def evaluation_entry(
    s: ModelSpec,
    b: float = 2.0,
    status: str = "done",
    *,
    test: TestSpec = TEST,
    fingerprint: str = FINGERPRINT,
    method: str = "Some method",
) -> tuple[str, dict]:
    """(key, entry) of a maps evaluation as the runner stores it."""
    return _part(
        "maps",
        s,
        status,
        test,
        fingerprint,
        method=method,
        criteria={"b": b, "c": 1.5, "b_dagger": 1.1, "c_dagger": 1.2},
        maps={"typical": np.ones((4, 4)), "atypical": np.zeros((4, 4))},
    )


def features_entry(
    s: ModelSpec, a: float = 1.5, status: str = "done", *, test: TestSpec = TEST
) -> tuple[str, dict]:
    """(key, entry) of a features evaluation (criterion a and test accuracy)."""
    return _part(
        "features", s, status, test, None, criteria={"a": a}, accuracy={"balanced_accuracy": 0.8}
    )


def randomisation_entry(
    s: ModelSpec,
    spearman: float = 0.1,
    status: str = "done",
    *,
    test: TestSpec = TEST,
    fingerprint: str = FINGERPRINT,
    method: str = "Some method",
) -> tuple[str, dict]:
    """(key, entry) of a cascading-randomisation curve: the trained model's row, then one per
    randomised layer (``spearman`` after the last)."""
    curve = [
        {"layer": "none", "b": 2.0, "c": 1.5, "spearman": 1.0},
        {"layer": "classifier", "b": 1.2, "c": 1.1, "spearman": spearman},
    ]
    return _part("randomisation", s, status, test, fingerprint, method=method, curve=curve)


def checks_entry(
    models: list[ModelSpec],
    status: str = "done",
    *,
    test: TestSpec = TEST,
    fingerprint: str = FINGERPRINT,
    method: str = "Some method",
    passed: bool = True,
) -> tuple[str, dict]:
    """(key, entry) of a method's check-suite record on the reference ``models``."""
    identity = checks_payload(fingerprint, models, test, PROTOCOL)
    ok = status == "done"
    result = {"method": method, "check": "randomisation", "claim": "maps change", "passed": passed}
    record = CheckRecord(
        method=method,
        fingerprint=fingerprint,
        tier="tiny",
        results=[{**result, "numbers": {"rho": 0.1}, "skipped": None}] if ok else [],
        provenance={"seeds": [m.seed for m in models], "git_commit": "abc"},
        status=status,
        error=None if ok else "RuntimeError: boom",
        identity=identity,
    )
    return content_key(identity), record.to_dict()


def fill(store: Store, n: int = 3, status: str = "done") -> dict[str, list[str]]:
    """``n`` models (with weights), the features, maps and randomisation curve of each, and one
    check suite on them all; returns their keys per kind."""
    keys: dict[str, list[str]] = {k: [] for k in ("models", "features", "maps", "randomisation")}
    for i in range(n):
        s = spec(i)
        sha = store.put_blob("models", s.key(), bytes([i]) * 10) if status == "done" else None
        store.put("models", s.key(), model_entry(s, status, sha))
        keys["models"].append(s.key())
        for kind, (key, entry) in (
            ("features", features_entry(s, a=float(i + 1), status=status)),
            ("maps", evaluation_entry(s, b=float(i + 1), status=status)),
            ("randomisation", randomisation_entry(s, spearman=0.1 * i, status=status)),
        ):
            store.put(kind, key, entry)
            keys[kind].append(key)
    key, entry = checks_entry([spec(i) for i in range(n)], status)
    store.put("checks", key, entry)
    keys["checks"] = [key]
    return keys


def paths(value, depth: int = 3) -> list[tuple]:
    """The paths into ``value`` (dict keys; a list's first item), ``depth`` levels deep."""
    if depth == 0:
        return []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value[:1]))
    else:
        items = []
    return [(k, *rest) for k, v in items for rest in [(), *paths(v, depth - 1)]]


def run_grid(
    specs, store, *, test, methods=("vanilla",), parts=("features", "maps"), protocol=None, **options
):
    """Execute the plan of ``specs`` x ``methods`` x ``parts`` (the engine's one computing entry)."""
    return execute(
        specs_plan(test, specs, methods=methods, parts=parts, protocol=protocol), store, **options
    )
