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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salcheck.store.bundle import BundleError, export_bundle, import_bundle, read_bundle
from salcheck.store.files import STORE_FORMAT_VERSION, Store, checksum

FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _entries(store: Store) -> dict:
    return {kind: dict(store.items(kind)) for kind in ("models", "evaluations")}


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
    assert export_bundle(source, tmp_path / "b.tar.gz") == {"models": 3, "evaluations": 3}
    target = Store(tmp_path / "t")
    summary = import_bundle(target, tmp_path / "b.tar.gz")
    assert (summary.added, summary.weights, summary.conflicts) == (6, 3, [])
    assert _entries(target) == _entries(source)
    m1 = keys["models"][1]
    assert target.get_blob("models", m1, source.get("models", m1)["weights_sha256"])
    again = import_bundle(target, tmp_path / "b.tar.gz")
    assert (again.added, again.identical) == (0, 6)
    export_bundle(source, tmp_path / "light.tar.gz", weights=False)
    _, members = read_bundle(tmp_path / "light.tar.gz")
    assert not [m for m in members if m.startswith("blobs/")]


def test_a_different_result_is_refused_and_nothing_is_written(tmp_path):
    source, target = Store(tmp_path / "a"), Store(tmp_path / "t")
    keys = se.fill(source)
    export_bundle(source, tmp_path / "b.tar.gz")
    e1 = keys["evaluations"][1]
    target.put("evaluations", e1, se.evaluation_entry(se.spec(1), b=99.0)[1])
    with pytest.raises(BundleError, match=rf"(?s)1 result\(s\) that differ.*evaluations/{e1}"):
        import_bundle(target, tmp_path / "b.tar.gz")
    assert target.get("models", keys["models"][0]) is None  # nothing imported
    kept = import_bundle(target, tmp_path / "b.tar.gz", keep_existing=True)
    assert kept.added == 5 and len(kept.conflicts) == 1
    assert target.get("evaluations", e1)["criteria"]["b"] == 99.0


def test_a_failed_entry_is_replaced_by_a_done_one(tmp_path):
    source, target = Store(tmp_path / "a"), Store(tmp_path / "t")
    se.fill(source)
    se.fill(target, status="failed")
    export_bundle(source, tmp_path / "b.tar.gz")
    assert import_bundle(target, tmp_path / "b.tar.gz").replaced_failed == 6
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
    e2 = keys["evaluations"][2]
    with pytest.raises(
        BundleError, match=rf"is corrupted: .* \['entries/evaluations/{e2}.json'\] altered"
    ):
        import_bundle(Store(tmp_path / "t"), altered)
    assert not list(Store(tmp_path / "t").items("models"))
    (tmp_path / "junk.tar.gz").write_bytes(b"not a bundle")
    with pytest.raises(BundleError, match="junk.tar.gz"):
        read_bundle(tmp_path / "junk.tar.gz")


# The four bundles of issue 25, each with a correct manifest.


def test_entries_that_are_json_but_not_records_are_refused(tmp_path):
    """(a) Imported as "2 added" before; `salcheck status` then died on KeyError 'model'."""
    store = Store(tmp_path / "t")
    se.fill(store, n=1)
    as_reported = {
        "entries/evaluations/abc.json": _member({"status": "done", "scores": {"b": 99}}),
        "entries/models/def.json": _member({"status": "done"}),
    }
    _bundle(tmp_path / "reported.tar.gz", as_reported)
    _refused(
        store,
        tmp_path / "reported.tar.gz",
        r"member 'entries/evaluations/abc\.json' has no accepted name",
    )
    members = {  # the same entries under names of real keys' form reach the record check
        f"entries/evaluations/{'abc' * 8}.json": _member({"status": "done", "scores": {"b": 99}}),
        f"entries/models/{'def' * 8}.json": _member({"status": "done"}),
    }
    _bundle(tmp_path / "a.tar.gz", members)
    _refused(
        store,
        tmp_path / "a.tar.gz",
        r"bundle .*a\.tar\.gz: member 'entries/evaluations/(abc){8}\.json' is not a valid evaluations "
        r"entry .*unknown field\(s\) \['scores'\].*nothing was imported",
    )
    del members[f"entries/evaluations/{'abc' * 8}.json"]
    _bundle(tmp_path / "m.tar.gz", members)
    _refused(
        store,
        tmp_path / "m.tar.gz",
        r"'entries/models/(def){8}\.json' .*lacks the field\(s\) \['spec'\]",
    )


def test_a_wrong_number_planted_under_a_real_key_is_refused(tmp_path):
    """(b) An entry whose content is another evaluation's (b = 99 for seed 1) filed under the key
    of a real evaluation (seed 0's), and a model under another model's key."""
    store = Store(tmp_path / "t")
    real = se.fill(store, n=1)["evaluations"][0]
    _, planted = se.evaluation_entry(se.spec(1), b=99.0)
    _bundle(tmp_path / "e.tar.gz", {f"entries/evaluations/{real}.json": _member(planted)})
    _refused(
        store,
        tmp_path / "e.tar.gz",
        rf"evaluations/{real}\.json' .*stored under key {real}, but its content",
    )
    _, own = se.evaluation_entry(se.spec(0), b=99.0)
    forged = {**own, "model": se.spec(1).to_dict()}  # seed 1's model, seed 0's identity
    _bundle(tmp_path / "f.tar.gz", {f"entries/evaluations/{real}.json": _member(forged)})
    _refused(store, tmp_path / "f.tar.gz", r"its identity is not that of its content: model")
    seed0 = se.spec(0).key()
    model = se.model_entry(se.spec(1))
    _bundle(tmp_path / "m.tar.gz", {f"entries/models/{seed0}.json": _member(model)})
    _refused(
        store,
        tmp_path / "m.tar.gz",
        rf"stored under key {seed0}, but its content is that of {se.spec(1).key()}",
    )
    assert store.get("evaluations", real)["criteria"]["b"] == 1.0


def test_an_entry_without_identity_imports_only_under_the_key_this_code_gives_it(tmp_path):
    """Entries written before evaluations stored their identity: recomputed with this code."""
    key, entry = se.evaluation_entry(se.spec(0))
    legacy = {k: v for k, v in entry.items() if k != "identity"}
    _bundle(tmp_path / "ok.tar.gz", {f"entries/evaluations/{key}.json": _member(legacy)})
    assert import_bundle(Store(tmp_path / "t"), tmp_path / "ok.tar.gz").added == 1
    other, _ = se.evaluation_entry(se.spec(1))
    _bundle(tmp_path / "bad.tar.gz", {f"entries/evaluations/{other}.json": _member(legacy)})
    _refused(
        Store(tmp_path / "u"), tmp_path / "bad.tar.gz", rf"carries no identity .*{other} is not the key"
    )


@pytest.mark.parametrize(
    "name",
    [
        "entries/models/../../x.json",
        "entries/cells/" + "a" * 24 + ".json",
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
    members = {f"entries/models/{s.key()}.json": _member(entry), f"blobs/models/{s.key()}.pt": weights}
    _bundle(tmp_path / "w.tar.gz", members)
    _refused(
        Store(tmp_path / "t"), tmp_path / "w.tar.gz", r"has weights whose sha256 .* is not the entry's"
    )
    orphan = {f"blobs/models/{se.spec(1).key()}.pt": weights}
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
    """``entry`` with one field (top level, or of its spec) removed, replaced or added."""
    nested = "spec" if "spec" in entry else "model"
    paths = (
        [(k,) for k in entry] + [(nested, k) for k in entry[nested]] + [("extra",), (nested, "extra")]
    )

    def mutate(path, value, drop):
        out = json.loads(json.dumps(entry))
        parent = out if len(path) == 1 else out[path[0]]
        if drop:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = value
        return out

    return st.builds(mutate, st.sampled_from(paths), JSON, st.booleans())


MODEL = se.model_entry(se.spec(0), weights_sha256="0" * 64)
EVALUATION = se.evaluation_entry(se.spec(0))


@FUZZ
@given(data=st.data())
def test_damaged_entries_are_refused_or_imported_whole(tmp_path_factory, data):
    """Any entry hypothesis draws: import refuses the bundle with a BundleError, or the entry
    is a valid record under its own key and every reader reads it."""
    kind = data.draw(st.sampled_from(["models", "evaluations"]))
    key, entry = (se.spec(0).key(), MODEL) if kind == "models" else EVALUATION
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
    if refused is not None:
        assert f"entries/{kind}/{key}.json" in refused
        assert _files(store) == before
    else:
        assert store.get(kind, key) == damaged
        assert store.scan(kind) == ([damaged], [])
        export_bundle(store, root / "again.tar.gz")
        assert import_bundle(Store(root / "u"), root / "again.tar.gz").added == 1


def test_export_leaves_out_what_import_would_refuse(tmp_path):
    """A store may hold entries a bundle cannot carry (an evaluation of other code written
    before entries stored their identity): they are left out, with a warning, and the rest
    imports."""
    warnings = []
    store = Store(tmp_path / "a", warn=warnings.append)
    se.fill(store, n=2)
    _, entry = se.evaluation_entry(se.spec(5))
    store.put("evaluations", "f" * 24, {k: v for k, v in entry.items() if k != "identity"})
    blob = store.path("models", se.spec(1).key(), ".pt")
    blob.write_bytes(b"damaged weights")
    counts = export_bundle(store, tmp_path / "b.tar.gz")
    assert counts == {"models": 2, "evaluations": 2, "left out": 1}
    assert any(
        f"evaluations/{'f' * 24} is left out of the bundle: carries no identity" in w for w in warnings
    )
    assert any("corrupted blob" in w for w in warnings)
    target = Store(tmp_path / "t")
    summary = import_bundle(target, tmp_path / "b.tar.gz")
    assert (summary.added, summary.weights) == (4, 1)
