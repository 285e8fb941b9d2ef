"""Bad files get salcheck's clear errors, naming the file: the readers of cohorts (npz and
CAPS), store entries, baselines and verdict records, fuzzed with hypothesis."""

import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salcheck.checks import read_baseline
from salcheck.cohort import io, load, make_cohort, preset, save
from salcheck.errors import InvalidArgument
from salcheck.science.verdicts import read_record
from salcheck.store.files import KINDS, Store, checksum

FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    c = make_cohort(preset("test", n_per_class=2, image_size=32), 0)
    root = tmp_path_factory.mktemp("saved")
    return {"npz": save(c, root / "npz") / io.NPZ_NAME, "caps": save(c, root / "caps", format="caps")}


@FUZZ
@given(cut=st.floats(0.0, 0.99))
def test_truncated_npz_names_the_file(saved, tmp_path, cut):
    data = saved["npz"].read_bytes()
    bad = tmp_path / "cohort.npz"
    bad.write_bytes(data[: int(cut * len(data))])
    with pytest.raises(InvalidArgument, match=r"cohort\.npz"):
        load(bad)


@FUZZ
@given(
    drop=st.sampled_from(["images", "labels", "subtypes", "meta"]),
    dtype=st.sampled_from([None, "int64", "U3"]),
)
def test_npz_with_missing_or_wrong_arrays_names_the_file(saved, tmp_path, drop, dtype):
    """Every case lacks an array (the images also cast to another dtype in some): each is
    refused with the file and the missing array named."""
    with np.load(saved["npz"]) as z:
        arrays = {k: z[k] for k in z.files if k != drop}
    if dtype and "images" in arrays:
        arrays["images"] = arrays["images"].astype(dtype)
    bad = tmp_path / "cohort.npz"
    np.savez(bad, **arrays)
    with pytest.raises(InvalidArgument, match=rf"cohort\.npz is not a readable .*{drop}"):
        load(bad)


@FUZZ
@given(
    value=st.one_of(
        st.just(torch.zeros(2, 32, 32)),
        st.just(torch.zeros(1, 32, 32).double()),
        st.just({"x": 1}),
        st.binary(max_size=40),
    )
)
def test_bad_caps_tensors_name_the_file(saved, tmp_path_factory, value):
    root = tmp_path_factory.mktemp("caps")
    for p in saved["caps"].rglob("*"):
        target = root / p.relative_to(saved["caps"])
        if p.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.write_bytes(p.read_bytes())
    tensor = root / io.tensor_relpath("sub-CLNC00001")
    if isinstance(value, bytes):
        tensor.write_bytes(value)
    else:
        torch.save(value, tensor)
    with pytest.raises(InvalidArgument, match="sub-CLNC00001"):
        load(root)


@FUZZ
@given(
    kind=st.sampled_from(KINDS),
    text=st.one_of(
        st.text(max_size=60),
        st.just('{"sha256": "0", "entry": {"b": 1}}'),
        st.just('{"entry": {}}'),
        st.just("[1, 2]"),
        st.just(json.dumps({"sha256": checksum({"b": 1}), "entry": {"b": 1}})),  # not a record
    ),
)
def test_bad_store_entries_are_set_aside_with_a_warning(tmp_path_factory, kind, text):
    warnings = []
    store = Store(tmp_path_factory.mktemp("store"), warn=warnings.append)
    store.path(kind, "k").write_text(text)
    assert store.scan(kind)[1][0].startswith(f"{kind}/k.json (")
    assert store.get(kind, "k") is None
    assert f"{kind}/k.json" in warnings[0]
    assert store.path(kind, "k", ".corrupt").exists()


@FUZZ
@given(
    payload=st.one_of(
        st.just("{"),
        st.just("[]"),
        st.just('{"scores": 3}'),
        st.just('{"scores": {"b": [1.0]}}'),
        st.just(
            json.dumps({"scores": dict.fromkeys(("b", "c", "b_dagger", "c_dagger", "rma_typical"), "x")})
        ),
    )
)
def test_bad_baselines_name_the_file(tmp_path, payload):
    path = tmp_path / "baseline.json"
    path.write_text(payload)
    with pytest.raises(InvalidArgument, match=r"cannot read baseline .*baseline\.json"):
        read_baseline(path)


@FUZZ
@given(payload=st.one_of(st.text(max_size=40), st.just('{"record_version": 1, "verdicts": []}')))
def test_bad_verdict_records_name_the_file(tmp_path, payload):
    path = tmp_path / "ci-x.json"
    path.write_text(payload)
    with pytest.raises(InvalidArgument, match=r"ci-x\.json"):
        read_record(path)
