"""Export and import of result bundles: round trip, conflicts, failed entries, corruption, and
bundles that would plant results (entries that are not records, keys that are not their
content's, weights that are not the entry's, malformed member names): each is refused whole,
with salcheck's error naming the bundle and the member, and the store is left unchanged."""

import gzip
import hashlib
import io
import json
import tarfile

import pytest
import store_entries as se
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from salcheck.store.bundle import BundleError, export_bundle, import_bundle, read_bundle
from salcheck.store.files import KINDS, STORE_FORMAT_VERSION, Store, checksum

FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _entries(store: Store) -> dict:
    return {kind: dict(store.items(kind)) for kind in KINDS}


def _files(store: Store) -> dict:
    """Every file of the store and its bytes: 'unchanged' means this is equal before and after."""
    return {
        p.relative_to(store.root).as_posix(): p.read_bytes()
        for p in store.root.rglob("*")
        if p.is_file()
    }


def _member(entry) -> bytes:
    return json.dumps({"sha256": checksum(entry), "entry": entry}, sort_keys=True).encode()


def _bundle(path, members: dict, *, manifest=None, links=()) -> None:
    """A bundle of ``members`` (name -> bytes) with a correct manifest unless ``manifest`` is given."""
    if manifest is None:
        manifest = {
            "bundle_format": 1,
            "store_format": STORE_FORMAT_VERSION,
            "members": {n: hashlib.sha256(d).hexdigest() for n, d in members.items()},
        }
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {"manifest.json": raw, **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)


def _refused(store: Store, path, match: str) -> None:
    before = _files(store)
    with pytest.raises(BundleError, match=match):
        import_bundle(store, path)
    assert _files(store) == before


def test_round_trip_with_and_without_weights(tmp_path):
    source = Store(tmp_path / "a")
    keys = se.fill(source)
    counts = {"models": 3, "features": 3, "maps": 3, "randomisation": 3, "checks": 1}
    assert export_bundle(source, tmp_path / "b.tar.gz") == counts
    target = Store(tmp_path / "t")
    summary = import_bundle(target, tmp_path / "b.tar.gz")
    assert (summary.added, summary.weights, summary.conflicts) == (13, 3, [])
    assert _entries(target) == _entries(source) and all(_entries(target).values())
    m1 = keys["models"][1]
    assert target.get_blob("models", m1, source.get("models", m1)["weights_sha256"])
    again = import_bundle(target, tmp_path / "b.tar.gz")
    assert (again.added, again.identical) == (0, 13)
    export_bundle(source, tmp_path / "light.tar.gz", weights=False)
    _, members = read_bundle(tmp_path / "light.tar.gz")
    assert not [m for m in members if m.startswith("blobs/")]


def test_a_different_result_is_refused_and_nothing_is_written(tmp_path):
    source, target = Store(tmp_path / "a"), Store(tmp_path / "t")
    keys = se.fill(source)
    export_bundle(source, tmp_path / "b.tar.gz")
    e1 = keys["maps"][1]
    target.put("maps", e1, se.evaluation_entry(se.spec(1), b=99.0)[1])
    with pytest.raises(BundleError, match=rf"(?s)1 result\(s\) that differ.*maps/{e1}"):
        import_bundle(target, tmp_path / "b.tar.gz")
    assert target.get("models", keys["models"][0]) is None  # nothing imported
    kept = import_bundle(target, tmp_path / "b.tar.gz", keep_existing=True)
    assert kept.added == 12 and len(kept.conflicts) == 1
    assert target.get("maps", e1)["criteria"]["b"] == 99.0


def test_a_failed_entry_is_replaced_by_a_done_one(tmp_path):
    source, target = Store(tmp_path / "a"), Store(tmp_path / "t")
    se.fill(source)
    se.fill(target, status="failed")
    export_bundle(source, tmp_path / "b.tar.gz")
    assert import_bundle(target, tmp_path / "b.tar.gz").replaced_failed == 13
    assert _entries(target) == _entries(source)


def test_corrupted_bundles_are_refused_with_the_file_named(tmp_path):
    source = Store(tmp_path / "a")
    keys = se.fill(source)
    path = tmp_path / "b.tar.gz"
    export_bundle(source, path)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(BundleError, match=f"cannot read bundle {truncated}"):
        import_bundle(Store(tmp_path / "t"), truncated)
    raw = gzip.decompress(path.read_bytes())
    altered = tmp_path / "altered.tar.gz"
    altered.write_bytes(gzip.compress(raw.replace(b'"b": 3.0', b'"b": 4.0', 1)))
    e2 = keys["maps"][2]
    with pytest.raises(BundleError, match=rf"is corrupted: .* \['entries/maps/{e2}.json'\] altered"):
        import_bundle(Store(tmp_path / "t"), altered)
    assert not list(Store(tmp_path / "t").items("models"))
    (tmp_path / "junk.tar.gz").write_bytes(b"not a bundle")
    with pytest.raises(BundleError, match="junk.tar.gz"):
        read_bundle(tmp_path / "junk.tar.gz")


#: A valid entry of each kind, under its own key.
ENTRIES = {
    "models": (se.spec(0).key(), se.model_entry(se.spec(0), weights_sha256="0" * 64)),
    "features": se.features_entry(se.spec(0)),
    "maps": se.evaluation_entry(se.spec(0)),
    "randomisation": se.randomisation_entry(se.spec(0)),
    "checks": se.checks_entry([se.spec(0), se.spec(1)]),
}
#: The entries of issue 25 (a): JSON with a correct checksum, but not salcheck records.
NOT_A_MODEL = {"status": "done"}
NOT_AN_EVALUATION = {"status": "done", "scores": {"b": 99}}


def _with(kind: str, **fields) -> tuple[str, str, dict]:
    """(kind, key, entry): the valid entry of ``kind`` with ``fields`` replaced, under its key."""
    key, entry = ENTRIES[kind]
    return kind, key, {**entry, **fields}


# The four bundles of issue 25, each with a correct manifest.


def test_entries_that_are_json_but_not_records_are_refused(tmp_path):
    """(a) Imported as "2 added" before; `salcheck status` then died on KeyError 'model'."""
    store = Store(tmp_path / "t")
    se.fill(store, n=1)
    as_reported = {
        "entries/maps/abc.json": _member(NOT_AN_EVALUATION),
        "entries/models/def.json": _member(NOT_A_MODEL),
    }
    _bundle(tmp_path / "reported.tar.gz", as_reported)
    _refused(
        store, tmp_path / "reported.tar.gz", r"member 'entries/maps/abc\.json' has no accepted name"
    )
    members = {  # the same entries under names of real keys' form reach the record check
        f"entries/maps/{'abc' * 8}.json": _member(NOT_AN_EVALUATION),
        f"entries/models/{'def' * 8}.json": _member(NOT_A_MODEL),
    }
    _bundle(tmp_path / "a.tar.gz", members)
    _refused(
        store,
        tmp_path / "a.tar.gz",
        r"bundle .*a\.tar\.gz: member 'entries/maps/(abc){8}\.json' is not a valid maps "
        r"entry .*unknown field\(s\) \['scores'\].*nothing was imported",
    )
    del members[f"entries/maps/{'abc' * 8}.json"]
    _bundle(tmp_path / "m.tar.gz", members)
    _refused(
        store,
        tmp_path / "m.tar.gz",
        r"'entries/models/(def){8}\.json' .*lacks the field\(s\) \['spec'\]",
    )


CURVE = ENTRIES["randomisation"][1]["curve"]


@pytest.mark.parametrize(
    ("kind", "key", "entry", "match"),
    [
        (*_with("randomisation", curve=[]), "must hold at least one step"),
        (
            *_with("randomisation", curve=[CURVE[0], {"layer": "fc", "b": 1.0, "c": 1.0}]),
            r"curve\[1\]\.spearman must be float, got None",
        ),
        (*_with("randomisation", curve=[{**CURVE[0], "layer": 3}]), r"curve\[0\]\.layer must be str"),
        (*_with("randomisation", curve=[{**CURVE[0], "b": "2.0"}]), r"curve\[0\]\.b must be float"),
        (*_with("randomisation", part="maps"), "a maps evaluation stored among the randomisation"),
        (
            *_with("features", accuracy={"balanced_accuracy": "high"}),
            r"accuracy\.balanced_accuracy must be float",
        ),
        (*_with("maps", maps={"typical": [1.0, 2.0]}), r"maps\.typical must be a non-empty 2-D"),
        (
            "checks",
            ENTRIES["checks"][0],
            NOT_A_MODEL,
            r"check-suite record lacks the field\(s\) \['method', 'fingerprint', 'tier', 'results'\]",
        ),
        (*_with("checks", results={"passed": True}), r"results must be list"),
        (
            *_with("checks", results=[{"check": "x", "passed": True}]),
            r"results\[0\] lacks the field\(s\) \['method', 'claim'\]",
        ),
        (*_with("checks", status="running"), "status must be one of done, failed, got 'running'"),
        ("checks", ENTRIES["maps"][0], ENTRIES["maps"][1], r"unknown field\(s\) \['accuracy'"),
    ],
)
def test_each_kind_is_checked_as_its_record(tmp_path, kind, key, entry, match):
    """Under its own key, an entry that is not a record of its kind (a randomisation curve
    whose rows lack a number, a check-suite record without results...) is refused by name."""
    _bundle(tmp_path / "b.tar.gz", {f"entries/{kind}/{key}.json": _member(entry)})
    _refused(
        Store(tmp_path / "t"),
        tmp_path / "b.tar.gz",
        rf"member 'entries/{kind}/{key}\.json' is not a valid {kind} entry \(InvalidRecord: .*{match}",
    )


def _planted(store: Store, kind: str, key: str, entry: dict, match: str) -> None:
    path = store.root.parent / f"{kind}-planted.tar.gz"
    _bundle(path, {f"entries/{kind}/{key}.json": _member(entry)})
    _refused(store, path, rf"'entries/{kind}/{key}\.json' is not a valid {kind} entry .*{match}")


def test_a_wrong_number_planted_under_a_real_key_is_refused(tmp_path):
    """(b) An entry whose content is another result (seed 1's, b = 99) filed under the key of a
    real one (seed 0's), of every kind; and entries whose identity is seed 0's while their
    content (model, method, test set) is another's."""
    store = Store(tmp_path / "t")
    real = se.fill(store, n=1)
    s0, s1 = se.spec(0), se.spec(1)
    others = {
        "models": (s1.key(), se.model_entry(s1)),
        "features": se.features_entry(s1, a=99.0),
        "maps": se.evaluation_entry(s1, b=99.0),
        "randomisation": se.randomisation_entry(s1, spearman=0.99),
        "checks": se.checks_entry([s0], fingerprint="another method", passed=False),
    }
    for kind, (other_key, planted) in others.items():
        key = real[kind][0]
        assert other_key != key
        _planted(
            store, kind, key, planted, rf"stored under key {key}, but its content is that of {other_key}"
        )
    forged = {  # seed 0's identity (so under its own key), another's content
        "features": ("model", se.features_entry(s0, a=99.0)[1] | {"model": s1.to_dict()}),
        "maps": ("model", se.evaluation_entry(s0, b=99.0)[1] | {"model": s1.to_dict()}),
        "randomisation": ("method", se.randomisation_entry(s0, 0.99)[1] | {"fingerprint": "another"}),
        "checks": ("method", se.checks_entry([s0], passed=False)[1] | {"fingerprint": "another"}),
    }
    _, maps = se.evaluation_entry(s0, b=99.0, test=se.TestSpec(32, 6, seed=1))
    forged["test"] = ("test", maps | {"identity": store.get("maps", real["maps"][0])["identity"]})
    for kind, (field, entry) in forged.items():
        kind = "maps" if kind == "test" else kind
        _planted(store, kind, real[kind][0], entry, rf"its identity is not that of its content: {field}")
    assert store.get("maps", real["maps"][0])["criteria"]["b"] == 1.0
    assert store.get("checks", real["checks"][0])["results"][0]["passed"] is True


@pytest.mark.parametrize("kind", ["features", "maps", "randomisation", "checks"])
def test_an_entry_without_identity_is_refused(tmp_path, kind):
    """Store v4 has no legacy entries: an evaluation or check suite that does not carry the
    identity its key hashes is refused, even under the key this code would give it."""
    key, entry = ENTRIES[kind]
    for legacy in ({k: v for k, v in entry.items() if k != "identity"}, {**entry, "identity": None}):
        _bundle(tmp_path / "b.tar.gz", {f"entries/{kind}/{key}.json": _member(legacy)})
        _refused(
            Store(tmp_path / "t"),
            tmp_path / "b.tar.gz",
            rf"'entries/{kind}/{key}\.json' is not a valid {kind} entry \(InvalidRecord: an evaluation "
            r"entry must carry its identity, got None\)",
        )


@pytest.mark.parametrize(
    "name",
    [
        "entries/models/../../x.json",
        "entries/cells/" + "a" * 24 + ".json",
        "entries/evaluations/" + "a" * 24 + ".json",  # the kind of store v3
        "entries/models/" + "a" * 24 + ".pt",
        "entries/models/short.json",
        "x.json",
        "/etc/passwd",
    ],
)
def test_malformed_member_names_are_refused_by_name(tmp_path, name):
    """(c) `entries/models/../../x.json` ended in a bare 'too many values to unpack'."""
    _bundle(tmp_path / "b.tar.gz", {name: _member({"status": "done"})})
    _refused(
        Store(tmp_path / "t"), tmp_path / "b.tar.gz", rf"member '{name}' has no accepted name; accepted"
    )


def test_links_duplicates_and_non_json_members_are_refused_by_name(tmp_path):
    """(c) A non-JSON member ended in a bare JSONDecodeError."""
    name = f"entries/models/{se.spec(0).key()}.json"
    _bundle(tmp_path / "j.tar.gz", {name: b"\x00 not json"})
    _refused(
        Store(tmp_path / "t"),
        tmp_path / "j.tar.gz",
        rf"member '{name}' is not a valid models entry \(JSONDecodeError",
    )
    _bundle(tmp_path / "l.tar.gz", {}, links=[(name, "/etc/passwd")])
    _refused(Store(tmp_path / "t"), tmp_path / "l.tar.gz", rf"member '{name}' is not a regular file")
    data = _member(se.model_entry(se.spec(0)))
    dup = tmp_path / "dup.tar.gz"
    with tarfile.open(dup, "w:gz") as tar:
        for n, d in [("manifest.json", b"{}"), (name, data), (name, data)]:
            info = tarfile.TarInfo(n)
            info.size = len(d)
            tar.addfile(info, io.BytesIO(d))
    _refused(Store(tmp_path / "t"), dup, rf"member '{name}' appears twice")


def test_weights_are_checked_against_their_entry(tmp_path):
    s = se.spec(0)
    weights = b"weights"
    entry = se.model_entry(s, weights_sha256=hashlib.sha256(b"other weights").hexdigest())
    members = {
        f"entries/models/{s.key()}.json": _member(entry),
        f"blobs/models/{s.key()}.safetensors": weights,
    }
    _bundle(tmp_path / "w.tar.gz", members)
    _refused(
        Store(tmp_path / "t"), tmp_path / "w.tar.gz", r"has weights whose sha256 .* is not the entry's"
    )
    orphan = {f"blobs/models/{se.spec(1).key()}.safetensors": weights}
    _bundle(tmp_path / "o.tar.gz", orphan)
    _refused(Store(tmp_path / "t"), tmp_path / "o.tar.gz", r"holds weights of no entry")


def test_other_bundle_and_store_formats_are_refused(tmp_path):
    for what, value in (("bundle_format", 2), ("store_format", STORE_FORMAT_VERSION - 1)):
        manifest = {"bundle_format": 1, "store_format": STORE_FORMAT_VERSION, "members": {}, what: value}
        _bundle(tmp_path / "f.tar.gz", {}, manifest=manifest)
        _refused(
            Store(tmp_path / "t"), tmp_path / "f.tar.gz", rf"has {what} {value}; this salcheck reads"
        )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(
    manifest=st.one_of(
        st.binary(max_size=30),
        JSON.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"members": JSON}).map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"bundle_format": st.just(1), "store_format": st.just(STORE_FORMAT_VERSION), "members": JSON}
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_damaged_manifests_are_refused(tmp_path_factory, manifest):
    root = tmp_path_factory.mktemp("manifest")
    _bundle(root / "b.tar.gz", {}, manifest=manifest)
    store = Store(root / "t")
    before = _files(store)
    try:
        refused = None
        summary = import_bundle(store, root / "b.tar.gz")
    except BundleError as exc:
        refused = str(exc)
    if refused is None:  # only a manifest of these formats listing no member is a (empty) bundle
        assert json.loads(manifest)["members"] == {} and summary.added == 0
    else:
        assert "b.tar.gz" in refused
    assert _files(store) == before


def _mutations(entry: dict) -> st.SearchStrategy:
    """``entry`` with one field (top level, or nested: its spec or model, identity, criteria,
    a curve row, a check result...) removed, replaced or added."""
    paths = se.paths(entry)
    paths += [("extra",)] + [(*p, "extra") for p in paths if isinstance(_at(entry, p), dict)]

    def mutate(path, value, drop):
        out = json.loads(json.dumps(entry))
        parent = _at(out, path[:-1])
        if not drop:
            parent[path[-1]] = value
        elif isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent.pop(path[-1])
        return out

    return st.builds(mutate, st.sampled_from(paths), JSON, st.booleans())


def _at(value, path: tuple):
    for k in path:
        value = value[k]
    return value


@FUZZ
@given(data=st.data())
def test_damaged_entries_are_refused_or_imported_whole(tmp_path_factory, data):
    """Any entry hypothesis draws, of any kind: import refuses the bundle with a BundleError, or
    the entry is a valid record under its own key and every reader reads it."""
    kind = data.draw(st.sampled_from(KINDS))
    key, entry = ENTRIES[kind]
    damaged = data.draw(_mutations(entry))
    root = tmp_path_factory.mktemp("entries")
    _bundle(root / "b.tar.gz", {f"entries/{kind}/{key}.json": _member(damaged)})
    store = Store(
        root / "t", warn=lambda msg: pytest.fail(f"a reader found an imported entry bad: {msg}")
    )
    before = _files(store)
    try:
        refused = None
        import_bundle(store, root / "b.tar.gz")
    except BundleError as exc:
        refused = str(exc)
    event(f"{kind} {'refused' if refused else 'imported'}")
    if refused is not None:
        assert f"entries/{kind}/{key}.json" in refused
        assert _files(store) == before
    else:
        assert store.get(kind, key) == damaged
        assert store.scan(kind) == ([damaged], [])
        export_bundle(store, root / "again.tar.gz")
        assert import_bundle(Store(root / "u"), root / "again.tar.gz").added == 1


def test_export_leaves_out_what_import_would_refuse(tmp_path):
    """A store may hold entries a bundle cannot carry (a valid record under another key; an
    evaluation without its identity, which the store's readers set aside; damaged weights):
    each is left out with a warning, and the rest imports."""
    warnings = []
    store = Store(tmp_path / "a", warn=warnings.append)
    se.fill(store, n=2)
    _, entry = se.evaluation_entry(se.spec(5))
    store.put("maps", "f" * 24, entry)
    key, curve = se.randomisation_entry(se.spec(0))
    store.put("randomisation", key, {k: v for k, v in curve.items() if k != "identity"})
    blob = store.path("models", se.spec(1).key(), ".safetensors")
    blob.write_bytes(b"damaged weights")
    counts = export_bundle(store, tmp_path / "b.tar.gz")
    kept = {"models": 2, "features": 2, "maps": 2, "randomisation": 1, "checks": 1}
    assert counts == {**kept, "left out": 2}
    assert any(
        f"maps/{'f' * 24} is left out of the bundle: stored under key {'f' * 24}" in w for w in warnings
    )
    assert any(
        f"randomisation/{key}.json (an evaluation entry must carry its identity, got None) is left "
        "out of the bundle: it is corrupted" in w
        for w in warnings
    )
    assert any("corrupted blob" in w for w in warnings)
    target = Store(tmp_path / "t")
    summary = import_bundle(target, tmp_path / "b.tar.gz")
    assert (summary.added, summary.weights) == (8, 1)


def test_a_bundle_carries_the_stored_float16_safetensors_weights_unchanged(tmp_path):
    """Weights travel as stored: safetensors, floats rounded to float16 (no pickle), the same
    bytes after import; the weights can be left out."""
    import torch
    from safetensors.torch import load

    from salcheck.models import build_model, weights_bytes

    source, target = Store(tmp_path / "a"), Store(tmp_path / "t")
    s = se.spec(0)
    net = build_model("convnet", 32, generator=torch.Generator().manual_seed(0))
    data = weights_bytes(net)
    source.put("models", s.key(), se.model_entry(s, "done", source.put_blob("models", s.key(), data)))
    export_bundle(source, tmp_path / "full.tar.gz", weights="full")
    export_bundle(source, tmp_path / "none.tar.gz", weights="none")
    assert (tmp_path / "none.tar.gz").stat().st_size < 0.2 * (tmp_path / "full.tar.gz").stat().st_size
    import_bundle(target, tmp_path / "full.tar.gz")
    entry = target.get("models", s.key())
    assert target.get_blob("models", s.key(), entry["weights_sha256"]) == data
    restored = load(data)
    for k, v in net.state_dict().items():
        assert restored[k].dtype == (torch.float16 if v.is_floating_point() else v.dtype), k
    with pytest.raises(BundleError, match="weights must be one of full, none"):
        export_bundle(source, tmp_path / "x.tar.gz", weights="half")
