import json

import numpy as np
import pytest

from salcheck.errors import InvalidArgument
from salcheck.experiment import ExperimentSpec, RunResult, parse_variant, run_experiment
from salcheck.tiers import POSTER_CELLS, get_tier

TINY = {"n_per_class": 12, "image_size": 32, "test_n_per_class": 6, "epochs": 1}


@pytest.mark.parametrize(
    ("variant", "expected"),
    [("default", ((), "CE")), ("Noise", (("Noise",), "CE")), ("L1Norm", ((), "L1Norm")),
     ("Noise+L1", (("Noise",), "L1")), ("CropPad+Erasing+MSENorm", (("CropPad", "Erasing"), "MSENorm"))],
)
def test_parse_variant(variant, expected):
    assert parse_variant(variant) == expected


@pytest.mark.parametrize(("variant", "match"), [
    ("Flip", "unknown variant part 'Flip'; accepted: CropPad, Erasing, Noise, Smoothing, L1"),
    ("L1+L1Norm", "at most one loss"), ("Noise+Noise", "twice")])
def test_bad_variants(variant, match):
    with pytest.raises(InvalidArgument, match=match):
        parse_variant(variant)


def test_spec_key_is_stable_and_content_addressed():
    a = ExperimentSpec("homogeneous", "Noise", 0, **TINY)
    assert a.key() == ExperimentSpec("homogeneous", "Noise", 0, **TINY).key()
    assert a.key() != ExperimentSpec("homogeneous", "Noise", 1, **TINY).key()
    assert ExperimentSpec.from_dict(json.loads(json.dumps(a.to_dict()))) == a


def test_bad_dataset_and_tier():
    with pytest.raises(InvalidArgument, match="unknown dataset 'tiny'; accepted: homogeneous"):
        ExperimentSpec("tiny")
    with pytest.raises(InvalidArgument, match="unknown tier 'fast'; accepted: paper, ci"):
        get_tier("fast")


def test_paper_tier_is_the_poster():
    paper = get_tier("paper")
    cells = paper.grid(seeds=[0])
    assert len(cells) == 21 == sum(len(v) for v in POSTER_CELLS.values())
    large = next(c for c in cells if c.dataset == "large")
    assert (large.n_per_class, large.image_size, large.epochs, large.batch_size) == (10_000, 128,
                                                                                     20, 8)
    assert large.test_n_per_class == 1000


def test_run_experiment_is_deterministic_and_serialisable():
    spec = ExperimentSpec("homogeneous", "Noise+L1", 3, **TINY)
    a, b = run_experiment(spec), run_experiment(spec)
    assert a.status == "done"
    assert a.criteria == b.criteria
    assert set(a.criteria) >= {"a", "b", "c", "b_dagger", "c_dagger", "rma_typical", "auc_atypical"}
    assert a.maps["typical"].shape == (32, 32)
    assert a.provenance["spec"] == spec.to_dict()
    assert {"torch", "numpy", "salcheck"} <= set(a.provenance["versions"])
    back = RunResult.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back.criteria == a.criteria and back.spec == spec
    assert np.array_equal(back.maps["atypical"], a.maps["atypical"].astype(np.float32))
