"""The page of a tier of volumes (``salcheck report --tier ci3d``): its cell tables are the
view's numbers, its verdicts exactly the comparisons the tier's grid can decide, its figures
three orthogonal slices through each ROI box of each group map; never ``nan``."""

import re
import struct

import numpy as np
import pytest
from conftest import TINY3D

from salcheck.cohort import atypical_box3d, typical_box3d
from salcheck.report.figures import orthogonal_slices, volume_slices_figure
from salcheck.report.verdict_table import WORDS, table_text
from salcheck.science.stats import p_text

N = 32
CELLS = TINY3D.grid_cells


def _png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _region(image: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """The inclusive (rows, cols) ranges of an image's nonzero pixels."""
    r, c = np.nonzero(image)
    return (int(r.min()), int(r.max())), (int(c.min()), int(c.max()))


def test_each_slice_goes_through_the_box_centre_along_its_own_axis(tmp_path):
    box = typical_box3d(N)  # z 15-17, rows 25-27, cols 15-20: no two extents alike
    volume = np.zeros((N, N, N))
    volume[box.z[0] : box.z[1] + 1, box.rows[0] : box.rows[1] + 1, box.cols[0] : box.cols[1] + 1] = 1.0
    volume[2, 2, 2] = -1.0  # far from the box: in no slice through its centre
    boxes = {"R_typ": box, "R_atyp": atypical_box3d(N)}
    axes = volume_slices_figure(tmp_path / "f.png", [("M", volume), ("M†", -volume)], boxes)
    assert axes.shape == (4, 3), "a row of three panels per map and ROI box"
    # The slices through R_typ's centre (z 16, row 26, col 17) of the bright box.
    expected = {
        "axial z = 16": (box.rows, box.cols),
        "coronal row = 26": (box.z, box.cols),
        "sagittal col = 17": (box.z, box.rows),
    }
    for ax, (plane, (rows, cols)) in zip(axes[0], expected.items(), strict=True):
        assert ax.get_title() == f"M, R_typ:\n{plane}"
        image = np.asarray(ax.images[0].get_array())
        assert image.shape == (N, N) and image.max() == 1.0 and image.min() == 0.0
        assert _region(image) == (rows, cols), plane
        outline = next(p for p in ax.patches if p.get_label() == "R_typ")
        assert outline.get_xy() == (cols[0] - 0.5, rows[0] - 0.5)
        assert (outline.get_width(), outline.get_height()) == (
            cols[1] - cols[0] + 1,
            rows[1] - rows[0] + 1,
        )
    # The axial slice through R_atyp's centre (z 16) shows the bright box too; its coronal
    # slice (row 10) misses it, and outlines R_atyp only.
    axial, coronal = np.asarray(axes[1, 0].images[0].get_array()), axes[1, 1]
    assert _region(axial) == (box.rows, box.cols)
    assert not np.asarray(coronal.images[0].get_array()).any()
    assert [p.get_label() for p in coronal.patches] == ["R_atyp"]
    assert np.asarray(axes[2, 0].images[0].get_array()).min() == -1.0  # the second map's rows
    width, height = _png_size((tmp_path / "f.png").read_bytes())
    assert height > width > 300


def test_orthogonal_slices_are_the_volume_at_the_centre():
    box = atypical_box3d(N)
    v = np.random.default_rng(0).normal(size=(N, N, N))
    (p0, z, s0), (p1, r, s1), (p2, c, s2) = orthogonal_slices(v, box)
    assert (p0, p1, p2) == ("axial", "coronal", "sagittal")
    assert (z, r, c) == (16, 10, 17)
    assert np.array_equal(s0, v[z]) and np.array_equal(s1, v[:, r]) and np.array_equal(s2, v[:, :, c])


def test_a_map_undefined_everywhere_is_said_so_in_words(tmp_path):
    nan = np.full((N, N, N), np.nan)
    axes = volume_slices_figure(
        tmp_path / "f.png", [("M†", nan)], {"R_atyp": atypical_box3d(N)}, undefined="why"
    )
    assert axes.shape == (1, 3) and all(not ax.images for ax in axes[0])
    assert [t.get_text() for t in axes[0, 0].texts] == ["undefined\n(why)"]


def test_the_2d_page_refuses_a_tier_of_volumes(tmp_path):
    from salcheck.report import ReportError, render_report
    from salcheck.store.files import Store
    from salcheck.store.view import ResultsView

    with pytest.raises(ReportError, match="render_volume_report"):
        render_report(ResultsView(Store(tmp_path / "s"), TINY3D), tmp_path)


# --- the page, rendered from a store the engine computed (slow: trains 6 small 3-D models) ---


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny3d_store):
    from salcheck.report.volume_page import render_volume_report
    from salcheck.saliency.resolve import null_refs
    from salcheck.store.view import ResultsView

    view = ResultsView(tiny3d_store, TINY3D, nulls=null_refs())
    out = tmp_path_factory.mktemp("reports")
    return view, render_volume_report(view, out)


def _expected(values: list[float]) -> str:
    """mean ± sd over two seeds, written here, not by the page's formatter."""
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


def _check(row: str, values: list[float]) -> None:
    """A row shows the values' mean ± sd, or, where one is undefined, says so in words."""
    if np.isfinite(values).all():
        assert row == _expected(values)
    else:
        assert row.startswith("undefined") and "(" in row


def _cell_rows(text: str, dataset: str, variant: str) -> dict[str, str]:
    """The rows of a cell's table: quantity -> value."""
    table = text.split(f"### {dataset} / {variant}\n", 1)[1].strip("\n").split("\n\n")[0]
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {q.strip(): v.strip() for q, v in rows}


@pytest.mark.slow
def test_the_cell_tables_are_the_views_numbers(built):
    view, path = built
    text = path.read_text()
    assert path.name == "tiny3d.md" and re.search(r"\bnan\b", text, re.IGNORECASE) is None
    assert "This is the 3-D tier: volumes of 32^3 voxels" in text
    trains = ", ".join(f"{d}/{v} ({TINY3D.n_per_class[d]} volumes per class)" for d, v in CELLS)
    assert f"It trains 3 cells: {trains};" in text
    assert "over training seeds 0, 1" in text and "## Provenance" in text and "at commit" in text
    defined = 0
    for dataset, variant in CELLS:
        rows = _cell_rows(text, dataset, variant)
        for key, symbol in (("a", "a"), ("b", "b"), ("c", "c"), ("b_dagger", "b†"), ("c_dagger", "c†")):
            values = view.values(dataset, variant, key)
            _check(next(v for q, v in rows.items() if q.startswith(f"{symbol} (")), values)
            defined += bool(np.isfinite(values).all())
        runs = view.accuracy(dataset, variant)
        for key, name in (("balanced_accuracy", "balanced"), ("accuracy_AD_atypical", "AD atypical")):
            _check(rows[f"test accuracy, {name}"], [r[key] for r in runs])
        assert "test accuracy, AD errors" not in rows, "no volume of the test set is a label error"
        for null in view.nulls:
            for key in ("b", "c"):
                values = view.for_method(null).values(dataset, variant, key)
                _check(rows[f"{key} of the null map {null.name}"], values)
                defined += bool(np.isfinite(values).all())
        assert len(rows) == 5 + 4 + 2 * len(view.nulls)
    assert defined >= 20, "enough defined numbers to compare"


def _verdicts_match(view, text: str) -> int:
    """The page's verdict rows are exactly the comparisons of ALL in the tier's grid, each with
    the view's outcome and p; returns how many were decided (not undecidable)."""
    from salcheck.engine.plan import in_grid
    from salcheck.science.findings import ALL

    findings = text.split("## Findings\n", 1)[1].split("## Convergence\n", 1)[0]
    rows = [
        line
        for line in findings.splitlines()
        if line.startswith("| ") and not line.startswith(("| F | claim", "| claim |"))
    ]
    comparisons = in_grid(TINY3D, ALL.values())
    assert {c.key.split("-")[0] for c in comparisons} == {"F1", "F2", "F7", "F8", "A", "S"}
    claims = [f"| {table_text(c.claim)} |" for c in comparisons]
    assert len(set(claims)) == len(claims) == len(rows)
    assert f"{len(comparisons)} of {len(ALL)}" in findings
    decided = 0
    for c in comparisons:
        row = next(r for r in rows if f"| {table_text(c.claim)} |" in r)
        f = view.finding(c)
        if f.own.outcome == "undecidable":
            assert f"| undecidable: {table_text(f.own.reason)} |" in row
        else:
            assert f"| {WORDS[f.verdict.outcome]}" in row, c.key
            assert f"| {p_text(f.verdict.p_forward, f.verdict.n)} |" in row, c.key
            decided += 1
    return decided


@pytest.mark.slow
def test_the_verdicts_are_exactly_the_comparisons_the_grid_decides(built, tmp_path, monkeypatch):
    from salcheck.report.volume_page import render_volume_report

    view, path = built
    _verdicts_match(view, path.read_text())  # undecidable: no model learns in one epoch
    # Models that had learned: the same numbers decided, with their outcome and p on the page.
    monkeypatch.setattr(view, "validity", lambda *args, **kwargs: None)
    assert _verdicts_match(view, render_volume_report(view, tmp_path).read_text()) >= 10


@pytest.mark.slow
def test_the_figures_are_three_slices_per_roi_of_each_group_map(built, tmp_path):
    view, path = built
    text = path.read_text()
    boxes = {"R_typ": typical_box3d(N), "R_atyp": atypical_box3d(N)}
    for dataset, variant in CELLS:
        figure = path.parent / "tiny3d" / f"maps_{dataset}_{variant}.png"
        assert f"](tiny3d/{figure.name})" in text
        maps = view.group_maps(dataset, variant)
        assert all(m["typical"].shape == (N, N, N) for m in maps)
        mean = [
            np.mean([m[g] for m in maps if np.isfinite(m[g]).any()] or [m[g] for m in maps], 0)
            for g in ("typical", "atypical")
        ]
        title = f"{dataset} / {variant}: {view.method_name}, mean over seeds"
        reference = tmp_path / "ref.png"
        axes = volume_slices_figure(
            reference,
            [("M (typical)", mean[0]), ("M† (atypical)", mean[1])],
            boxes,
            title=title,
            undefined="no volume behind it on any seed",
        )
        assert axes.shape == (4, 3), "three slices per ROI box of each of the two maps"
        assert [ax.get_title().split("\n")[1] for ax in axes[0]] == [
            "axial z = 16",
            "coronal row = 26",
            "sagittal col = 17",
        ]
        assert figure.read_bytes() == reference.read_bytes()


@pytest.mark.slow
def test_the_cli_dispatches_a_tier_of_volumes_to_its_page(built, tmp_path, monkeypatch, capsys):
    from salcheck.cli import main
    from salcheck.store import tiers

    view, path = built
    monkeypatch.setitem(tiers.TIERS, "tiny3d", TINY3D)
    out = tmp_path / "reports"
    assert main(["report", "--tier", "tiny3d", "--store", str(view.store.root), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"salcheck report: wrote {out / 'tiny3d.md'}"
    assert (out / "tiny3d.md").read_text() == path.read_text()
