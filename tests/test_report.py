import json

import pytest

from salcheck.cli import main
from salcheck.report import ReportError, render_report
from salcheck.runner import run_grid
from salcheck.store import Store
from salcheck.tiers import Tier

TINY = Tier("tiny", 32, {"homogeneous": 12, "heterogeneous": 12, "large": 24}, 6, 1, 8, (0, 1))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("store"))
    run_grid(TINY.grid(["homogeneous"], ["default", "L1Norm"]), s)
    return s


def test_report_tables_verdicts_and_figures(store, tmp_path):
    path = render_report(store, TINY, tmp_path)
    text = path.read_text()
    assert path == tmp_path / "tiny.md"
    assert "## Default training (no augmentation, CE)" in text
    assert "| homogeneous | default | 2/2 |" in text
    assert "(12.3)" in text  # the poster's value beside ours
    assert "| large | default | 0/2 (missing) | missing (0.99)" in text
    assert "| F4 | L1Norm raises c on homogeneous |" in text
    assert "| F3 | Noise raises b on homogeneous | cells missing |" in text
    assert "## Test accuracy per label and subtype" in text
    assert "## Provenance" in text and "torch" in text
    for fig in ("phantoms.png", "maps_homogeneous.png"):
        assert (tmp_path / "tiny" / fig).read_bytes()[:4] == b"\x89PNG"
        assert f"tiny/{fig}" in text


def test_empty_store_says_what_to_run(tmp_path):
    with pytest.raises(ReportError, match=r"no results for tier tiny; run `salcheck run"):
        render_report(Store(tmp_path), TINY, tmp_path / "out")


def test_other_format_version_is_named(tmp_path):
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "old.json").write_text(json.dumps({}))
    with pytest.raises(ReportError, match=r"result-format version\(s\) v1"):
        render_report(Store(tmp_path), TINY, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_report_on_empty_store_exits_nonzero(tmp_path, capsys):
    assert main(["report", "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o")]) == 2
    assert "salcheck report --run" in capsys.readouterr().err
