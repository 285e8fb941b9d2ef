import json

import pytest

from salcheck.errors import InvalidArgument
from salcheck.store.keys import ModelSpec, TestSpec, parse_variant
from salcheck.store.tiers import POSTER_CELLS, STEPS_CONTROL, check_seeds, get_tier

TINY = {"n_per_class": 12, "image_size": 32, "epochs": 1}


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("default", ((), "CE")),
        ("Noise", (("Noise",), "CE")),
        ("L1Norm", ((), "L1Norm")),
        ("Noise+L1", (("Noise",), "L1")),
        ("CropPad+Erasing+MSENorm", (("CropPad", "Erasing"), "MSENorm")),
    ],
)
def test_parse_variant(variant, expected):
    assert parse_variant(variant) == expected


@pytest.mark.parametrize(
    ("variant", "match"),
    [
        ("Flip", "unknown variant part 'Flip'; accepted: CropPad, Erasing, Noise, Smoothing, L1"),
        ("L1+L1Norm", "at most one loss"),
        ("Noise+Noise", "twice"),
    ],
)
def test_bad_variants(variant, match):
    with pytest.raises(InvalidArgument, match=match):
        parse_variant(variant)


def test_model_key_is_content_addressed_and_knows_nothing_of_methods_or_tests():
    a = ModelSpec("homogeneous", "Noise", 0, **TINY)
    assert a.key() == ModelSpec("homogeneous", "Noise", 0, **TINY).key()
    assert a.key() != ModelSpec("homogeneous", "Noise", 1, **TINY).key()
    assert a.key() != ModelSpec("homogeneous", "Noise", 0, **{**TINY, "epochs": 2}).key()
    assert ModelSpec.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    assert not {"method", "test_n_per_class", "test_seed"} & set(a.to_dict())


def test_bad_dataset_seed_and_tier():
    with pytest.raises(InvalidArgument, match="unknown dataset 'tiny'; accepted: homogeneous"):
        ModelSpec("tiny")
    with pytest.raises(InvalidArgument, match="seed must be an integer >= 0, got seed=-1"):
        ModelSpec("homogeneous", seed=-1)
    with pytest.raises(InvalidArgument, match="unknown tier 'fast'; accepted: paper, ci"):
        get_tier("fast")


@pytest.mark.parametrize(
    ("seeds", "match"),
    [
        ([-1, 2], r"seeds must be integers >= 0, got \[-1\]"),
        ([3], "at least two distinct"),
        ([1, 1], "at least two distinct"),
    ],
)
def test_bad_seeds_for_paired_tests(seeds, match):
    with pytest.raises(InvalidArgument, match=match):
        check_seeds(seeds, at_least=2)


def test_paper_tier_is_the_poster():
    paper = get_tier("paper")
    cells = paper.grid(seeds=[0, 1])
    assert len(cells) == 2 * 22 == 2 * sum(len(v) for v in POSTER_CELLS.values())
    large = next(c for c in cells if c.dataset == "large")
    assert (large.n_per_class, large.image_size, large.batch_size) == (10_000, 128, 2)
    assert (large.epochs, large.patience, large.selection) == (100, 10, "loss")
    assert paper.test() == TestSpec(128, 1000, 12345)


def test_steps_control_trains_homogeneous_for_the_steps_of_large():
    ci = get_tier("ci")
    control = ci.spec(STEPS_CONTROL, "default", 3)
    assert control.dataset == "homogeneous" and control.n_per_class == 500
    # Every epoch of the study's 20, times the steps ratio, without early stopping: as many
    # optimiser steps as a large-set model trained for the study's 20 epochs.
    assert control.patience is None and control.epochs == 20 * ci.steps_ratio() == 80
    large = ci.spec("large", "default", 3)
    assert control.n_per_class * control.epochs == large.n_per_class * 20
    assert control.seed == 3 and control.key() != ci.spec("homogeneous", "default", 3).key()
