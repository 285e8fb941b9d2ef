"""The model zoo: adding a store's results, verifying every file, and the store reading through
it (read-only) before it computes anything. Entries are fabricated (``store_entries``)."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import store_entries as se

from salcheck.cli import main
from salcheck.errors import InvalidArgument
from salcheck.store import files, zoo
from salcheck.store.files import Store
from salcheck.store.keys import EVALUATION_VERSIONS
from salcheck.store.tiers import Tier

#: The tier the fabricated entries belong to (their model specs, their test set).
TIER = Tier("tiny", 32, {"homogeneous": 12, "heterogeneous": 12, "large": 24}, 6, 1, 8, (0, 1, 2))


@pytest.fixture
def made(tmp_path):
    """(store, zoo root, keys): a store of three models and their evaluations, all in the zoo."""
    store = Store(tmp_path / "store", layers=())
    keys = se.fill(store, n=3)
    root = tmp_path / "zoo"
    added = zoo.add(store, root, TIER, keys["models"])
    assert added.copied == {"models": 3, "features": 3, "maps": 3, "randomisation": 3, "checks": 1}
    return store, root, keys


def _file(root, kind, key):
    return root / TIER.tag / kind / f"{key}.json"


def test_add_copies_finished_entries_and_rewrites_none(made, tmp_path):
    store, root, keys = made
    assert zoo.verify(root).ok
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    again = zoo.add(store, root, TIER, keys["models"])
    assert not again.copied and sum(again.present.values()) == 13
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    # Only the named models, and the evaluations reading only them (the check suite reads all 3).
    partial = zoo.add(store, tmp_path / "other", TIER, keys["models"][:1])
    assert partial.copied == {"models": 1, "features": 1, "maps": 1, "randomisation": 1}


def test_add_takes_the_evaluations_of_models_the_zoo_already_holds(made, tmp_path):
    """A model committed to the zoo and evaluated later in a store that never held it (a fresh
    store reads it from the zoo): its evaluations join it; those of a model neither holds do not."""
    store, root, _ = made
    evaluated = Store(tmp_path / "evaluated", layers=())
    for kind in ("features", "maps"):
        for key, entry in store.items(kind):
            evaluated.put(kind, key, entry)
            (root / TIER.tag / kind / f"{key}.json").unlink()
    elsewhere = zoo.add(evaluated, tmp_path / "empty", TIER, [])
    assert not elsewhere.copied
    added = zoo.add(evaluated, root, TIER, [])
    assert added.copied == {"features": 3, "maps": 3}
    assert zoo.verify(root).ok


def test_a_store_reads_the_zoo_and_writes_only_to_itself(made, tmp_path):
    _, root, keys = made
    fresh = Store(tmp_path / "fresh", layers=files.zoo_layers(root))
    model = fresh.get("models", keys["models"][0])
    assert model is not None and model["status"] == "done"
    assert fresh.get_blob("models", keys["models"][0], model["weights_sha256"]) == bytes([0]) * 10
    assert fresh.get("maps", keys["maps"][1])["criteria"]["b"] == 2.0
    computed = []
    _, cached = fresh.get_or_compute(
        "maps", keys["maps"][1], lambda: computed.append(1) or {}, usable=lambda e: True
    )
    assert cached and not computed
    assert not list((tmp_path / "fresh").rglob("*.json"))  # nothing copied into the store
    assert Store(tmp_path / "none", layers=()).get("maps", keys["maps"][1]) is None


def test_the_environment_variable_turns_the_zoo_off(made, monkeypatch, tmp_path):
    _, root, keys = made
    monkeypatch.setenv(files.ZOO_ENV, str(root))
    assert Store(tmp_path / "a").get("features", keys["features"][0]) is not None
    monkeypatch.setenv(files.ZOO_ENV, "none")
    assert files.zoo_root() is None
    assert Store(tmp_path / "b").get("features", keys["features"][0]) is None


def test_a_corrupted_zoo_entry_is_reported_recomputed_into_the_store_and_left_in_place(made, tmp_path):
    _, root, keys = made
    path = _file(root, "maps", keys["maps"][0])
    data = json.loads(path.read_text())
    data["entry"]["criteria"]["b"] = 99.0  # a flipped number: its checksum no longer matches
    path.write_text(json.dumps(data))
    warnings = []
    store = Store(tmp_path / "user", layers=files.zoo_layers(root), warn=warnings.append)
    assert store.get("maps", keys["maps"][0]) is None
    assert "corrupted zoo entry" in warnings[0] and "checksum mismatch" in warnings[0]
    assert path.exists()  # the zoo is never written
    found = zoo.verify(root)
    assert not found.ok and any("checksum mismatch" in p for p in found.problems)


def test_verify_names_each_failure(made):
    _, root, keys = made
    # A foreign key: a valid entry under a name that is not its content's key.
    src = _file(root, "features", keys["features"][0])
    shutil.copy(src, src.with_name("f" * 24 + ".json"))
    # Corrupted weights.
    (root / TIER.tag / "models" / f"{keys['models'][1]}.safetensors").write_bytes(b"damaged")
    # An entry of another declared version: a bump made without regenerating the zoo.
    path = _file(root, "randomisation", keys["randomisation"][2])
    stale = json.loads(path.read_text())["entry"]
    stale["identity"]["version"] = EVALUATION_VERSIONS["randomisation"] - 1
    from salcheck.store.files import checksum
    from salcheck.store.keys import evaluation_entry_key

    renamed = path.with_name(evaluation_entry_key(stale) + ".json")
    renamed.write_text(json.dumps({"sha256": checksum(stale), "entry": stale}))
    # A stray file.
    (root / TIER.tag / "maps" / "notes.txt").write_text("x")
    problems = "\n".join(zoo.verify(root).problems)
    assert f"stored under key {'f' * 24}" in problems
    assert "weights sha256" in problems
    assert f"version {EVALUATION_VERSIONS['randomisation'] - 1} is not this code's" in problems
    assert "notes.txt: not a zoo file" in problems
    assert len(zoo.verify(root).problems) == 4


def test_a_group_map_is_kept_once_and_every_entry_reads_back_whole(made, tmp_path):
    """The three fabricated maps evaluations hold the same two group maps: the zoo keeps two
    array files, and each entry read through the zoo equals the store's own."""
    store, root, keys = made
    arrays = sorted((root / TIER.tag / files.ARRAYS).iterdir())
    assert len(arrays) == 2
    on_disk = json.loads(_file(root, "maps", keys["maps"][0]).read_text())["entry"]
    assert all(files.is_array_reference(v) for v in on_disk["maps"].values())
    fresh = Store(tmp_path / "fresh", layers=files.zoo_layers(root))
    for key in keys["maps"]:
        assert fresh.get("maps", key) == store.get("maps", key)


def test_pack_moves_inline_maps_into_shared_arrays_and_reads_back_equal(made, tmp_path):
    """An entry an earlier salcheck wrote with its maps inline reads as it is, and ``pack``
    rewrites it to name shared arrays (nothing else changes; a second pack rewrites nothing)."""
    store, root, keys = made
    path = _file(root, "maps", keys["maps"][1])
    path.write_text(files.entry_json(store.get("maps", keys["maps"][1])))  # the inline form
    shutil.rmtree(root / TIER.tag / files.ARRAYS)
    (root / TIER.tag / files.ARRAYS).mkdir()
    assert not zoo.verify(root).ok  # the two other entries now name missing arrays
    for key in (keys["maps"][0], keys["maps"][2]):
        _file(root, "maps", key).write_text(files.entry_json(store.get("maps", key)))
    fresh = Store(tmp_path / "fresh", layers=files.zoo_layers(root))
    assert fresh.get("maps", keys["maps"][1]) == store.get("maps", keys["maps"][1])
    assert zoo.pack(root / TIER.tag).rewritten == 3
    assert zoo.pack(root / TIER.tag).rewritten == 0
    assert len(list((root / TIER.tag / files.ARRAYS).iterdir())) == 2
    assert zoo.verify(root).ok
    for key in keys["maps"]:
        assert fresh.get("maps", key) == store.get("maps", key)


def test_verify_names_a_missing_a_damaged_and_an_orphaned_array(made, tmp_path):
    _, root, keys = made
    folder = root / TIER.tag / files.ARRAYS
    ones, zeros = (
        json.loads(_file(root, "maps", keys["maps"][0]).read_text())["entry"]["maps"][g]["array"]
        for g in ("typical", "atypical")
    )
    (folder / f"{ones}.json").unlink()  # missing: every entry naming it is reported
    problems = zoo.verify(root).problems
    assert sum(f"{ones[:12]}... is missing" in p for p in problems) == 3
    damaged = folder / f"{zeros}.json"
    damaged.write_text(damaged.read_text().replace('"scale"', '"scale" ', 1))
    (folder / f"{'0' * 64}.json").write_text("{}")  # named by no entry (and not its hash)
    problems = zoo.verify(root).problems
    # the three entries naming it, and the file itself
    assert sum(zeros[:12] in p and "match its name" in p for p in problems) == 4
    assert any(f"{'0' * 64}.json: its bytes do not match its name" in p for p in problems)
    orphan = json.dumps({"x": 1})
    name = hashlib.sha256(orphan.encode()).hexdigest()
    (folder / f"{name}.json").write_text(orphan)
    assert any(f"{name}.json: no entry names it" in p for p in zoo.verify(root).problems)
    warnings = []
    user = Store(tmp_path / "user", layers=files.zoo_layers(root), warn=warnings.append)
    assert user.get("maps", keys["maps"][0]) is None  # recomputed into the store, not trusted
    assert "corrupted zoo entry" in warnings[0] and "does not match its name" in warnings[0]


def test_what_is_not_an_entry_or_an_array_is_reported_never_a_crash(made, tmp_path):
    """A checksummed list where an entry belongs, maps that are not a dict, an array file
    holding a list: each is a corrupted zoo file, named, and computed afresh."""
    _, root, keys = made
    path = _file(root, "maps", keys["maps"][0])
    path.write_text(files.entry_json([1, 2]))  # type: ignore[arg-type]
    other = _file(root, "maps", keys["maps"][1])
    entry = json.loads(other.read_text())["entry"]
    other.write_text(files.entry_json({**entry, "maps": ["x"]}))
    warnings = []
    user = Store(tmp_path / "user", layers=files.zoo_layers(root), warn=warnings.append)
    assert user.get("maps", keys["maps"][0]) is None and user.get("maps", keys["maps"][1]) is None
    assert len(warnings) == 2 and all("corrupted zoo entry" in w for w in warnings)
    problems = zoo.verify(root).problems
    assert any(path.name in p and "must be a JSON object" in p for p in problems)
    assert any(other.name in p for p in problems)
    listed = json.dumps([1])
    name = hashlib.sha256(listed.encode()).hexdigest()
    (root / TIER.tag / files.ARRAYS / f"{name}.json").write_text(listed)
    third = _file(root, "maps", keys["maps"][2])
    entry = json.loads(third.read_text())["entry"]
    third.write_text(files.entry_json({**entry, "maps": {"typical": {"array": name}}}))
    assert any(third.name in p and "is not an array's JSON form" in p for p in zoo.verify(root).problems)


def test_pack_names_a_damaged_entry_packs_the_rest_and_removes_only_orphans(made, tmp_path):
    store, root, keys = made
    layer = root / TIER.tag
    for key in keys["maps"]:  # every entry back to its inline form
        _file(root, "maps", key).write_text(files.entry_json(store.get("maps", key)))
    damaged = _file(root, "features", keys["features"][0])
    damaged.write_text(damaged.read_text().replace('"status"', '"status" ', 1)[:-5])
    orphan = json.dumps({"x": 1})
    orphan_name = f"{hashlib.sha256(orphan.encode()).hexdigest()}.json"
    (layer / files.ARRAYS / orphan_name).write_text(orphan)
    packed = zoo.pack(layer)
    assert packed.rewritten == 3 and not packed.removed  # a damaged entry: no array is removed
    assert len(packed.problems) == 1 and damaged.name in packed.problems[0]
    damaged.write_text(files.entry_json(store.get("features", keys["features"][0])))
    again = zoo.pack(layer)
    assert again.rewritten == 0 and again.removed == [
        f"{hashlib.sha256(orphan.encode()).hexdigest()}.json"
    ]
    assert zoo.verify(root).ok
    with pytest.raises(InvalidArgument, match="is not a zoo tier folder"):
        zoo.pack(tmp_path / "nowhere")


def test_pack_finishes_an_entry_packed_in_part(made, tmp_path):
    store, root, keys = made
    path = _file(root, "maps", keys["maps"][0])
    entry = json.loads(path.read_text())["entry"]
    whole = store.get("maps", keys["maps"][0])
    path.write_text(
        files.entry_json({**entry, "maps": {**entry["maps"], "typical": whole["maps"]["typical"]}})
    )
    packed = zoo.pack(root / TIER.tag)
    assert packed.rewritten == 1 and not packed.problems
    fresh = Store(tmp_path / "fresh", layers=files.zoo_layers(root))
    assert fresh.get("maps", keys["maps"][0]) == whole


def test_add_repairs_a_damaged_array_file_it_would_name(made, tmp_path):
    store, root, keys = made
    folder = root / TIER.tag / files.ARRAYS
    for path in folder.iterdir():
        path.write_text("damaged")
    for key in keys["maps"]:
        _file(root, "maps", key).unlink()
    zoo.add(store, root, TIER, keys["models"])
    assert zoo.verify(root).ok


def test_add_skips_what_does_not_belong(tmp_path):
    store = Store(tmp_path / "store", layers=())
    keys = se.fill(store, n=1, status="failed")
    added = zoo.add(store, tmp_path / "zoo", TIER, keys["models"])
    assert not added.copied
    assert any("not finished" in why for why in added.skipped)


def test_the_command_line_verifies_and_reports(made, capsys):
    _, root, _ = made
    assert main(["zoo", "verify", "--zoo", str(root)]) == 0
    assert (
        "intact: checked 2 arrays, 1 checks, 3 features, 3 maps, 3 models, 3 randomisation"
        in capsys.readouterr().out
    )
    assert main(["zoo", "status", "--zoo", str(root)]) == 0
    out = capsys.readouterr().out
    assert "tiny: 3 models, 3 features, 3 maps, 3 randomisation, 1 checks" in out
    assert "homogeneous/default/1ep: seeds 0, 1, 2" in out
    next(root.rglob("*.safetensors")).write_bytes(b"x")
    assert main(["zoo", "verify", "--zoo", str(root)]) == 1


def test_a_tier_name_that_is_not_a_folder_name_is_refused(tmp_path):
    from salcheck.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="plain folder name, got '../x'"):
        zoo.tier_dir(tmp_path, "../x")


def test_the_models_of_a_tier_are_those_at_its_scale(tmp_path):
    """The grid's models and any other model at the tier's image size and network (a drawn
    cohort, a dose point), of the seeds asked for; a model of another size is not the tier's."""
    store = Store(tmp_path, layers=())
    keys = se.fill(store, n=3)
    other = se.spec(0, image_size=64)
    store.put_blob("models", other.key(), b"w")
    store.put("models", other.key(), se.model_entry(other, "done", _sha(b"w")))
    assert sorted(zoo.tier_models(store, TIER)) == sorted(keys["models"])
    assert zoo.tier_models(store, TIER, seeds=[1]) == [se.spec(1).key()]


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_progress_counts_the_grid_and_estimates_the_hours_left_from_recorded_training(tmp_path):
    store = Store(tmp_path / "store", layers=())
    for seed in (0, 1):
        s = TIER.spec("homogeneous", "default", seed)
        entry = {
            **se.model_entry(s, "done", store.put_blob("models", s.key(), b"w")),
            "timings": {"train_s": 3600.0},
        }
        if seed == 1:  # resumed: its one epoch took 5400 s, 3600 of them since the resumption
            entry["history"] = [{**entry["history"][0], "seconds": 5400.0}]
        store.put("models", s.key(), entry)
    zoo.add(store, tmp_path / "zoo", TIER, zoo.tier_models(store, TIER))
    got = zoo.progress(zoo.tier_dir(tmp_path / "zoo", TIER.tag), TIER)
    n = len(TIER.grid())
    # each done model: 3600 s for one epoch of 2 x 12 images, 150 s per image-epoch; the tiny
    # tier trains one epoch, its step-matched control 20 x 2 epochs, and large 24 per class
    done = {TIER.spec("homogeneous", "default", seed).key() for seed in (0, 1)}
    missing = [s for s in TIER.grid() if s.key() not in done]
    seconds = sum(150 * 2 * s.train_spec().n_per_class * s.epochs for s in missing)
    assert got == {
        "done": 2,
        "of": n,
        "hours_left": pytest.approx(seconds / 2 / 3600),
        "worker_hours": pytest.approx((3600 + 5400) / 3600),  # seed 0 has no epoch seconds
    }
    assert seconds > (n - 2) * 3600  # the control's and the large set's models cost more


def test_a_failed_or_corrupted_store_entry_hides_no_finished_zoo_entry(made, tmp_path):
    _, root, keys = made
    warnings = []
    store = Store(tmp_path / "user", layers=files.zoo_layers(root), warn=warnings.append)
    key = keys["models"][0]
    store.put("models", key, se.model_entry(se.spec(0), "failed"))  # an earlier run that failed
    computed = []
    entry, cached = store.get_or_compute(
        "models", key, lambda: computed.append(1) or {}, usable=lambda e: e["status"] == "done"
    )
    assert cached and entry["status"] == "done" and not computed
    path = store.path("maps", keys["maps"][0])
    path.write_text("{ not json")  # a corrupted copy in the store: the zoo's answers
    assert store.get("maps", keys["maps"][0])["criteria"]["b"] == 1.0
    assert path.with_suffix(".corrupt").exists()


def test_a_corrupted_store_blob_is_set_aside_and_the_zoos_served(made, tmp_path):
    _, root, keys = made
    warnings = []
    store = Store(tmp_path / "user", layers=files.zoo_layers(root), warn=warnings.append)
    key = keys["models"][1]
    sha = store.get("models", key)["weights_sha256"]
    store.path("models", key, ".safetensors").write_bytes(b"damaged")
    assert store.get_blob("models", key, sha) == bytes([1]) * 10
    assert "corrupted blob" in warnings[0] and "set aside" in warnings[0]
    assert not store.path("models", key, ".safetensors").exists()


def test_add_refuses_an_entry_filed_under_another_key(tmp_path):
    store = Store(tmp_path / "store", layers=())
    keys = se.fill(store, n=1)
    src = store.path("features", keys["features"][0])
    src.rename(store.path("features", "f" * 24))  # the same entry under a foreign name
    added = zoo.add(store, tmp_path / "zoo", TIER, keys["models"])
    assert "features" not in added.copied
    assert any(why.startswith(f"features/{'f' * 24} (stored under key") for why in added.skipped)


def test_verify_fails_on_a_zoo_with_no_tier(tmp_path):
    found = zoo.verify(tmp_path)
    assert not found.ok and "no tier folder" in found.problems[0]


def test_workers_read_the_callers_layers(made, tmp_path, tiny):
    """execute() on a store without layers computes afresh; with the zoo's, it reads them."""
    from salcheck.engine.runner import run_tasks
    from salcheck.engine.tasks import Task

    _, root, _ = made
    spec = se.spec(0)
    layered = Store(tmp_path / "a", layers=files.zoo_layers(root))
    out = run_tasks([Task("model", spec)], layered, test=se.TEST)
    assert out[0].cached  # the zoo's model: nothing trained


def test_status_prints_each_tiers_progress_and_its_training_hours(capsys):
    """The committed zoo's ci tier is whole: its grid line says so, with the hours its training
    took on one worker (summed from the models' recorded epochs)."""
    from pathlib import Path

    from salcheck.store.tiers import TIERS

    root = Path(__file__).resolve().parents[1] / "zoo"
    assert main(["zoo", "status", "--zoo", str(root)]) == 0
    out = capsys.readouterr().out
    p = zoo.progress(zoo.tier_dir(root, "ci"), TIERS["ci"])
    assert p["done"] == p["of"]
    line = f"the ci tier's grid: {p['of']} of {p['of']} models ({p['worker_hours']:.1f} h of training"
    assert f"{line} on one worker); left: nothing" in out
