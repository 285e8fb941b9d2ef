"""Export and import of result bundles: round trip, conflicts, failed entries, corruption."""

import gzip

import pytest

from salcheck.store.bundle import BundleError, export_bundle, import_bundle, read_bundle
from salcheck.store.files import Store


def _fill(store: Store, n: int = 3, status: str = "done") -> None:
    for i in range(n):
        key = f"model{i:02d}"
        sha = store.put_blob("models", key, bytes([i]) * 10)
        store.put("models", key, {"status": status, "weights_sha256": sha, "provenance": {}})
        store.put("maps", f"eval{i:02d}", {"status": status, "criteria": {"b": i}})


def _entries(store: Store) -> dict:
    return {kind: dict(store.items(kind)) for kind in ("models", "maps")}


def test_round_trip_with_and_without_weights(tmp_path):
    source = Store(tmp_path / "a")
    _fill(source)
    assert export_bundle(source, tmp_path / "b.tar.gz") == {
        "models": 3,
        "features": 0,
        "maps": 3,
        "randomisation": 0,
        "checks": 0,
    }
    target = Store(tmp_path / "t")
    summary = import_bundle(target, tmp_path / "b.tar.gz")
    assert (summary.added, summary.weights, summary.conflicts) == (6, 3, [])
    assert _entries(target) == _entries(source)
    assert target.get_blob("models", "model01", source.get("models", "model01")["weights_sha256"])
    again = import_bundle(target, tmp_path / "b.tar.gz")
    assert (again.added, again.identical) == (0, 6)
    export_bundle(source, tmp_path / "light.tar.gz", weights=False)
    _, members = read_bundle(tmp_path / "light.tar.gz")
    assert not [m for m in members if m.startswith("blobs/")]


def test_a_different_result_is_refused_and_nothing_is_written(tmp_path):
    source, target = Store(tmp_path / "a"), Store(tmp_path / "t")
    _fill(source)
    export_bundle(source, tmp_path / "b.tar.gz")
    target.put("maps", "eval01", {"status": "done", "criteria": {"b": 99}})
    with pytest.raises(BundleError, match=r"(?s)1 result\(s\) that differ.*maps/eval01"):
        import_bundle(target, tmp_path / "b.tar.gz")
    assert target.get("models", "model00") is None  # nothing imported
    kept = import_bundle(target, tmp_path / "b.tar.gz", keep_existing=True)
    assert kept.added == 5 and len(kept.conflicts) == 1
    assert target.get("maps", "eval01")["criteria"] == {"b": 99}


def test_a_failed_entry_is_replaced_by_a_done_one(tmp_path):
    source, target = Store(tmp_path / "a"), Store(tmp_path / "t")
    _fill(source)
    _fill(target, status="failed")
    export_bundle(source, tmp_path / "b.tar.gz")
    assert import_bundle(target, tmp_path / "b.tar.gz").replaced_failed == 6
    assert _entries(target) == _entries(source)


def test_corrupted_bundles_are_refused_with_the_file_named(tmp_path):
    source = Store(tmp_path / "a")
    _fill(source)
    path = tmp_path / "b.tar.gz"
    export_bundle(source, path)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(BundleError, match=f"cannot read bundle {truncated}"):
        import_bundle(Store(tmp_path / "t"), truncated)
    raw = gzip.decompress(path.read_bytes())
    altered = tmp_path / "altered.tar.gz"
    altered.write_bytes(gzip.compress(raw.replace(b'"b": 2', b'"b": 3')))
    with pytest.raises(BundleError, match=r"is corrupted: .* \['entries/maps/eval02.json'\] altered"):
        import_bundle(Store(tmp_path / "t"), altered)
    assert not list(Store(tmp_path / "t").items("models"))
    (tmp_path / "junk.tar.gz").write_bytes(b"not a bundle")
    with pytest.raises(BundleError, match="junk.tar.gz"):
        read_bundle(tmp_path / "junk.tar.gz")
