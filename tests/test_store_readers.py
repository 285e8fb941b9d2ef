"""Every reader of the store sees valid records only: an entry that does not parse as a record
of its kind (or is not stored under its own key) is corrupted, like a checksum mismatch:
reported, set aside and recomputed, never a traceback. Fast: nothing is trained."""

import json

import pytest
import store_entries as se
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salcheck.engine.runner as runner
from salcheck.cli import main
from salcheck.errors import InvalidRecord
from salcheck.saliency.resolve import method_fingerprint, resolve_method
from salcheck.store.files import Store
from salcheck.store.keys import evaluation_entry_key
from salcheck.store.records import ModelResult, Scores, check_entry
from salcheck.store.view import DERIVED, MissingResults, ResultsView, score_values

FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: The entries of issue 25 (a): JSON with a correct checksum, but not salcheck records.
NOT_A_MODEL = {"status": "done"}
NOT_AN_EVALUATION = {"status": "done", "scores": {"b": 99}}


def test_records_are_strict_and_name_the_field():
    entry = se.model_entry(se.spec(0))
    assert ModelResult.from_dict(entry).spec == se.spec(0)
    cases = {
        "lacks the field(s) ['spec']": NOT_A_MODEL,
        "unknown field(s) ['scores']": {**entry, "scores": {}},
        "status must be one of done, failed, got 'running'": {**entry, "status": "running"},
        "spec.seed must be int, got '1'": {**entry, "spec": {**entry["spec"], "seed": "1"}},
        "spec: seed must be an integer >= 0": {**entry, "spec": {**entry["spec"], "seed": -1}},
        "history[0].val_loss must be float, got None": {**entry, "history": [{"epoch": 1}]},
        "model record must be a JSON object, got [1]": [1],
    }
    for message, bad in cases.items():
        with pytest.raises(InvalidRecord) as info:
            ModelResult.from_dict(bad)
        assert message in str(info.value)
    _, evaluation = se.evaluation_entry(se.spec(0))
    assert Scores.from_dict(evaluation).criteria["b"] == 2.0
    cases = {
        "unknown field(s) ['scores']": NOT_AN_EVALUATION,
        "lacks the field(s) ['model', 'method', 'fingerprint']": {"status": "done"},
        "criteria.b must be float, got 'x'": {**evaluation, "criteria": {"b": "x"}},
        "maps.typical must be a non-empty 2-D array of float32 numbers, got [1, 2]": {
            **evaluation,
            "maps": {"typical": [1, 2]},
        },
        "randomisation of a finished evaluation must hold at least one step": {
            **evaluation,
            "randomisation": [],
        },
        "randomisation[0].spearman must be float": {
            **evaluation,
            "randomisation": [{"layer": "none", "b": 1, "c": 1}],
        },
    }
    for message, bad in cases.items():
        with pytest.raises(InvalidRecord) as info:
            Scores.from_dict(bad)
        assert message in str(info.value)


def test_the_key_of_an_evaluation_is_recomputed_from_its_content():
    key, entry = se.evaluation_entry(se.spec(0))
    assert evaluation_entry_key(entry) == key
    assert evaluation_entry_key({k: v for k, v in entry.items() if k != "identity"}) is None
    for part, value in (("method", "other"), ("model", "0" * 24), ("test", {"seed": 1})):
        forged = {**entry, "identity": {**entry["identity"], part: value}}
        with pytest.raises(InvalidRecord, match=f"its identity is not that of its content: {part}"):
            evaluation_entry_key(forged)
    # The code that computed it is what the entry says: another code hash is another key.
    other_code = {**entry, "identity": {**entry["identity"], "code": "0" * 64}}
    assert evaluation_entry_key(other_code) not in (None, key)
    failed_key, failed = se.evaluation_entry(se.spec(0), status="failed")
    assert "test" not in failed["provenance"] and evaluation_entry_key(failed) == failed_key == key
    with pytest.raises(InvalidRecord, match="stored under key"):
        check_entry("evaluations", se.evaluation_entry(se.spec(1))[0], entry)


def _store_with_bad_entries(tmp_path, warnings):
    """One valid model and evaluation, and the two entries of issue 25 (a) beside them."""
    store = Store(tmp_path, warn=warnings.append)
    keys = se.fill(store, n=1)
    store.put("models", "d" * 24, NOT_A_MODEL)
    store.put("evaluations", "a" * 24, NOT_AN_EVALUATION)
    return store, keys


def test_status_lists_a_store_holding_unparseable_entries(tmp_path, capsys):
    """`salcheck status` died with KeyError 'model' on such a store."""
    _store_with_bad_entries(tmp_path, [])
    assert main(["status", "--store", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"CORRUPTED models/{'d' * 24}.json (model record lacks the field(s) ['spec'])" in out
    assert (
        f"CORRUPTED evaluations/{'a' * 24}.json (evaluation record has unknown field(s) ['scores']"
        in out
    )
    assert "homogeneous/default/seed0" in out and "Some method" in out  # the valid ones are listed


def test_readers_report_and_set_aside_an_unparseable_entry(tmp_path):
    warnings = []
    store, keys = _store_with_bad_entries(tmp_path, warnings)
    models, bad = store.scan("models")
    assert [m["spec"]["seed"] for m in models] == [0] and len(bad) == 1
    assert dict(store.items("evaluations")).keys() == set(keys["evaluations"])
    assert store.get("models", "d" * 24) is None
    assert "corrupted entry models/" + "d" * 24 + ".json (model record lacks" in warnings[-1]
    assert (store.dir / "models" / ("d" * 24 + ".corrupt")).exists()
    assert store.scan("models")[1] == [f"models/{'d' * 24}.corrupt (set aside)"]


def test_an_entry_under_another_key_is_set_aside(tmp_path):
    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    store.put("models", se.spec(0).key(), se.model_entry(se.spec(1)))
    assert store.get("models", se.spec(0).key()) is None
    assert (
        f"stored under key {se.spec(0).key()}, but its content is that of {se.spec(1).key()}"
        in warnings[0]
    )


def test_the_view_reports_an_unparseable_evaluation_as_missing(tmp_path, tiny):
    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    fingerprint = method_fingerprint(resolve_method("vanilla"))
    specs = [tiny.spec("homogeneous", "default", seed) for seed in tiny.seeds]
    for s in specs:
        key, entry = se.evaluation_entry(s, test=tiny.test(), fingerprint=fingerprint)
        store.put("evaluations", key, entry)
    view = ResultsView(store, tiny, "vanilla", compute=False)
    assert view.values("homogeneous", "default", "b") == [2.0, 2.0]
    bad_key, _ = se.evaluation_entry(specs[1], test=tiny.test(), fingerprint=fingerprint)
    store.put("evaluations", bad_key, {"status": "done", "scores": {"b": 99}})
    with pytest.raises(MissingResults, match="1 evaluations missing"):
        ResultsView(store, tiny, "vanilla", compute=False).values("homogeneous", "default", "b")
    assert f"corrupted entry evaluations/{bad_key}.json" in warnings[0]


def test_a_run_recomputes_an_unparseable_model_and_evaluation(tmp_path, monkeypatch):
    """Training and evaluation replaced by stand-ins: what is checked is that the runner sees
    the unparseable entries as missing, reports them and stores fresh ones."""
    import torch

    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    s = se.spec(0)
    store.put("models", s.key(), NOT_A_MODEL)
    net = torch.nn.Linear(2, 2)
    record = ModelResult.from_dict(se.model_entry(s))
    monkeypatch.setattr(runner, "train_model", lambda spec, device: [(record, net)])
    got, weights, cached = runner.model_entry(store, s)
    assert not cached and got.status == "done" and weights is not None
    assert f"corrupted entry models/{s.key()}.json" in warnings[0]
    assert store.get("models", s.key())["weights_sha256"] == got.weights_sha256

    method = resolve_method("vanilla")
    key, entry = se.evaluation_entry(s, fingerprint=method_fingerprint(method))
    store.put("evaluations", key, NOT_AN_EVALUATION)
    scores = Scores.from_dict(entry)
    monkeypatch.setattr(runner, "test_cohort", lambda test: None)
    monkeypatch.setattr(runner, "evaluate", lambda *args, **kwargs: scores)
    got_scores, cached = runner.evaluation_entry(store, s, se.TEST, method, model=net)
    assert not cached and got_scores.criteria == scores.criteria
    assert f"corrupted entry evaluations/{key}.json" in warnings[1]
    stored = store.get("evaluations", key)
    assert stored["identity"] == entry["identity"] and evaluation_entry_key(stored) == key


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _damaged(entry: dict) -> st.SearchStrategy:
    """``entry`` with one field (top level, of its spec, or of a nested record) replaced,
    removed or added."""
    paths = [(k,) for k in entry]
    paths += [(k, sub) for k, v in entry.items() if isinstance(v, dict) for sub in v]
    paths += [(k, 0) for k, v in entry.items() if isinstance(v, list) and v]

    def damage(path, value, drop):
        out = json.loads(json.dumps(entry))
        parent = out if len(path) == 1 else out[path[0]]
        if drop:
            parent.pop(path[-1])
        else:
            parent[path[-1]] = value
        return out

    return st.builds(damage, st.sampled_from(paths), JSON, st.booleans()) | JSON


@FUZZ
@given(data=st.data())
def test_no_reader_ends_in_a_traceback_on_any_entry(tmp_path_factory, tiny, data, capsys):
    """Whatever is stored under a cell's key: the readers (status, scan, the view, a run's
    lookup, export) see a valid record, or report the entry as corrupted and set it aside."""
    fingerprint = method_fingerprint(resolve_method("vanilla"))
    s = tiny.spec("homogeneous", "default", 0)
    key, entry = se.evaluation_entry(s, test=tiny.test(), fingerprint=fingerprint)
    kind, key, entry = data.draw(
        st.sampled_from([("models", s.key(), se.model_entry(s)), ("evaluations", key, entry)])
    )
    damaged = data.draw(_damaged(entry))
    warnings = []
    store = Store(tmp_path_factory.mktemp("store"), warn=warnings.append)
    store.put(kind, key, damaged)

    def valid(key):
        try:
            check_entry(kind, key, damaged)
        except InvalidRecord:
            return False
        return True

    record, valid = valid(None), valid(key)  # a valid record, and stored under its own key
    assert main(["status", "--store", str(store.root)]) == (0 if record else 1)
    assert ("CORRUPTED" in capsys.readouterr().out) is not record  # listing checks no key
    if kind == "evaluations":
        view = ResultsView(store, tiny, "vanilla", seeds=[0, 1], compute=False)
        with pytest.raises(MissingResults):  # seed 1 is missing in any case
            view.values("homogeneous", "default", "b")
        assert (s in view._scores) is (valid and damaged.get("status") == "done")
        if s in view._scores:
            for criterion in ("b", "abs_log_b", "spearman_randomised"):
                if criterion in DERIVED or criterion in view._scores[s].criteria:
                    assert len(score_values([view._scores[s]], criterion)) == 1
                else:
                    with pytest.raises(MissingResults, match=f"has no criterion '{criterion}'"):
                        score_values([view._scores[s]], criterion)
    assert (store.get(kind, key) is not None) is valid
    assert bool(warnings) is not valid
    assert store.path(kind, key, ".corrupt").exists() is not valid
