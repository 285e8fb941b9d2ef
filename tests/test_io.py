import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from salcheck.cohort import io, load, make_cohort, preset, read_caps, save
from salcheck.errors import InvalidArgument
from salcheck.strategies import cohort_specs, seeds


def assert_same_cohort(a, b, *, params=True):
    assert a.images.dtype == b.images.dtype == np.float32
    assert a.images.tobytes() == b.images.tobytes()
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.subtypes, b.subtypes)
    assert a.participant_ids == b.participant_ids
    if params:
        assert a.spec == b.spec and a.seed == b.seed
        assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


@given(spec=cohort_specs(n_per_class=st.integers(1, 6)), seed=seeds())
def test_npz_and_caps_round_trips_are_lossless(tmp_path_factory, spec, seed):
    c = make_cohort(spec, seed)
    d = tmp_path_factory.mktemp("rt")
    assert_same_cohort(c, load(save(c, d / "npz")))
    caps = load(save(c, d / "caps", format="caps"))
    assert_same_cohort(c, caps, params=False)
    assert caps.params is None


def test_data_tsv_in_every_format(tmp_path):
    c = make_cohort(preset("test", n_per_class=2, image_size=32), 0)
    for fmt in ("npz", "caps"):
        save(c, tmp_path / fmt, format=fmt)
        lines = (tmp_path / fmt / "data.tsv").read_text().splitlines()
        assert lines[0] == "participant_id\tsession_id\tdiagnosis\tsubtype"
        assert lines[1] == "sub-CLNC00000\tses-M000\tCN\t0"
        assert lines[-1] == "sub-CLNC10001\tses-M000\tAD\t2"


def test_caps_tensors_are_clinicadl_shaped(tmp_path):
    c = make_cohort(preset("test", n_per_class=1, image_size=32), 0)
    save(c, tmp_path / "caps", format="caps")
    t = torch.load(tmp_path / "caps" / io.tensor_relpath("sub-CLNC10000"), weights_only=True)
    assert t.shape == (1, 32, 32) and t.dtype == torch.float32


def test_caps_layout_is_what_clinicadl_1_6_1_reads(tmp_path):
    """Session ses-M000; per image the NIfTI ClinicaDL globs for first, equal to the tensor;
    the extraction JSON with custom_suffix; missing_mods (tests/interop/ runs ClinicaDL)."""
    nib = pytest.importorskip("nibabel")
    c = make_cohort(preset("test", n_per_class=2, image_size=32), 0)
    root = save(c, tmp_path / "caps", format="caps")
    for k, pid in enumerate(c.participant_ids):
        tensor = (
            root
            / "subjects"
            / pid
            / "ses-M000"
            / "deeplearning_prepare_data"
            / "slice_based"
            / "custom"
            / f"{pid}_ses-M000_space-SheppLogan_axis-axi_channel-single_slice-0_phantom.pt"
        )
        nifti = (
            root
            / "subjects"
            / pid
            / "ses-M000"
            / "shepplogan"
            / f"{pid}_ses-M000_space-SheppLogan_phantom.nii.gz"
        )
        image = nib.load(nifti).get_fdata(dtype=np.float32)
        assert np.array_equal(image, torch.load(tensor, weights_only=True)[0].numpy())
        assert np.array_equal(image, c.images[k, 0])
    meta = json.loads((root / "tensor_extraction" / "extract_SheppLogan_slice.json").read_text())
    assert meta["custom_suffix"] == "_space-SheppLogan_phantom.nii.gz"
    assert meta["file_type"]["pattern"] == "*" + meta["custom_suffix"]
    assert {
        "preprocessing": "custom",
        "mode": "slice",
        "extract_json": "extract_SheppLogan_slice.json",
        "slice_mode": "single",
    }.items() <= meta.items()
    assert (root / "missing_mods" / "missing_mods_ses-M000.tsv").read_text().count("\t1\n") == 4


def test_reading_accepts_the_old_session_spelling(tmp_path):
    c = make_cohort(preset("test", n_per_class=2, image_size=32), 0)
    root = save(c, tmp_path / "caps", format="caps")
    tsv = root / "data.tsv"
    tsv.write_text(tsv.read_text().replace("ses-M000", "ses-M00"))
    assert np.array_equal(read_caps(root).images, c.images)


def test_duplicated_tsv_rows_are_dropped(tmp_path):
    c = make_cohort(preset("test", n_per_class=3, image_size=32), 0)
    save(c, tmp_path / "caps", format="caps")
    tsv = tmp_path / "caps" / "data.tsv"
    lines = tsv.read_text().splitlines()
    tsv.write_text("\n".join(lines + lines[1:]) + "\n")
    assert len(read_caps(tmp_path / "caps")) == 6


def test_missing_and_malformed_tensors_are_named(tmp_path):
    c = make_cohort(preset("test", n_per_class=2, image_size=32), 0)
    root = save(c, tmp_path / "caps", format="caps")
    path = root / io.tensor_relpath("sub-CLNC00001")
    torch.save(torch.zeros(2, 32, 32), path)
    with pytest.raises(InvalidArgument, match=r"malformed tensor .*sub-CLNC00001.*\(2, 32, 32\)"):
        read_caps(root)
    path.write_bytes(b"not a tensor")
    with pytest.raises(InvalidArgument, match="unreadable tensor"):
        read_caps(root)
    path.unlink()
    with pytest.raises(InvalidArgument, match="missing tensor for sub-CLNC00001"):
        read_caps(root)


def test_bad_tsv_values(tmp_path):
    (tmp_path / "data.tsv").write_text(
        "participant_id\tsession_id\tdiagnosis\tsubtype\nsub-1\tses-M00\tMCI\t0\n"
    )
    with pytest.raises(InvalidArgument, match="diagnosis 'MCI'.*accepted: diagnosis AD or CN"):
        read_caps(tmp_path)
    with pytest.raises(InvalidArgument, match=r"data.tsv is missing"):
        read_caps(tmp_path / "nowhere")


def test_existing_outdir_needs_overwrite_and_is_replaced_whole(tmp_path):
    c = make_cohort(preset("test", n_per_class=1, image_size=32), 0)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    with pytest.raises(InvalidArgument, match="exists and is not empty"):
        save(c, out)
    assert (out / "keep.txt").read_text() == "user data"
    save(c, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["cohort.npz", "data.tsv"]


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    c = make_cohort(preset("test", n_per_class=1, image_size=32), 0)

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(io, "_write_npz", boom)
    with pytest.raises(KeyboardInterrupt):
        save(c, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_wrong_format_version_is_explained(tmp_path):
    c = make_cohort(preset("test", n_per_class=1, image_size=32), 0)
    save(c, tmp_path / "out")
    z = dict(np.load(tmp_path / "out" / "cohort.npz"))
    z["meta"] = np.array('{"format_version": 99}')
    np.savez(tmp_path / "out" / "cohort.npz", **z)
    with pytest.raises(InvalidArgument, match="version 99.*regenerate"):
        load(tmp_path / "out")
