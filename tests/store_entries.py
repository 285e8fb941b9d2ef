"""Valid store entries built without training, for the tests of the store, its readers and bundles."""

from __future__ import annotations

import numpy as np

from salcheck.store.files import Store
from salcheck.store.keys import ModelSpec, TestSpec, content_key, evaluation_payload
from salcheck.store.records import Evaluation, ModelResult

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
    identity = evaluation_payload("maps", s, test, fingerprint, PROTOCOL)
    done = status == "done"
    result = Evaluation(
        part="maps",
        model=s,
        status=status,
        method=method,
        fingerprint=fingerprint,
        protocol=dict(PROTOCOL),
        criteria={"b": b, "c": 1.5, "b_dagger": 1.1, "c_dagger": 1.2} if done else {},
        maps={"typical": np.ones((4, 4)), "atypical": np.zeros((4, 4))} if done else {},
        provenance={"test": test.to_dict(), "git_commit": "abc"} if done else {"traceback": "..."},
        error=None if done else "RuntimeError: boom",
        identity=identity,
    )
    return content_key(identity), result.to_dict()


def fill(store: Store, n: int = 3, status: str = "done") -> dict[str, list[str]]:
    """``n`` models (with weights) and one maps evaluation of each; returns their keys per kind."""
    keys: dict[str, list[str]] = {"models": [], "maps": []}
    for i in range(n):
        s = spec(i)
        sha = store.put_blob("models", s.key(), bytes([i]) * 10) if status == "done" else None
        store.put("models", s.key(), model_entry(s, status, sha))
        key, entry = evaluation_entry(s, b=float(i + 1), status=status)
        store.put("maps", key, entry)
        keys["models"].append(s.key())
        keys["maps"].append(key)
    return keys
