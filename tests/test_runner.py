import importlib
import json
import subprocess
import sys
import textwrap

import pytest
import torch
from store_entries import run_grid

import salcheck.engine.runner as runner_module
from salcheck.cli import main
from salcheck.store.files import Store

pytestmark = pytest.mark.slow  # trains networks

# Float sums split over a different number of threads round differently, so the workers get
# as many torch threads as this process has.
THREADS = torch.get_num_threads()


@pytest.fixture(scope="module")
def grid(tiny):
    return tiny, tiny.grid(["homogeneous"], ["default", "Noise"], seeds=[0])


@pytest.fixture(scope="module")
def in_process(grid, tmp_path_factory):
    tier, specs = grid
    return run_grid(specs, Store(tmp_path_factory.mktemp("inproc")), test=tier.test())


def evaluations(outcomes):
    return {o.spec: o.criteria for o in outcomes if o.method}


def assert_same(outcomes, reference):
    assert all(o.status == "done" for o in outcomes)
    ours, ref = evaluations(outcomes), evaluations(reference)
    assert ours.keys() == ref.keys()
    for spec in ref:
        assert ours[spec] == pytest.approx(ref[spec], rel=1e-12, nan_ok=True)


def test_dask_local_cluster_matches_in_process(grid, tmp_path, in_process):
    pytest.importorskip("distributed")
    tier, specs = grid
    store = Store(tmp_path)
    assert_same(run_grid(specs, store, test=tier.test(), dask_local=2, threads=THREADS), in_process)
    # A finished plan starts no worker and computes nothing.
    assert run_grid(specs, store, test=tier.test(), dask_local=2, threads=THREADS) == []


def test_process_pool_matches_in_process(grid, tmp_path, in_process):
    tier, specs = grid
    assert_same(
        run_grid(specs, Store(tmp_path), test=tier.test(), workers=2, threads=THREADS), in_process
    )


def test_n_methods_train_each_model_once(grid, tmp_path, monkeypatch):
    tier, specs = grid
    trained = []
    real = runner_module.train_model
    monkeypatch.setattr(runner_module, "train_model", lambda s, **kw: trained.append(s) or real(s, **kw))
    methods = ["vanilla", "salcheck.saliency:ConstantMap", "captum.attr:InputXGradient"]
    out = run_grid(specs, Store(tmp_path), test=tier.test(), methods=methods)
    assert sorted(trained, key=str) == sorted(specs, key=str)
    assert len([o for o in out if o.method]) == len(specs) * len(methods)
    run_grid(specs, Store(tmp_path), test=tier.test(), methods=["captum.attr:Saliency"])
    assert len(trained) == len(specs), "a new method retrained a model"


EDITABLE = textwrap.dedent("""
    from salcheck.saliency import VanillaGradient

    class Edited(VanillaGradient):
        name = "edited"

        def attribute_batch(self, model, x, target, *, offset):
            {body}
""")


def test_an_edited_method_is_never_answered_from_the_store(grid, tmp_path, monkeypatch):
    """Run a method, rewrite it to return a constant map (b = 1 by definition), run again
    with the store kept: the new code's numbers come back, not the cached ones."""
    tier, specs = grid
    monkeypatch.syspath_prepend(str(tmp_path))
    module = tmp_path / "user_method_edit.py"
    store = Store(tmp_path / "store")

    def run(body):
        module.write_text(EDITABLE.format(body=body))
        sys.modules.pop("user_method_edit", None)
        importlib.invalidate_caches()
        return run_grid(specs[:1], store, test=tier.test(), methods=["user_method_edit:Edited"])

    first = run("return super().attribute_batch(model, x, target, offset=offset)")
    assert first[-1].part == "maps" and first[-1].criteria["b"] != pytest.approx(1)
    assert run("return super().attribute_batch(model, x, target, offset=offset)") == []  # stored
    edited = run("import torch; return torch.ones_like(x)")
    assert [o.part for o in edited] == ["maps"] and edited[0].criteria["b"] == pytest.approx(1)
    sys.modules.pop("user_method_edit", None)


def test_cli_run_then_status_and_corrupted_entries(grid, tmp_path, capsys):
    tier, specs = grid
    store = str(tmp_path / "s")
    assert main(["status", "--store", store]) == 0
    assert "no models" in capsys.readouterr().out
    run_grid(specs[:1], Store(store), test=tier.test())
    assert main(["status", "--store", store]) == 0
    assert "homogeneous/default/seed0" in capsys.readouterr().out
    entry = next((Store(store).dir / "maps").glob("*.json"))
    data = json.loads(entry.read_text())
    data["entry"]["criteria"]["b"] = 99.0  # a flipped number
    entry.write_text(json.dumps(data))
    assert main(["status", "--store", store]) == 1
    assert f"CORRUPTED maps/{entry.name}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--tier", "huge"], "unknown tier 'huge'; accepted: paper, ci"),
        (["run", "--datasets", "small"], "unknown dataset 'small'; accepted: homogeneous"),
        (["run", "--variants", "Flip"], "unknown variant part 'Flip'; accepted: CropPad"),
        (["run", "--seeds", "-1", "2"], r"seeds must be integers >= 0, got [-1]"),
        (["run", "--workers", "0"], "workers must be an integer >= 1, got workers=0"),
        (["run", "--method", "nope:X"], "cannot import saliency method 'nope:X'"),
    ],
)
def test_cli_run_bad_input(args, message, capsys, tmp_path):
    assert main([*args, "--store", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_cli_run_unwritable_store_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    assert (
        main(
            [
                "run",
                "--datasets",
                "homogeneous",
                "--variants",
                "default",
                "--seeds",
                "0",
                "1",
                "--store",
                str(blocker / "store"),
            ]
        )
        == 2
    )
    assert "is not writable" in capsys.readouterr().err


def test_cli_help_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "salcheck.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("generate", "run", "report", "verdicts", "check", "baseline", "status"):
        assert command in out


def test_cli_verdicts_run_computes_the_tier_and_writes_a_record(tmp_path, capsys, monkeypatch, tiny):
    from salcheck.science.verdicts import read_record
    from salcheck.store import tiers

    monkeypatch.setitem(tiers.TIERS, "tiny", tiny)
    store = ["--tier", "tiny", "--store", str(tmp_path / "s"), "--workers", "2"]
    assert main(["verdicts", *store]) == 0
    assert capsys.readouterr().out == "", "without --run nothing is computed or decided"
    assert main(["verdicts", "--run", *store]) == 0
    out = capsys.readouterr().out
    assert "F1-homogeneous" in out and "S-large-b" in out
    assert main(["verdicts", *store, "--write", str(tmp_path / "v")]) == 0
    record = read_record(tmp_path / "v" / "tiny-vanilla-gradient.json")
    assert record["seeds"] == [0, 1] and len(record["verdicts"]) > 100


@pytest.mark.filterwarnings("ignore::salcheck.errors.SilentEquivalenceWarning")
def test_cli_benchmark_and_store_bundles(tmp_path, capsys, monkeypatch, tiny):
    from salcheck.store import tiers

    monkeypatch.setitem(tiers.TIERS, "tiny", tiny)
    out_dir = str(tmp_path / "r")
    store = ["--tier", "tiny", "--store", str(tmp_path / "s"), "--workers", "2"]
    assert (
        main(["benchmark", "--methods", "vanilla", "grad-cam", "--run", "--out", out_dir, *store]) == 0
    )
    text = (tmp_path / "r" / "tiny-methods.md").read_text()
    assert "| Grad-CAM |" in text and "*Random map* (null)" in text
    bundle = str(tmp_path / "b.tar.gz")
    assert main(["store", "export", bundle, "--store", str(tmp_path / "s")]) == 0
    assert main(["store", "import", bundle, "--store", str(tmp_path / "s2")]) == 0
    out = capsys.readouterr().out
    # 3 datasets x 2 seeds: 6 models and their siblings under the other selection rule; the
    # features of each; the maps and randomisation curves of 6 methods (2 and the 4 nulls); a
    # check suite per method.
    exported = "exported 12 models, 6 features, 36 maps, 36 randomisation, 6 checks"
    assert exported in out and "96 added, 0 already there" in out
    moved = ["--tier", "tiny", "--store", str(tmp_path / "s2"), "--out", str(tmp_path / "r2")]
    assert main(["benchmark", "--methods", "vanilla", "grad-cam", *moved]) == 0
    again = (tmp_path / "r2" / "tiny-methods.md").read_text()
    assert again.split("## homogeneous")[1] == text.split("## homogeneous")[1].replace("/r/", "/r2/")


def test_a_run_resolves_the_method_once(tmp_path, monkeypatch, tiny):
    """`salcheck report --run`: the method named on the command line is resolved (imported,
    built and fingerprinted) once; the plan, the workers, the store keys and the report carry
    that one value."""
    import salcheck.saliency.resolve as resolve_module
    from salcheck.store import tiers

    monkeypatch.setitem(tiers.TIERS, "tiny", tiny)
    calls = []
    real = resolve_module.resolve_method
    monkeypatch.setattr(
        resolve_module, "resolve_method", lambda name, seed=0: calls.append(name) or real(name, seed)
    )
    args = ["--tier", "tiny", "--store", str(tmp_path / "s"), "--workers", "2", "--out", str(tmp_path)]
    assert main(["report", "--run", "--method", "salcheck.saliency:ConstantMap", *args]) == 0
    assert calls.count("salcheck.saliency:ConstantMap") == 1, calls


def test_provenance_asks_git_once_per_process(monkeypatch):
    import subprocess

    from salcheck import provenance as prov

    calls = []
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a[0][0]) or real(*a, **k))
    prov.git_commit.cache_clear()
    try:
        first = [prov.provenance()["git_commit"] for _ in range(5)]
        assert len(set(first)) == 1
        assert calls.count("git") <= 2  # rev-parse and status, once
    finally:
        prov.git_commit.cache_clear()
