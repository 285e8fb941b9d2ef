"""Every reader of the store sees valid records only: an entry that does not parse as a record
of its kind, carries no identity, or is not stored under its own key is corrupted, like a
checksum mismatch: reported, set aside and recomputed, never a traceback. Fast: nothing is
trained."""

import base64
import json
import zlib

import numpy as np
import pytest
import store_entries as se
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import salcheck.engine.runner as runner
from salcheck.cli import main
from salcheck.criteria import EvalProtocol
from salcheck.engine.checks import results_of
from salcheck.engine.tasks import Task
from salcheck.errors import InvalidRecord
from salcheck.saliency.resolve import resolve
from salcheck.store.bundle import export_bundle
from salcheck.store.files import CORRUPTED, KINDS, Store
from salcheck.store.keys import entry_key, evaluation_entry_key
from salcheck.store.records import CheckRecord, Evaluation, ModelResult, check_entry
from salcheck.store.schema import decode_array, encode_array
from salcheck.store.view import MissingResults, ResultsView, read_checks, read_evaluation, read_model

FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: The entries of issue 25 (a): JSON with a correct checksum, but not salcheck records.
NOT_A_MODEL = {"status": "done"}
NOT_AN_EVALUATION = {"status": "done", "scores": {"b": 99}}


def _refused(record, bad, message: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        record.from_dict(bad)
    assert message in str(info.value)


def test_model_records_are_strict_and_name_the_field():
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
        _refused(ModelResult, bad, message)


def test_evaluation_records_are_strict_and_name_the_field():
    _, maps = se.evaluation_entry(se.spec(0))
    _, curve = se.randomisation_entry(se.spec(0))
    assert Evaluation.from_dict(maps).criteria["b"] == 2.0
    assert Evaluation.from_dict(curve).curve[-1]["spearman"] == 0.1
    row = curve["curve"][0]
    cases = {
        "unknown field(s) ['scores']": NOT_AN_EVALUATION,
        "lacks the field(s) ['part', 'model']": {"status": "done"},
        "part must be one of features, maps, randomisation, got 'scores'": {**maps, "part": "scores"},
        "criteria.b must be float, got 'x'": {**maps, "criteria": {"b": "x"}},
        "maps.typical must be a non-empty 2-D or 3-D array (its JSON form: dtype float16, shape, "
        "scale, zlib_base64), got [1, 2]": {
            **maps,
            "maps": {"typical": [1, 2]},
        },
        "identity must be dict[str, Any] | None, got 'abc'": {**maps, "identity": "abc"},
        "the curve of a finished randomisation must hold at least one step": {**curve, "curve": []},
        "curve[1].spearman must be float, got None": {
            **curve,
            "curve": [row, {"layer": "fc", "b": 1, "c": 1}],
        },
        "curve[0].layer must be str, got 0": {**curve, "curve": [{**row, "layer": 0}]},
        "curve[0].c must be float, got '1.5'": {**curve, "curve": [{**row, "c": "1.5"}]},
        "curve[0] must be dict[str, Any], got 7": {**curve, "curve": [7]},
    }
    for message, bad in cases.items():
        _refused(Evaluation, bad, message)
    failed = {**curve, "status": "failed", "curve": []}  # a failed curve holds no step
    assert Evaluation.from_dict(failed).status == "failed"


def test_check_records_are_strict_and_name_the_field():
    _, entry = se.checks_entry([se.spec(0)])
    record = CheckRecord.from_dict(entry)
    assert [r.state for r in results_of(record)] == ["PASS"]
    result = entry["results"][0]
    cases = {
        "lacks the field(s) ['method', 'fingerprint', 'tier', 'results']": {"status": "done"},
        "unknown field(s) ['part']": {**entry, "part": "checks"},
        "results must be list[dict[str, Any]], got {}": {**entry, "results": {}},
        "status must be one of done, failed, got 'passed'": {**entry, "status": "passed"},
        "results[0] has unknown field(s) ['score']": {**entry, "results": [{**result, "score": 1}]},
        "results[0] lacks the field(s) ['passed']": {
            **entry,
            "results": [{k: v for k, v in result.items() if k != "passed"}],
        },
        "results[0].numbers must be dict[str, Any], got [1]": {
            **entry,
            "results": [{**result, "numbers": [1]}],
        },
    }
    for message, bad in cases.items():
        _refused(CheckRecord, bad, message)


def test_the_key_of_an_evaluation_is_recomputed_from_its_content():
    key, entry = se.evaluation_entry(se.spec(0))
    assert evaluation_entry_key(entry) == key
    for legacy in ({k: v for k, v in entry.items() if k != "identity"}, {**entry, "identity": None}):
        with pytest.raises(InvalidRecord, match="an evaluation entry must carry its identity, got None"):
            evaluation_entry_key(legacy)
    for part, value in (("method", "other"), ("model", "0" * 24), ("test", {"seed": 1}), ("part", "x")):
        forged = {**entry, "identity": {**entry["identity"], part: value}}
        with pytest.raises(InvalidRecord, match=f"its identity is not that of its content: {part}"):
            evaluation_entry_key(forged)
    # The version of its meaning is what the entry says: another version is another key.
    other_version = {**entry, "identity": {**entry["identity"], "version": 0}}
    assert evaluation_entry_key(other_version) != key
    failed_key, failed = se.evaluation_entry(se.spec(0), status="failed")
    assert "test" not in failed["provenance"] and evaluation_entry_key(failed) == failed_key == key
    with pytest.raises(InvalidRecord, match="stored under key"):
        check_entry("maps", se.evaluation_entry(se.spec(1))[0], entry)


def test_the_key_of_every_kind_is_recomputed_from_its_content():
    """features, randomisation curves and check suites, like maps: the key is their content's."""
    s0, s1 = se.spec(0), se.spec(1)
    for kind, (key, entry), (other, _) in (
        ("features", se.features_entry(s0), se.features_entry(s1)),
        ("randomisation", se.randomisation_entry(s0), se.randomisation_entry(s1)),
        ("checks", se.checks_entry([s0, s1]), se.checks_entry([s1])),
    ):
        assert entry_key(kind, entry) == key and check_entry(kind, key, entry) is not None
        with pytest.raises(InvalidRecord, match=f"stored under key {other}, but its content is that of"):
            check_entry(kind, other, entry)
    _, curve = se.randomisation_entry(s0)
    with pytest.raises(InvalidRecord, match="its identity is not that of its content: method"):
        entry_key("randomisation", {**curve, "fingerprint": "another method"})
    with pytest.raises(InvalidRecord, match="its identity is not that of its content: model"):
        entry_key("randomisation", {**curve, "model": s1.to_dict()})
    key, suite = se.checks_entry([s0, s1])
    with pytest.raises(InvalidRecord, match="its identity is not that of its content: method"):
        entry_key("checks", {**suite, "fingerprint": "another method"})
    # Its models are what its identity says: other models are another suite, under another key.
    fewer = {**suite, "identity": {**suite["identity"], "models": [s0.key()]}}
    assert entry_key("checks", fewer) == se.checks_entry([s0])[0] != key
    with pytest.raises(InvalidRecord, match="its identity is not that of its content: part"):
        entry_key("checks", {**suite, "identity": {**suite["identity"], "part": "maps"}})


def _store_with_bad_entries(tmp_path, warnings):
    """Valid entries of every kind, and beside them the two entries of issue 25 (a) and a
    randomisation curve and a check suite that carry no identity, under their own keys."""
    store = Store(tmp_path, warn=warnings.append)
    keys = se.fill(store, n=1)
    store.put("models", "d" * 24, NOT_A_MODEL)
    store.put("maps", "a" * 24, NOT_AN_EVALUATION)
    key, curve = se.randomisation_entry(se.spec(1))
    store.put("randomisation", key, {k: v for k, v in curve.items() if k != "identity"})
    suite_key, suite = se.checks_entry([se.spec(1)])
    store.put("checks", suite_key, {**suite, "identity": None})
    return store, keys, key, suite_key


def test_status_lists_a_store_holding_unparseable_entries(tmp_path, capsys):
    """`salcheck status` died with KeyError 'model' on such a store."""
    _, _, key, suite_key = _store_with_bad_entries(tmp_path, [])
    assert main(["status", "--store", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"CORRUPTED models/{'d' * 24}.json (model record lacks the field(s) ['spec'])" in out
    assert f"CORRUPTED maps/{'a' * 24}.json (evaluation record has unknown field(s) ['scores']" in out
    identity = "(an evaluation entry must carry its identity, got None)"
    assert f"CORRUPTED randomisation/{key}.json {identity}" in out
    assert f"CORRUPTED checks/{suite_key}.json {identity}" in out
    assert "homogeneous/default/seed0" in out and "Some method" in out  # the valid ones are listed


def test_readers_report_and_set_aside_an_unparseable_entry(tmp_path):
    warnings = []
    store, keys, key, suite_key = _store_with_bad_entries(tmp_path, warnings)
    models, bad = store.scan("models")
    assert [m["spec"]["seed"] for m in models] == [0] and len(bad) == 1
    assert dict(store.items("maps")).keys() == set(keys["maps"])
    assert dict(store.items("randomisation")).keys() == set(keys["randomisation"])
    assert dict(store.items("checks")).keys() == set(keys["checks"])
    assert store.get("models", "d" * 24) is None
    assert "corrupted entry models/" + "d" * 24 + ".json (model record lacks" in warnings[-1]
    assert (store.dir / "models" / ("d" * 24 + ".corrupt")).exists()
    assert store.scan("models")[1] == [f"models/{'d' * 24}.corrupt (set aside)"]
    for kind, k in (("randomisation", key), ("checks", suite_key)):  # no identity: set aside
        assert store.get(kind, k) is None
        assert (
            f"corrupted entry {kind}/{k}.json (an evaluation entry must carry its identity"
            in (warnings[-1])
        )
        assert store.scan(kind) == (store.scan(kind)[0], [f"{kind}/{k}.corrupt (set aside)"])
        assert len(store.scan(kind)[0]) == 1  # the valid one is still read


def test_an_entry_under_another_key_is_set_aside(tmp_path):
    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    store.put("models", se.spec(0).key(), se.model_entry(se.spec(1)))
    assert store.get("models", se.spec(0).key()) is None
    assert (
        f"stored under key {se.spec(0).key()}, but its content is that of {se.spec(1).key()}"
        in warnings[0]
    )
    real, _ = se.checks_entry([se.spec(0)])
    other, suite = se.checks_entry([se.spec(0)], fingerprint="another method")
    store.put("checks", real, suite)
    assert store.get("checks", real) is None
    assert f"stored under key {real}, but its content is that of {other}" in warnings[1]
    assert store.path("checks", real, ".corrupt").exists()


def _cell(tiny, kind, seed=0):
    """(key, entry) of a valid entry of ``kind`` for seed ``seed`` of tiny's homogeneous/default
    cell, under vanilla gradients and tiny's protocol: what the view reads."""
    assert se.PROTOCOL == tiny.evaluation.to_dict()
    s, test, fingerprint = (
        tiny.spec("homogeneous", "default", seed),
        tiny.test(),
        resolve("vanilla").fingerprint,
    )
    if kind == "models":
        return s.key(), se.model_entry(s)
    if kind == "features":
        return se.features_entry(s, test=test)
    if kind == "maps":
        return se.evaluation_entry(s, test=test, fingerprint=fingerprint)
    if kind == "randomisation":
        return se.randomisation_entry(s, test=test, fingerprint=fingerprint)
    return se.checks_entry(
        [tiny.spec("homogeneous", "default", x) for x in tiny.seeds], test=test, fingerprint=fingerprint
    )


def test_the_view_reports_an_unparseable_evaluation_as_missing(tmp_path, tiny):
    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    for kind in ("maps", "randomisation"):
        for seed in tiny.seeds:
            store.put(kind, *_cell(tiny, kind, seed))
    view = ResultsView(store, tiny, "vanilla")
    assert view.values("homogeneous", "default", "b") == [2.0, 2.0]
    assert view.values("homogeneous", "default", "spearman_randomised") == [0.1, 0.1]
    bad_key, _ = _cell(tiny, "maps", 1)
    store.put("maps", bad_key, NOT_AN_EVALUATION)
    curve_key, curve = _cell(tiny, "randomisation", 1)
    store.put("randomisation", curve_key, {k: v for k, v in curve.items() if k != "identity"})
    view = ResultsView(store, tiny, "vanilla")
    with pytest.raises(
        MissingResults,
        match="maps of Vanilla gradient on homogeneous/default/seed1 .* is not in the store",
    ):
        view.values("homogeneous", "default", "b")
    assert f"corrupted entry maps/{bad_key}.json" in warnings[0]
    with pytest.raises(MissingResults, match="randomisation of .* on homogeneous/default/seed1"):
        view.values("homogeneous", "default", "spearman_randomised")
    assert f"corrupted entry randomisation/{curve_key}.json (an evaluation entry must" in warnings[1]


def test_a_run_recomputes_an_unparseable_model_and_evaluation(tmp_path, monkeypatch):
    """Training and evaluation replaced by stand-ins: what is checked is that the runner sees
    the unparseable entries (and a curve without identity) as missing, reports them and stores
    fresh ones under their keys."""
    import torch

    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    s = se.spec(0)
    store.put("models", s.key(), NOT_A_MODEL)
    net = torch.nn.Linear(2, 2)
    record = ModelResult.from_dict(se.model_entry(s))
    monkeypatch.setattr(runner, "train_model", lambda spec, device, checkpoint: [(record, net)])
    got, weights, cached = runner.model_entry(store, s)
    assert not cached and got.status == "done" and weights is not None
    assert f"corrupted entry models/{s.key()}.json" in warnings[0]
    assert store.get("models", s.key())["weights_sha256"] == got.weights_sha256

    method = resolve("vanilla")
    monkeypatch.setattr(runner, "test_cohort", lambda test: None)
    for i, (part, make) in enumerate(
        (("maps", se.evaluation_entry), ("randomisation", se.randomisation_entry))
    ):
        task = Task(part, s, method, EvalProtocol())
        key, entry = make(s, fingerprint=method.fingerprint)
        assert task.key(se.TEST) == key
        legacy = {k: v for k, v in entry.items() if k != "identity"}
        store.put(part, key, NOT_AN_EVALUATION if part == "maps" else legacy)
        fresh = Evaluation.from_dict({**entry, "identity": None})
        monkeypatch.setattr(runner, "score", lambda *args, fresh=fresh, **kwargs: fresh)
        result, cached = runner.evaluation_entry(store, task, se.TEST, network=net)
        assert not cached and (result.criteria, result.curve) == (fresh.criteria, fresh.curve)
        assert f"corrupted entry {part}/{key}.json" in warnings[1 + i]
        stored = store.get(part, key)
        assert stored["identity"] == entry["identity"] and entry_key(part, stored) == key


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _damaged(entry: dict) -> st.SearchStrategy:
    """``entry`` with one field (top level, or nested: its spec or model, identity, criteria, a
    curve row, a check result...) replaced, removed or added; or any JSON at all."""
    paths = [("extra",), *se.paths(entry)]

    def damage(path, value, drop):
        out = json.loads(json.dumps(entry))
        parent = out
        for k in path[:-1]:
            parent = parent[k]
        if drop and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif drop:
            parent.pop(path[-1])
        else:
            parent[path[-1]] = value
        return out

    return st.builds(damage, st.sampled_from(paths), JSON, st.booleans()) | JSON


def _read(store, tiny, kind, key) -> bool:
    """Whether the cell's readers of ``kind`` read a record (False: MissingResults); the view's
    numbers from it are floats, or MissingResults naming the criterion the record lacks."""
    view = ResultsView(store, tiny, "vanilla")
    s = tiny.spec("homogeneous", "default", 0)
    try:
        if kind == "models":
            read_model(store, s)
            view.validity("homogeneous", "default")  # a damaged record reads or is missing
        elif kind == "checks":
            assert all(isinstance(r.message(), str) for r in results_of(read_checks(store, key)))
        else:
            read_evaluation(store, kind, s, tiny.test(), view.method, view.protocol)
    except MissingResults:
        return False
    criteria = {"features": ["a"], "maps": ["b", "c_dagger"], "randomisation": ["abs_log_b_randomised"]}
    for criterion in criteria.get(kind, []):
        try:
            values = view.values("homogeneous", "default", criterion)
        except MissingResults as exc:
            values = str(exc)
        assert (
            f"has no criterion {criterion!r}" in values
            if isinstance(values, str)
            else (len(values) == 2 and all(isinstance(v, float) for v in values))
        )
    return True


@FUZZ
@given(data=st.data())
def test_no_reader_ends_in_a_traceback_on_any_entry(tmp_path_factory, tiny, data, capsys):
    """Whatever is stored under a cell's key, of any kind: the readers (status, scan, a read,
    the view, the check suite's results, a run's lookup, export) see a valid record, or report
    the entry as corrupted and set it aside."""
    kind = data.draw(st.sampled_from(KINDS))
    key, entry = _cell(tiny, kind)
    damaged = data.draw(_damaged(entry))
    warnings = []
    store = Store(tmp_path_factory.mktemp("store"), warn=warnings.append)
    if kind != "checks":
        store.put(kind, *_cell(tiny, kind, seed=1))  # the cell's other seed, valid
    store.put(kind, key, damaged)

    def valid(key):
        try:
            check_entry(kind, key, damaged)
        except CORRUPTED:
            return False
        return True

    record, valid = valid(None), valid(key)  # a valid record, and stored under its own key
    event(f"{kind}: {'valid' if valid else 'a record under another key' if record else 'corrupted'}")
    assert main(["status", "--store", str(store.root)]) == (0 if record else 1)
    assert ("CORRUPTED" in capsys.readouterr().out) is not record  # listing checks no key
    assert export_bundle(store, store.root / "b.tar.gz").get("left out", 0) == (0 if valid else 1)
    done = valid and damaged.get("status") == "done"
    assert _read(store, tiny, kind, key) is (valid if kind == "checks" else done)  # a failed suite reads
    assert (store.get(kind, key) is not None) is valid
    assert bool(warnings) is not valid
    assert store.path(kind, key, ".corrupt").exists() is not valid
    fresh, cached = store.get_or_compute(kind, key, lambda: entry, usable=lambda e: True)
    assert cached is valid and (fresh == damaged if valid else fresh == entry)


def test_a_check_record_holds_the_fields_of_check_results():
    """What the record's schema accepts is what ``results_of`` builds CheckResults from."""
    import dataclasses
    import typing

    from salcheck.engine.checks import CheckResult
    from salcheck.store.records import CheckResultFields

    fields = [f.name for f in dataclasses.fields(CheckResultFields)]
    assert fields == [f.name for f in dataclasses.fields(CheckResult)]
    assert typing.get_type_hints(CheckResultFields) == typing.get_type_hints(CheckResult)


def test_a_claim_on_the_atypical_map_of_a_cell_that_did_not_learn_the_subtype_is_undecidable(
    tmp_path, tiny
):
    """A seed whose model calls most atypical atrophied test images controls (accuracy 0.2
    < 0.5) makes every comparison reading that cell's atypical map undecidable, saying so; a
    comparison reading only the typical map is decided."""
    from salcheck.science.findings import Comparison
    from salcheck.store.keys import content_key, evaluation_payload
    from salcheck.store.records import Evaluation

    store = Store(tmp_path, layers=())
    view = ResultsView(store, tiny, "vanilla")
    for seed in tiny.seeds:
        s = tiny.spec("homogeneous", "default", seed)
        sha = store.put_blob("models", s.key(), b"w")
        history = [{"epoch": 1, "train_loss": 0.6, "val_loss": 0.5, "val_balanced_accuracy": 0.9}]
        stop = {"epochs_run": 1, "reason": "patience", "best_epochs": {"loss": 1}}
        store.put(
            "models", s.key(), {**se.model_entry(s, "done", sha), "history": history, "stop": stop}
        )
        for part, fields in (
            (
                "features",
                {"criteria": {"a": 0.9}, "accuracy": {"accuracy_AD_atypical": 0.9 - 0.7 * seed}},
            ),
            ("maps", {"criteria": {"b": 3.0 + seed, "b_dagger": 1.0, "c": 2.0, "c_dagger": 1.0}}),
        ):
            fp = view.method.fingerprint if part == "maps" else None
            proto = view.protocol.to_dict() if part == "maps" else None
            identity = evaluation_payload(part, s, tiny.test(), fp, proto)
            record = Evaluation(
                part=part,
                model=s,
                status="done",
                fingerprint=fp,
                protocol=proto or {},
                provenance={"test": tiny.test().to_dict()},
                identity=identity,
                **fields,
            )
            store.put(part, content_key(identity), record.to_dict())
    atypical = Comparison(
        "x", 1, "b > b†", ("homogeneous", "default", "b"), ("homogeneous", "default", "b_dagger")
    )
    typical = Comparison("y", 1, "b > 1", ("homogeneous", "default", "b"), 1.0)
    verdict = view.decide(atypical)
    assert verdict.outcome == "undecidable"
    assert (
        "the atypical subtype learned on 1 of 2 seeds (atypical test accuracy >= 0.5; not: seed(s) [1])"
        in verdict.reason
    )
    assert view.decide(typical).outcome != "undecidable"


def test_stored_arrays_round_trip_compressed_and_read_the_uncompressed_form():

    rng = np.random.default_rng(0)
    smooth = np.outer(np.hanning(64), np.hanning(64)).astype(np.float32)
    for a in (smooth, rng.normal(size=(8, 8)).astype(np.float32), np.full((64, 64), 3.0)):
        enc = encode_array(a)
        assert set(enc) == {"dtype", "shape", "scale", "zlib_base64"}
        np.testing.assert_allclose(decode_array(enc), a, rtol=2**-10, atol=1e-7 * abs(a).max())
    constant = encode_array(np.full((64, 64), 3.0))
    assert len(constant["zlib_base64"]) < 100  # 8 KB of equal halves compress to a few bytes
    # the first format-5 entries hold the plain float16 bytes: still read, to the same numbers
    raw = zlib.decompress(base64.b64decode(encode_array(smooth)["zlib_base64"]))
    plain = {**encode_array(smooth), "base64": base64.b64encode(raw).decode()}
    del plain["zlib_base64"]
    np.testing.assert_array_equal(decode_array(plain), decode_array(encode_array(smooth)))
    # a stream that inflates past the shape's bytes is refused before it is expanded
    bomb = {**constant, "shape": [2, 2]}
    with pytest.raises(ValueError, match="longer than 8 bytes"):
        decode_array(bomb)
    with pytest.raises(ValueError, match="zlib_base64 does not decode"):
        decode_array({**constant, "zlib_base64": base64.b64encode(b"not zlib").decode()})
    with pytest.raises(ValueError, match="one of base64 or zlib_base64"):
        decode_array({**constant, "base64": "AAAA"})
