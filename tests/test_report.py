import json

import pytest

from salcheck.cli import main
from salcheck.engine.plan import run_grid
from salcheck.report import ReportError, render_report
from salcheck.report.tier_page import table_text
from salcheck.science.findings import NAMED, SIGNS
from salcheck.store.files import Store
from salcheck.store.view import ResultsView

pytestmark = pytest.mark.slow  # trains networks


@pytest.fixture(scope="module")
def view(tmp_path_factory, tiny):
    s = Store(tmp_path_factory.mktemp("store"))
    run_grid(tiny.grid(["homogeneous"], ["default", "L1Norm", "Noise"]), s, test=tiny.test())
    return ResultsView(s, tiny)


def test_report_tables_verdicts_and_figures(view, tmp_path):
    path = render_report(view, tmp_path)
    text = path.read_text()
    assert path == tmp_path / "tiny.md"
    assert "## Default training (no augmentation, CE)" in text
    assert "(12.3)" in text and "(20.60)" in text  # the poster's values, as printed
    assert "| large | default | missing (0.99)" in text
    assert "| F3 | Noise raises b on heterogeneous | cells missing |" in text
    assert "**Signs: " in text and " replicate at alpha 0.05 (" in text and "Benjamini-Hochberg" in text
    assert "Not counted: 4 signs lie inside the poster's own printed rounding" in text
    assert "## Convergence" in text and "## Provenance" in text and "torch" in text
    assert "AD errors" not in text, "a column empty by construction is left out"
    for fig in ("phantoms.png", "maps_homogeneous.png"):
        assert (tmp_path / "tiny" / fig).read_bytes()[:4] == b"\x89PNG"
        assert f"tiny/{fig}" in text


def test_report_and_properties_agree(view, tmp_path):
    """Every verdict the report prints is the one decide() gives the properties."""
    text = render_report(view, tmp_path).read_text()
    checked = 0
    for c in [*NAMED.values(), *SIGNS.values()]:
        if not all(view.available(*cell) for cell in c.cells()):
            continue
        outcome = view.decide(c).outcome
        word = {
            "replicated": "replicated",
            "contradicted": "**contradicted**",
            "inconclusive": "*inconclusive*",
            "undecidable": "undecidable:",
        }[outcome]
        assert f"| {table_text(c.claim)} | {word}" in text, c.key
        checked += 1
    assert checked >= 10


def test_empty_store_says_what_to_run(tmp_path, tiny):
    with pytest.raises(ReportError, match=r"no evaluations of Vanilla gradient for tier tiny"):
        render_report(ResultsView(Store(tmp_path), tiny), tmp_path / "out")


def test_other_store_version_is_named(tmp_path, tiny):
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "old.json").write_text(json.dumps({}))
    with pytest.raises(ReportError, match=r"store version\(s\) v1"):
        render_report(ResultsView(Store(tmp_path), tiny), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_report_on_empty_store_exits_nonzero(tmp_path, capsys):
    assert main(["report", "--store", str(tmp_path / "s"), "--out", str(tmp_path / "o")]) == 2
    assert "salcheck report --run" in capsys.readouterr().err


def test_recorded_verdicts_of_another_tier_are_printed_beside(view, tmp_path):
    beside = ("ci tier", {"F1-homogeneous": "contradicted"})
    text = render_report(view, tmp_path, beside=beside).read_text()
    row = next(line for line in text.splitlines() if line.startswith("| F1 |") and "homogeneous" in line)
    assert row.endswith("| contradicted |") and "| ci tier |" in text
    missing = next(
        line for line in text.splitlines() if "| Noise raises b on heterogeneous | cells" in line
    )
    assert missing.count("|") == row.count("|"), "a missing row keeps the table's columns"
