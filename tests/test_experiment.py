import json

import numpy as np
import pytest

from salcheck.engine.experiment import evaluate, evaluation_key, load_model, train_model, weights_bytes
from salcheck.engine.experiment import test_cohort as make_test_cohort
from salcheck.saliency import ConstantMap, VanillaGradient
from salcheck.store.records import ModelResult, Scores

pytestmark = pytest.mark.slow  # trains networks


@pytest.fixture(scope="module")
def trained(tiny):
    spec = tiny.spec("homogeneous", "Noise+L1", 3)
    (record, model), *_ = train_model(spec)
    return tiny, spec, record, model


def test_training_is_deterministic_and_serialisable(trained):
    _, spec, record, model = trained
    (again, model2), *_ = train_model(spec)
    assert weights_bytes(model) == weights_bytes(model2)
    assert record.status == "done" and record.history == [
        {**h, "seconds": r["seconds"]} for h, r in zip(again.history, record.history, strict=True)
    ]
    assert record.provenance["spec"] == spec.to_dict()
    assert {"torch", "numpy", "salcheck"} <= set(record.provenance["versions"])
    assert record.provenance["device"] == "cpu"
    back = ModelResult.from_dict(json.loads(json.dumps(record.to_dict())))
    assert back.spec == spec and back.history == record.history
    reloaded = load_model(spec, weights_bytes(model))
    assert weights_bytes(reloaded) == weights_bytes(model)


def test_evaluate_scores_every_criterion_and_leaves_the_mode(trained):
    tier, spec, _, model = trained
    test = make_test_cohort(tier.test())
    model.train()
    s = evaluate(VanillaGradient(), model, test, spec=spec, test_spec=tier.test())
    assert model.training
    assert set(s.criteria) >= {"a", "b", "c", "b_dagger", "c_dagger", "rma_typical", "auc_atypical"}
    assert s.maps["typical"].shape == (32, 32) and s.randomisation[0]["layer"] == "none"
    assert s.timings["s_per_1000_maps"] > 0
    back = Scores.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back.criteria == s.criteria and back.model == spec
    assert np.array_equal(back.maps["atypical"], s.maps["atypical"].astype(np.float32))
    again = evaluate(VanillaGradient(), model.eval(), test, spec=spec, test_spec=tier.test())
    assert again.criteria == s.criteria


def test_constant_map_scores_chance(trained):
    tier, spec, _, model = trained
    s = evaluate(ConstantMap(), model, make_test_cohort(tier.test()), spec=spec, test_spec=tier.test())
    assert s.criteria["b"] == pytest.approx(1) and s.criteria["c_dagger"] == pytest.approx(1)


def test_evaluation_key_names_model_test_and_method(trained):
    tier, spec, _, _ = trained
    k = evaluation_key(spec, tier.test(), "f1")
    assert k == evaluation_key(spec, tier.test(), "f1")
    assert k != evaluation_key(spec, tier.test(), "f2")
    assert k != evaluation_key(tier.spec("homogeneous", "Noise+L1", 4), tier.test(), "f1")


def test_the_other_selection_rule_is_the_model_its_own_run_keeps(tiny):
    """One run keeps a model per selection rule; the sibling it returns equals the model a
    run asked for that rule trains (the stop rule does not depend on the selection)."""
    from dataclasses import replace

    spec = replace(tiny.spec("homogeneous", "default", 1), epochs=4, patience=2)
    (first, _), (sibling, sibling_net) = train_model(spec)
    assert (first.spec.selection, sibling.spec.selection) == ("loss", "balanced_accuracy")
    (alone, alone_net), *_ = train_model(sibling.spec)
    assert weights_bytes(sibling_net) == weights_bytes(alone_net)
    assert sibling.best_epoch == alone.best_epoch and sibling.stop == alone.stop
    assert first.history == [
        {**h, "seconds": r["seconds"]} for h, r in zip(alone.history, first.history, strict=True)
    ]
