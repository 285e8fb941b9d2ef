import json
import os
import subprocess
import sys
import textwrap

import pytest

from salcheck.errors import StoreError
from salcheck.experiment import ExperimentSpec, RunResult
from salcheck.runner import run_grid
from salcheck.store import Store

TINY = {"n_per_class": 12, "image_size": 32, "test_n_per_class": 6, "epochs": 1}


def fake_result(spec, value=1.0):
    return RunResult(spec=spec, status="done", criteria={"b": value})


def test_put_get_round_trip_and_cache(tmp_path):
    store = Store(tmp_path)
    spec = ExperimentSpec("homogeneous", seed=1, **TINY)
    assert store.get(spec) is None
    calls = []
    result, cached = store.get_or_run(spec, lambda s: calls.append(s) or fake_result(s, 2.0))
    assert not cached and calls == [spec]
    result, cached = store.get_or_run(spec, lambda s: calls.append(s) or fake_result(s, 3.0))
    assert cached and result.criteria == {"b": 2.0} and len(calls) == 1
    assert not list(store.dir.glob("*.tmp"))


def test_corrupted_entry_is_reported_and_recomputed(tmp_path):
    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    spec = ExperimentSpec("homogeneous", **TINY)
    path = store.put(fake_result(spec, 2.0))
    data = json.loads(path.read_text())
    data["result"]["criteria"]["b"] = 99.0  # a flipped number: the checksum no longer matches
    path.write_text(json.dumps(data))
    result, cached = store.get_or_run(spec, lambda s: fake_result(s, 2.0))
    assert not cached and result.criteria == {"b": 2.0}
    assert "corrupted entry" in warnings[0] and "checksum mismatch" in warnings[0]
    assert path.with_suffix(".corrupt").exists()
    path.write_text(path.read_text()[:50])  # truncated JSON
    assert store.get(spec) is None
    assert "corrupted" in warnings[-1]


def test_failed_cell_is_recorded_and_the_grid_goes_on(tmp_path):
    store = Store(tmp_path)
    bad = ExperimentSpec("homogeneous", "L1", learning_rate=1e30, **TINY)
    good = ExperimentSpec("homogeneous", seed=5, **TINY)
    outcomes = run_grid([bad, good], store)
    assert [o.status for o in outcomes] == ["failed", "done"]
    assert "TrainingDiverged" in outcomes[0].error and "epoch 1" in outcomes[0].error
    assert store.get(bad).status == "failed"
    assert "traceback" in store.get(bad).provenance


def test_unwritable_store_fails_early(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="is not writable"):
        Store(blocker / "store")


SCRIPT = textwrap.dedent("""
    import json, sys
    from salcheck.experiment import ExperimentSpec
    from salcheck.runner import run_grid
    from salcheck.store import Store
    TINY = {"n_per_class": 12, "image_size": 32, "test_n_per_class": 6, "epochs": int(sys.argv[3])}
    specs = [ExperimentSpec("homogeneous", seed=s, **TINY) for s in range(int(sys.argv[2]))]
    out = run_grid(specs, Store(sys.argv[1]),
                   on_cell=lambda o: print(json.dumps([o.spec.seed, o.cached]), flush=True))
""")


def spawn(store, n, epochs):
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(store), str(n), str(epochs)],
                            stdout=subprocess.PIPE, text=True)


def test_kill_9_mid_grid_keeps_finished_cells_and_resumes(tmp_path):
    proc = spawn(tmp_path, 4, 3)
    first = proc.stdout.readline()  # the first cell is finished and stored
    assert json.loads(first) == [0, False]
    proc.kill()
    proc.wait()
    proc.stdout.close()
    store = Store(tmp_path)
    done_before = {r.spec.seed for r in store.results()}
    assert 0 in done_before and len(done_before) < 4
    rerun = spawn(tmp_path, 4, 3)
    with rerun.stdout:
        lines = [json.loads(x) for x in rerun.stdout]
    assert rerun.wait() == 0
    assert [seed for seed, cached in lines if cached] == sorted(done_before)
    assert {r.spec.seed for r in store.results()} == {0, 1, 2, 3}
    assert all(not p.name.endswith(".tmp") for p in store.dir.iterdir())


def test_two_processes_never_both_train_a_cell(tmp_path):
    procs = [spawn(tmp_path, 2, 2) for _ in range(2)]
    lines = []
    for p in procs:
        with p.stdout:
            lines.append([json.loads(x) for x in p.stdout])
    assert [p.wait() for p in procs] == [0, 0]
    for seed in (0, 1):
        cached = [c for out in lines for s, c in out if s == seed]
        assert sorted(cached) == [False, True]
    assert len(Store(tmp_path).results()) == 2


def test_other_versions_are_listed(tmp_path):
    (tmp_path / "v0").mkdir()
    (tmp_path / "v0" / "x.json").write_text("{}")
    assert Store(tmp_path).other_versions() == ["v0"]


def test_default_store_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SALCHECK_STORE", str(tmp_path / "s"))
    assert Store().root == tmp_path / "s"
    assert os.path.isdir(tmp_path / "s")
