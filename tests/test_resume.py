"""Training that resumes after an interrupt: bit-identical to an uninterrupted run (on one machine).

The kill is simulated by raising from the ``progress`` callback at epoch k: that aborts ``train``
after epoch k-1's checkpoint was written, so the next ``train`` call continues from epoch k-1.
"""

import json
from pathlib import Path

import pytest
import torch

from salcheck.cohort import make_cohort, preset
from salcheck.training import TrainConfig, train

pytestmark = pytest.mark.slow  # trains networks

NOISE = TrainConfig(epochs=4, augmentations=("Noise",), dropout=0.3)
#: Stops by patience at epoch 5 (best validation loss at epoch 3): the stop rule's counters matter.
PATIENCE = TrainConfig(epochs=6, augmentations=("Noise",), dropout=0.3, patience=2, learning_rate=1e-3)
SEED = 1


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def tiny():
    return make_cohort(preset("homogeneous", n_per_class=16, image_size=32), 0)


@pytest.fixture(scope="module")
def uninterrupted(tiny):
    cache = {}

    def get(config):
        if config not in cache:
            cache[config] = train(tiny, config, SEED)
        return cache[config]

    return get


def kill_at(epoch):
    def progress(entry):
        if entry["epoch"] == epoch:
            raise Killed

    return progress


def recorder():
    """(epochs seen, a ``progress`` callback recording them)."""
    seen: list[int] = []
    return seen, lambda entry: seen.append(int(entry["epoch"]))


def interrupt(cohort, config, path, epoch, *, key="k", seed=SEED):
    """Train until the kill at ``epoch``: leaves the checkpoint of epoch - 1 at ``path``."""
    with pytest.raises(Killed):
        train(cohort, config, seed, checkpoint=path, key=key, progress=kill_at(epoch))
    assert path.exists()


def assert_same(a, b):
    """The same run: weights, every kept state, history (but its timings), trajectory, stop."""
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.states.keys() == b.states.keys()
    for selection, state in a.states.items():
        assert all(torch.equal(state[k], b.states[selection][k]) for k in state)

    def untimed(h):
        return [{k: v for k, v in e.items() if k != "seconds"} for e in h]

    assert untimed(a.history) == untimed(b.history)
    assert a.trajectory == b.trajectory
    assert a.stop == b.stop and a.best_epoch == b.best_epoch


@pytest.mark.parametrize(
    ("config", "kill"),
    [(NOISE, 3), (PATIENCE, 5), (PATIENCE, 2)],
    ids=["noise-dropout", "patience-late", "patience-early"],
)
def test_resumed_run_is_bit_identical(tiny, uninterrupted, tmp_path, config, kill):
    path = tmp_path / "run.safetensors"
    interrupt(tiny, config, path, kill)
    seen, progress = recorder()
    resumed = train(tiny, config, SEED, checkpoint=path, key="k", progress=progress)
    base = uninterrupted(config)
    assert seen == list(range(kill, len(base.history) + 1))  # only the epochs still to run
    assert resumed.timings["resumed_from_epoch"] == kill - 1
    assert_same(base, resumed)


def test_finished_checkpoint_trains_no_more(tiny, uninterrupted, tmp_path):
    """A run killed after its last checkpoint (before its result was kept) is not trained on:
    the stop rule's decision is restored with it."""
    path = tmp_path / "run.safetensors"
    first = train(tiny, PATIENCE, SEED, checkpoint=path, key="k")
    assert first.stop["reason"] == "patience" and first.stop["epochs_run"] < PATIENCE.epochs
    assert_same(uninterrupted(PATIENCE), first)
    seen, progress = recorder()
    again = train(tiny, PATIENCE, SEED, checkpoint=path, key="k", progress=progress)
    assert seen == []
    assert again.timings["resumed_from_epoch"] == first.stop["epochs_run"]
    assert_same(first, again)


@pytest.mark.parametrize(
    ("written", "match"),
    [({"key": "other"}, "written for model 'other', not 'k'"), ({"seed": 2}, "for another run")],
    ids=["other-key", "other-seed"],
)
def test_checkpoint_of_another_model_is_ignored(tiny, uninterrupted, tmp_path, written, match):
    path = tmp_path / "run.safetensors"
    interrupt(tiny, NOISE, path, 3, **written)
    seen, progress = recorder()
    with pytest.warns(RuntimeWarning, match=match):
        r = train(tiny, NOISE, SEED, checkpoint=path, key="k", progress=progress)
    assert seen == [1, 2, 3, 4]
    assert r.timings["resumed_from_epoch"] == 0
    assert_same(uninterrupted(NOISE), r)


def _flip_model_byte(data: bytes) -> bytes:
    """``data`` with the high byte of a float of the first ``model.`` tensor flipped."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    name = min(k for k in header if k.startswith("model.") and header[k]["dtype"] == "F32")
    at = 8 + n + header[name]["data_offsets"][0] + 3
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda d: d[: len(d) // 2], "unreadable"),
        (lambda d: d[:5], "unreadable"),
        (lambda d: b"", "unreadable"),
        (lambda d: b"\x00" * len(d), "unreadable"),
        (_flip_model_byte, "checksum mismatch"),
    ],
    ids=["truncated", "header-cut", "empty", "zeroed", "flipped-weight"],
)
def test_damaged_checkpoint_is_ignored(tiny, uninterrupted, tmp_path, damage, match):
    path = tmp_path / "run.safetensors"
    interrupt(tiny, NOISE, path, 3)
    path.write_bytes(damage(path.read_bytes()))
    seen, progress = recorder()
    with pytest.warns(RuntimeWarning, match=match):
        r = train(tiny, NOISE, SEED, checkpoint=path, key="k", progress=progress)
    assert seen == [1, 2, 3, 4]
    assert_same(uninterrupted(NOISE), r)
    assert path.exists()  # rewritten by the new run: a valid checkpoint of its last epoch
    warned: list[str] = []
    again = train(tiny, NOISE, SEED, checkpoint=path, key="k", warn=warned.append)
    assert warned == [] and again.timings["resumed_from_epoch"] == 4


def test_checkpoint_that_does_not_fit_leaves_no_partial_state(tiny, uninterrupted, tmp_path):
    """A checksummed checkpoint that fails half-way through restoring (a tensor missing) gives a
    fresh run, not one with the weights it had restored before failing."""
    from salcheck.training.checkpoint import META_KEY, _digest, _save_tensors, read

    path = tmp_path / "run.safetensors"
    interrupt(tiny, NOISE, path, 3)
    tensors, meta = read(path)
    del tensors["gen.augment"]  # restored after the model, the optimiser and the shuffling
    text = json.dumps(meta, sort_keys=True)
    path.write_bytes(_save_tensors(tensors, {META_KEY: text, "sha256": _digest(text, tensors)}))
    warned: list[str] = []
    r = train(tiny, NOISE, SEED, checkpoint=path, key="k", warn=warned.append)
    assert len(warned) == 1 and "does not fit this run" in warned[0]
    assert r.timings["resumed_from_epoch"] == 0
    assert_same(uninterrupted(NOISE), r)


def test_checkpoint_keeps_float32_exactly(tiny, tmp_path):
    from salcheck.training.checkpoint import read

    path = tmp_path / "run.safetensors"
    r = train(tiny, TrainConfig(epochs=1), SEED, checkpoint=path, key="k")
    tensors, meta = read(path)
    state = r.states["loss"]
    assert all(torch.equal(tensors[f"best.loss.{k}"], v) for k, v in state.items())
    assert tensors["model.classifier.2.weight"].dtype == torch.float32
    assert {"optim.0.step", "optim.0.exp_avg", "optim.0.exp_avg_sq", "gen.shuffle"} <= set(tensors)
    assert meta["key"] == "k" and meta["epoch"] == 1 and len(meta["history"]) == 1


# --- through the engine ------------------------------------------------------------------------


@pytest.fixture
def spec():
    from salcheck.store.keys import ModelSpec

    return ModelSpec("homogeneous", image_size=32, n_per_class=12, epochs=3, seed=SEED)


def test_model_entry_removes_checkpoint_once_stored(tmp_path, monkeypatch, spec):
    import salcheck.engine.runner as runner
    from salcheck.store.files import Store

    store = Store(tmp_path, layers=())
    real, seen = runner.train_model, []

    def train_model(s, **kwargs):
        out = real(s, **kwargs)
        seen.append(Path(kwargs["checkpoint"]))
        assert seen[-1].exists()  # written during the training
        return out

    monkeypatch.setattr(runner, "train_model", train_model)
    record, weights, cached = runner.model_entry(store, spec)
    assert record.status == "done" and weights is not None and not cached
    assert seen == [store.dir / "checkpoints" / f"{spec.key()}.safetensors"]
    assert not seen[0].exists()
    assert store.get("models", spec.key())["status"] == "done"


def test_model_entry_resumes_an_interrupted_training(tmp_path, monkeypatch, spec):
    """An interrupt leaves a failed record and the checkpoint; the next call resumes from it and
    stores the weights an uninterrupted training stores."""
    import salcheck.engine.runner as runner
    from salcheck.store.files import Store

    _, clean, _ = runner.model_entry(Store(tmp_path / "clean", layers=()), spec)
    store = Store(tmp_path / "store", layers=())
    real = runner.train_model
    monkeypatch.setattr(runner, "train_model", lambda s, **kw: real(s, progress=kill_at(3), **kw))
    record, _, _ = runner.model_entry(store, spec)
    path = store.dir / "checkpoints" / f"{spec.key()}.safetensors"
    assert record.status == "failed" and "Killed" in (record.error or "")
    assert path.exists()  # a failed model keeps its checkpoint
    monkeypatch.setattr(runner, "train_model", real)
    record, weights, cached = runner.model_entry(store, spec)
    assert record.status == "done" and not cached
    assert record.timings["resumed_from_epoch"] == 2
    assert weights == clean
    assert not path.exists()
