"""`salcheck generate --dims 3`: the 3-D npz and CAPS directories (salcheck.cohort.io3d)."""

import json
import sys

import numpy as np
import pytest
import torch

from salcheck.cli import main
from salcheck.cohort import io as io2d
from salcheck.cohort import load3d, make_cohort3d, preset
from salcheck.cohort.io3d import (
    EXTRACT_JSON_3D,
    NPZ_NAME_3D,
    load_dir3d,
    read_caps3d,
    save_dir3d,
    tensor3d_relpath,
)
from salcheck.errors import InvalidArgument

ARGS = ["--dims", "3", "--image-size", "32", "--n-per-class", "2", "--seed", "5"]


def _spec():
    return preset("heterogeneous", image_size=32, n_per_class=2)


def test_cli_writes_3d_npz_equal_to_make_cohort3d(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["generate", "heterogeneous", str(out), *ARGS]) == 0
    assert "4 volumes of 32^3" in capsys.readouterr().out
    got = load3d(out / NPZ_NAME_3D)
    want = make_cohort3d(_spec(), 5)
    assert got.volumes.dtype == np.float32 and got.volumes.tobytes() == want.volumes.tobytes()
    assert np.array_equal(got.labels, want.labels) and np.array_equal(got.subtypes, want.subtypes)
    assert all(np.array_equal(got.params[k], want.params[k]) for k in want.params)
    assert got.spec == want.spec and got.seed == 5
    assert (out / "data.tsv").read_text() == io2d.data_tsv(want)
    assert load_dir3d(out).volumes.tobytes() == want.volumes.tobytes()


def test_cli_caps_round_trip_is_bit_identical(tmp_path):
    nib = pytest.importorskip("nibabel", reason="the CAPS layout needs nibabel (salcheck[caps])")
    out = tmp_path / "caps"
    assert main(["generate", "heterogeneous", str(out), *ARGS, "--format", "caps"]) == 0
    want = make_cohort3d(_spec(), 5)
    got = read_caps3d(out)
    assert got.volumes.dtype == np.float32 and got.volumes.tobytes() == want.volumes.tobytes()
    assert np.array_equal(got.labels, want.labels) and np.array_equal(got.subtypes, want.subtypes)
    assert got.participant_ids == want.participant_ids and got.params is None
    assert load_dir3d(out).volumes.tobytes() == want.volumes.tobytes()
    for k, pid in enumerate(want.participant_ids):  # the 3-D NIfTI is the volume, [z, row, col]
        image = nib.load(out / io2d.nifti_relpath(pid))
        assert image.shape == (32, 32, 32)
        assert np.array_equal(image.get_fdata(dtype=np.float32), want.volumes[k, 0])
    meta = json.loads((out / "tensor_extraction" / EXTRACT_JSON_3D).read_text())
    assert meta["mode"] == "image" and meta["custom_suffix"] == io2d.NIFTI_SUFFIX
    with pytest.raises(InvalidArgument, match="no drawn parameters"):
        _ = got.masks


def test_caps3d_tensor_path_is_clinicadl_image_mode(tmp_path):
    assert tensor3d_relpath("sub-X").as_posix() == (
        "subjects/sub-X/ses-M000/deeplearning_prepare_data/image_based/custom/"
        "sub-X_ses-M000_space-SheppLogan_phantom.pt"
    )


def test_caps3d_without_nibabel_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nibabel", None)  # import nibabel raises ImportError
    c = make_cohort3d(preset("test", image_size=32, n_per_class=1), 0)
    with pytest.raises(InvalidArgument, match=r"salcheck\[caps\]"):
        save_dir3d(c, tmp_path / "caps", format="caps")
    assert not (tmp_path / "caps").exists()


def test_read_caps3d_refuses_a_2d_tensor(tmp_path):
    pytest.importorskip("nibabel", reason="the CAPS layout needs nibabel (salcheck[caps])")
    c = make_cohort3d(preset("test", image_size=32, n_per_class=1), 0)
    root = save_dir3d(c, tmp_path / "caps", format="caps")
    torch.save(torch.zeros(1, 32, 32), root / tensor3d_relpath(c.participant_ids[0]))
    with pytest.raises(InvalidArgument, match=r"expected float32 \[1, N, N, N\]"):
        read_caps3d(root)


@pytest.mark.parametrize("dims", ["4", "1", "x"])
def test_bad_dims_is_an_argparse_error(tmp_path, capsys, dims):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "test", str(tmp_path / "o"), "--dims", dims])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --dims: invalid" in err
    assert not (tmp_path / "o").exists()
