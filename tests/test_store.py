import json
import os
import subprocess
import sys
import textwrap

import pytest
import store_entries as se
from store_entries import run_grid

from salcheck.engine.runner import model_entry
from salcheck.errors import StoreError
from salcheck.store.files import KINDS, Store
from salcheck.store.keys import (
    EVALUATION_VERSIONS,
    ModelSpec,
    content_key,
    evaluation_payload,
)
from salcheck.store.records import ModelResult

slow = pytest.mark.slow  # trains networks

TINY = {"n_per_class": 12, "image_size": 32, "epochs": 1}


def test_put_get_round_trip_and_cache(tmp_path):
    store = Store(tmp_path)
    s = se.spec(0)
    assert store.get("models", s.key()) is None
    calls = []
    compute = lambda status: lambda: calls.append(status) or se.model_entry(s, status)
    entry, cached = store.get_or_compute("models", s.key(), compute("failed"), usable=lambda e: True)
    assert not cached and calls == ["failed"] and entry == se.model_entry(s, "failed")
    entry, cached = store.get_or_compute("models", s.key(), compute("done"), usable=lambda e: True)
    assert cached and entry["status"] == "failed" and len(calls) == 1
    usable = lambda e: e["status"] == "done"
    entry, cached = store.get_or_compute("models", s.key(), compute("done"), usable=usable)
    assert not cached and entry == se.model_entry(s), "an unusable entry is recomputed"
    assert store.get("models", s.key()) == entry
    assert not list(store.dir.rglob("*.tmp"))
    with pytest.raises(StoreError, match="unknown store kind 'cells'; accepted: models"):
        store.get("cells", s.key())


def test_corrupted_entry_is_reported_set_aside_and_recomputed(tmp_path):
    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    key, entry = se.evaluation_entry(se.spec(0), b=2.0)
    path = store.put("maps", key, entry)
    data = json.loads(path.read_text())
    data["entry"]["criteria"]["b"] = 99.0  # a flipped number: the checksum no longer matches
    path.write_text(json.dumps(data))
    assert store.scan("maps") == ([], [f"maps/{path.name} (checksum mismatch)"])
    got, cached = store.get_or_compute("maps", key, lambda: entry, usable=lambda e: True)
    assert not cached and got["criteria"]["b"] == 2.0
    assert "corrupted entry" in warnings[0] and "checksum mismatch" in warnings[0]
    assert path.with_suffix(".corrupt").exists()
    assert store.scan("maps") == ([entry], [f"maps/{key}.corrupt (set aside)"])
    path.write_text(path.read_text()[:20])  # truncated JSON
    assert store.get("maps", key) is None
    assert "corrupted" in warnings[-1]


def test_every_derived_kind_declares_the_version_of_its_meaning():
    """Each evaluation kind has a declared version in its key, and no source text: an entry
    stored under another version is not the one this code asks for."""
    assert set(EVALUATION_VERSIONS) == set(KINDS) - {"models"}
    key, entry = se.evaluation_entry(se.spec(0), b=2.0)
    assert entry["identity"]["version"] == EVALUATION_VERSIONS["maps"]
    assert "code" not in entry["identity"]
    same = evaluation_payload("maps", se.spec(0), se.TEST, se.FINGERPRINT, se.PROTOCOL)
    older = evaluation_payload("maps", se.spec(0), se.TEST, se.FINGERPRINT, se.PROTOCOL, version=0)
    assert content_key(same) == key and content_key(older) != key


@slow
def test_corrupted_weights_are_retrained(tmp_path):
    store = Store(tmp_path)
    spec = ModelSpec("homogeneous", seed=2, **TINY)
    _, weights, cached = model_entry(store, spec)
    assert not cached and weights is not None
    blob = store.path("models", spec.key(), ".safetensors")
    blob.write_bytes(blob.read_bytes()[:-10])
    _, weights2, cached = model_entry(store, spec)
    assert not cached and weights2 == weights, "same seed, same weights, after retraining"


@slow
def test_failed_model_is_recorded_and_the_grid_goes_on(tmp_path, tiny):
    store = Store(tmp_path)
    bad = ModelSpec("homogeneous", "L1", learning_rate=1e30, **TINY)
    good = ModelSpec("homogeneous", seed=5, **TINY)
    outcomes = run_grid([bad, good], store, test=tiny.test())
    assert [(o.part, o.status) for o in outcomes] == [
        ("model", "failed"),
        ("model", "done"),
        ("features", "done"),
        ("maps", "done"),
    ]
    assert "TrainingDiverged" in outcomes[0].error and "epoch 1" in outcomes[0].error
    record = ModelResult.from_dict(store.get("models", bad.key()))
    assert record.status == "failed" and "traceback" in record.provenance


def test_unwritable_store_fails_early(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="is not writable"):
        Store(blocker / "store")


SCRIPT = textwrap.dedent("""
    import json, sys
    from salcheck.store.keys import ModelSpec, TestSpec
    from salcheck.engine.plan import execute, specs_plan
    from salcheck.store.files import Store
    TINY = {"n_per_class": 12, "image_size": 32, "epochs": int(sys.argv[3])}
    specs = [ModelSpec("homogeneous", seed=s, **TINY) for s in range(int(sys.argv[2]))]
    out = execute(specs_plan(TestSpec(32, 6), specs, parts=()), Store(sys.argv[1]),
                  on_progress=lambda o: print(json.dumps([o.spec.seed, o.cached]), flush=True))
""")


def spawn(store, n, epochs):
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(store), str(n), str(epochs)],
        stdout=subprocess.PIPE,
        text=True,
    )


@slow
def test_kill_9_mid_grid_keeps_finished_cells_and_resumes(tmp_path):
    proc = spawn(tmp_path, 4, 3)
    first = proc.stdout.readline()  # the first cell is finished and stored
    assert json.loads(first) == [0, False]
    proc.kill()
    proc.wait()
    proc.stdout.close()
    store = Store(tmp_path)
    done_before = {e["spec"]["seed"] for e in store.scan("models")[0]}
    assert 0 in done_before and len(done_before) < 4
    rerun = spawn(tmp_path, 4, 3)
    with rerun.stdout:
        lines = [json.loads(x) for x in rerun.stdout]
    assert rerun.wait() == 0
    # The rerun trains only what the killed run had not stored.
    assert sorted(seed for seed, _ in lines) == sorted({0, 1, 2, 3} - done_before)
    assert not any(cached for _, cached in lines)
    assert {e["spec"]["seed"] for e in store.scan("models")[0]} == {0, 1, 2, 3}
    assert all(not p.name.endswith(".tmp") for p in store.dir.rglob("*"))


@slow
def test_two_processes_never_both_train_a_cell(tmp_path):
    procs = [spawn(tmp_path, 2, 2) for _ in range(2)]
    lines = []
    for p in procs:
        with p.stdout:
            lines.append([json.loads(x) for x in p.stdout])
    assert [p.wait() for p in procs] == [0, 0]
    for seed in (0, 1):  # one process trained it; the other found it stored, or skipped it
        cached = [c for out in lines for s, c in out if s == seed]
        assert cached.count(False) == 1, cached
    # Each of the 2 runs stored its model under both selection rules, once.
    models = Store(tmp_path).scan("models")[0]
    assert sorted((m["spec"]["seed"], m["spec"]["selection"]) for m in models) == [
        (0, "balanced_accuracy"),
        (0, "loss"),
        (1, "balanced_accuracy"),
        (1, "loss"),
    ]


def test_other_versions_are_listed(tmp_path):
    (tmp_path / "v0").mkdir()
    (tmp_path / "v0" / "x.json").write_text("{}")
    assert Store(tmp_path).other_versions() == ["v0"]


def test_default_store_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SALCHECK_STORE", str(tmp_path / "s"))
    assert Store().root == tmp_path / "s"
    assert os.path.isdir(tmp_path / "s")
