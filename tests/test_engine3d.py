"""A tier of volumes through the engine: plan -> train -> evaluate -> store -> view, as for
images. The keys of image tiers are unchanged by the new ``dims`` field (it is left out of their
keys), so no stored 2-D result is recomputed."""

import numpy as np
import pytest
from conftest import TINY3D

from salcheck.errors import InvalidArgument
from salcheck.models.networks3d import ConvNet3D
from salcheck.saliency.resolve import null_refs
from salcheck.store.keys import ModelSpec, TestSpec
from salcheck.store.view import ResultsView, read_network


def test_images_keep_the_keys_they_always_had():
    spec = ModelSpec("homogeneous", seed=0, image_size=64)
    assert "dims" not in spec.to_dict() and "dims" not in TestSpec(64).to_dict()
    volume = ModelSpec("homogeneous", seed=0, image_size=64, dims=3)
    assert volume.to_dict()["dims"] == 3 and volume.key() != spec.key()
    assert TestSpec(64, dims=3).to_dict()["dims"] == 3
    assert "volumes" in volume.label()
    with pytest.raises(InvalidArgument, match="dims=4"):
        ModelSpec("homogeneous", dims=4)


@pytest.mark.slow
def test_a_tier_of_volumes_trains_evaluates_and_reads_back(tiny3d_store):
    store = tiny3d_store  # TINY3D's report plan, computed with batch_models=2
    view = ResultsView(store, TINY3D)
    for dataset in ("homogeneous", "heterogeneous"):
        runs = view.evaluations(dataset, "default", "maps")
        assert all(r.maps["typical"].shape == (32, 32, 32) for r in runs)
        b = view.values(dataset, "default", "b")
        assert len(b) == 2 and all(np.isfinite(v) and v > 0 for v in b)
        assert len(view.values(dataset, "default", "a")) == 2
    assert all(np.isfinite(v) for v in view.values("homogeneous", "default", "spearman_randomised"))
    random = view.for_method(null_refs()[0])
    assert random.values("homogeneous", "default", "b") != random.values("heterogeneous", "default", "b")
    model = read_network(store, TINY3D.spec("homogeneous", "default", 0))
    assert isinstance(model, ConvNet3D)
    assert {r.spec.dims for r in view.models("large")} == {3}
