"""Several seeds trained at once are the models they would have been alone, up to rounding."""

import pytest
import torch
from store_entries import run_grid

from salcheck.cohort import make_cohort
from salcheck.criteria import EvalProtocol
from salcheck.engine.evaluate import score_maps
from salcheck.engine.runner import groups_of, resolve_batch
from salcheck.errors import InvalidArgument
from salcheck.models import weights_bytes
from salcheck.models.networks import build_model
from salcheck.rng import derive_seed
from salcheck.saliency import VanillaGradient
from salcheck.saliency.resolve import resolve
from salcheck.store.files import Store
from salcheck.store.view import read_network
from salcheck.training.batched import GroupedConvNet, supports, train_batched
from salcheck.training.loop import TrainConfig, train


def _nets(k, n=32):
    return [build_model("convnet", n, generator=torch.Generator().manual_seed(s)) for s in range(k)]


def test_grouped_network_computes_each_model():
    nets = [net.eval() for net in _nets(3)]
    grouped = GroupedConvNet(nets).eval()
    x = torch.rand(4, 3, 32, 32)
    out = grouped(x)
    for k, net in enumerate(nets):
        assert torch.allclose(out[k], net(x[:, k : k + 1]), atol=1e-5)
    copies = _nets(3)
    grouped.unpack(copies)
    for a, b in zip(nets, copies, strict=True):
        assert all(
            torch.equal(p, q)
            for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
        )


@pytest.mark.slow  # trains networks
def test_batched_training_equals_one_at_a_time(tiny):
    specs = [tiny.spec("homogeneous", "Noise", s, epochs=4, patience=1) for s in (0, 1, 2)]
    cohorts = [make_cohort(s.train_spec(), derive_seed(s.seed, "cohort")) for s in specs]
    config = specs[0].train_config()
    alone = [train(c, config, s.seed) for c, s in zip(cohorts, specs, strict=True)]
    together = train_batched(cohorts, config, [s.seed for s in specs])
    test = tiny.test().cohort()
    vanilla = resolve(VanillaGradient())
    # Each model stops on its own (patience 1), as it would alone, while the others go on.
    assert len({a.stop["epochs_run"] for a in alone}) > 1
    for spec, a, b in zip(specs, alone, together, strict=True):
        assert a.best_epoch == b.best_epoch and a.stop == b.stop
        for ha, hb in zip(a.history, b.history, strict=True):
            assert hb["val_loss"] == pytest.approx(ha["val_loss"], rel=1e-4)
            assert hb["train_loss"] == pytest.approx(ha["train_loss"], rel=1e-4)
        for key, value in a.model.state_dict().items():
            assert torch.allclose(b.model.state_dict()[key].float(), value.float(), atol=2e-3), key
        kw = {"spec": spec, "test_spec": tiny.test(), "protocol": EvalProtocol()}
        sa, sb = score_maps(vanilla, a.model, test, **kw), score_maps(vanilla, b.model, test, **kw)
        for k in ("b", "c", "b_dagger", "c_dagger"):
            assert sb.criteria[k] == pytest.approx(sa.criteria[k], rel=1e-2), k


@pytest.mark.slow  # trains networks
def test_grids_train_a_cell_at_once_and_store_each_model(tiny, tmp_path):
    specs = tiny.grid(["homogeneous"], ["default"], seeds=[0, 1])
    store = Store(tmp_path)
    out = run_grid(specs, store, test=tiny.test(), parts=(), batch_models=4)
    assert [o.status for o in out] == ["done", "done"]
    for spec in specs:
        record = store.get("models", spec.key())
        assert record["provenance"]["batched_with"] == 2
        assert record["timings"]["batched_with"] == 2.0
        net = read_network(store, spec)
        assert isinstance(net, torch.nn.Module) and not net.training  # loaded, in eval mode
        assert weights_bytes(net) == store.get_blob("models", spec.key(), record["weights_sha256"])


def test_groups_and_batch_sizes(tiny):
    specs = tiny.grid(["homogeneous"], ["default", "Noise"], seeds=[0, 1, 2])
    groups = groups_of(specs, 2)
    assert [len(g) for g in groups] == [2, 1, 2, 1]
    assert all(len({(s.dataset, s.variant) for s in g}) == 1 for g in groups)
    assert [len(g) for g in groups_of(specs, 1)] == [1] * 6
    assert resolve_batch(None, "cpu") == 1 and resolve_batch(None, "cuda") == 8
    with pytest.raises(
        InvalidArgument, match="batch_models must be an integer >= 1, got batch_models=0"
    ):
        resolve_batch(0, "cpu")
    assert not supports(TrainConfig(model="conv5_fc3")) and not supports(TrainConfig(dropout=0.5))
    with pytest.raises(InvalidArgument, match="batched training needs model 'convnet'"):
        train_batched([], TrainConfig(dropout=0.5), [])
