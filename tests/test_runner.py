import pytest
import torch

from salcheck.cli import main
from salcheck.experiment import ExperimentSpec
from salcheck.runner import run_grid
from salcheck.store import Store

TINY = {"n_per_class": 12, "image_size": 32, "test_n_per_class": 6, "epochs": 1}
GRID = [ExperimentSpec("homogeneous", v, 0, **TINY) for v in ("default", "Noise")]


# Float sums split over a different number of threads round differently, so the workers get
# as many torch threads as this process has.
THREADS = torch.get_num_threads()


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    return run_grid(GRID, Store(tmp_path_factory.mktemp("inproc")))


def assert_same(outcomes, reference):
    assert [o.status for o in outcomes] == ["done", "done"]
    for o, ref in zip(outcomes, reference, strict=True):
        assert o.spec == ref.spec
        assert o.criteria == pytest.approx(ref.criteria, rel=1e-12, nan_ok=True)


def test_dask_local_cluster_matches_in_process(tmp_path, in_process):
    pytest.importorskip("distributed")
    store = Store(tmp_path)
    assert_same(run_grid(GRID, store, dask_local=2, threads=THREADS), in_process)
    again = run_grid(GRID, store, dask_local=2, threads=THREADS)
    assert all(o.cached for o in again)


def test_process_pool_matches_in_process(tmp_path, in_process):
    assert_same(run_grid(GRID, Store(tmp_path), workers=2, threads=THREADS), in_process)


def test_cli_run_then_status(tmp_path, capsys):
    store = str(tmp_path / "s")
    # The ci tier is too slow for a unit test: run its grid machinery on a 1-cell slice that
    # fails fast (unknown variant), then check status on an empty and a filled store.
    assert main(["run", "--tier", "ci", "--variants", "Flip", "--store", store]) == 2
    assert "unknown variant part 'Flip'; accepted: CropPad" in capsys.readouterr().err
    assert main(["status", "--store", store]) == 0
    assert "no results" in capsys.readouterr().out
    run_grid(GRID[:1], Store(store))
    assert main(["status", "--store", store]) == 0
    assert "homogeneous/default/seed0" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--tier", "huge"], "unknown tier 'huge'; accepted: paper, ci"),
    (["run", "--datasets", "small"], "unknown dataset 'small'; accepted: homogeneous"),
])
def test_cli_run_bad_names(args, message, capsys, tmp_path):
    assert main([*args, "--store", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_cli_run_unwritable_store_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    assert main(["run", "--datasets", "homogeneous", "--variants", "default", "--seeds", "0",
                 "--store", str(blocker / "store")]) == 2
    assert "is not writable" in capsys.readouterr().err
