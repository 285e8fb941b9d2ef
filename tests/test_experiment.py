import json

import numpy as np
import pytest

from salcheck.criteria import EvalProtocol
from salcheck.engine.evaluate import score_features, score_maps, score_randomisation
from salcheck.engine.train import load_model, train_model
from salcheck.models import weights_bytes
from salcheck.saliency import ConstantMap, VanillaGradient
from salcheck.saliency.resolve import resolve
from salcheck.store.keys import evaluation_key, evaluation_payload
from salcheck.store.records import Evaluation, ModelResult

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


def test_each_part_scores_what_it_says_and_leaves_the_mode(trained):
    tier, spec, _, model = trained
    test, kw = tier.test().cohort(), {"spec": spec, "test_spec": tier.test()}
    vanilla = resolve(VanillaGradient())
    model.train()
    features = score_features(model, test, **kw)
    maps = score_maps(vanilla, model, test, protocol=EvalProtocol(), **kw)
    curve = score_randomisation(vanilla, model, test, protocol=EvalProtocol(), **kw)
    assert model.training
    assert set(features.criteria) == {"a"} and "balanced_accuracy" in features.accuracy
    assert set(maps.criteria) >= {"b", "c", "b_dagger", "c_dagger", "rma_typical", "auc_atypical"}
    assert "a" not in maps.criteria and maps.maps["typical"].shape == (32, 32)
    assert curve.curve[0]["layer"] == "none" and curve.curve[0]["spearman"] == pytest.approx(1)
    assert maps.timings["s_per_1000_maps"] > 0
    back = Evaluation.from_dict(json.loads(json.dumps(maps.to_dict())))
    assert back.criteria == maps.criteria and back.model == spec
    # Stored as float16 of the map over its largest magnitude: 2^-11 of that magnitude at most.
    scale = np.nanmax(np.abs(maps.maps["atypical"]))
    assert np.allclose(back.maps["atypical"], maps.maps["atypical"], rtol=0, atol=scale * 2**-11)
    again = score_maps(vanilla, model.eval(), test, protocol=EvalProtocol(), **kw)
    assert again.criteria == maps.criteria


def test_protocol_switches_change_what_they_say(trained):
    """|m| averaging makes the group map non-negative; the skull rim enlarges Rest; only
    correctly classified images keep a subset; drawn regions change b."""
    tier, spec, _, model = trained
    test, kw = tier.test().cohort(), {"spec": spec, "test_spec": tier.test()}
    vanilla = resolve(VanillaGradient())
    base = score_maps(vanilla, model, test, protocol=EvalProtocol(), **kw)
    absolute = score_maps(vanilla, model, test, protocol=EvalProtocol(averaging="absolute"), **kw)
    assert (absolute.maps["typical"] >= 0).all() and (base.maps["typical"] < 0).any()
    drawn = score_maps(vanilla, model, test, protocol=EvalProtocol(regions="drawn"), **kw)
    assert drawn.criteria["b"] != base.criteria["b"]
    correct = score_maps(vanilla, model, test, protocol=EvalProtocol(images="correct"), **kw)
    n = {g: len(test.indices(label=1, subtype=s)) for g, s in (("typical", 1), ("atypical", 2))}
    assert all(correct.provenance["images"][g] <= n[g] for g in n)
    assert base.provenance["images"] == n


def test_constant_map_scores_chance(trained):
    tier, spec, _, model = trained
    s = score_maps(
        resolve(ConstantMap()),
        model,
        tier.test().cohort(),
        spec=spec,
        test_spec=tier.test(),
        protocol=EvalProtocol(),
    )
    assert s.criteria["b"] == pytest.approx(1) and s.criteria["c_dagger"] == pytest.approx(1)


def test_evaluation_keys_name_part_model_test_method_and_protocol(trained):
    tier, spec, _, _ = trained
    test = tier.test()
    k = evaluation_key("maps", spec, test, "f1", EvalProtocol().to_dict())
    assert k == evaluation_key("maps", spec, test, "f1", EvalProtocol().to_dict())
    assert k != evaluation_key("maps", spec, test, "f2", EvalProtocol().to_dict())
    assert k != evaluation_key("maps", spec, test, "f1", EvalProtocol(regions="drawn").to_dict())
    assert k != evaluation_key("randomisation", spec, test, "f1", EvalProtocol().to_dict())
    assert k != evaluation_key("maps", tier.spec("homogeneous", "Noise+L1", 4), test, "f1", {})
    # The features are the model's: no method or protocol enters their key.
    features = evaluation_payload("features", spec, test)
    assert "method" not in features and "protocol" not in features
    assert evaluation_key("features", spec, test, "f1", {"regions": "drawn"}) == evaluation_key(
        "features", spec, test
    )
