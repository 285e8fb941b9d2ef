"""The README and docs/definitions.md quote the protocol study at the poster's scale: every D,
range and ratio they print must be reports/paper-protocol.md's, so a re-rendered page cannot
leave them telling the old numbers."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "reports" / "paper-protocol.md"
README = ROOT / "README.md"
DEFINITIONS = ROOT / "docs" / "definitions.md"

pytestmark = pytest.mark.skipif(not PAGE.exists(), reason="needs a checkout")

CELL = re.compile(r"(?<!\\)\|")  # a table's cell border; an escaped \| is inside a cell


def rows(text: str) -> dict[str, list[str]]:
    """Every Markdown table body row of ``text``, keyed by its first cell (headers left out)."""
    out = {}
    lines = text.splitlines()
    for line, below in zip(lines, [*lines[1:], ""], strict=True):
        if line.startswith("|") and not line.startswith("|---") and not below.startswith("|---"):
            cells = [c.strip() for c in CELL.split(line)[1:-1]]
            out.setdefault(cells[0], cells[1:])
    return out


def section(text: str, title: str) -> str:
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def measured() -> tuple[dict[str, list[str]], dict[str, list[str]], list[str]]:
    """The page's protocols (cells, D, D of one run), decisions and table header."""
    page = PAGE.read_text()
    header = next(line for line in page.splitlines() if line.startswith("| protocol |"))
    return rows(page.split("## Decisions", 1)[0]), rows(section(page, "Decisions")), header


def test_the_readme_protocol_table_is_the_pages():
    protocols, decisions, _ = measured()
    readme = rows(README.read_text())
    for switch, (_, alone, on_code, adopted) in decisions.items():
        assert switch in readme, f"the README's protocol table lacks the switch {switch!r}"
        d = f"{float(alone):.2f}"
        quoted = f"**{d}**" if adopted == "**yes**" else d
        if on_code != "–":
            quoted += f" ({float(on_code):.2f} on batch 2)"
        assert readme[switch][1:] == [quoted, "yes" if adopted == "**yes**" else "no"], switch
    baseline = next(v for k, v in readme.items() if k.startswith("baseline ("))
    assert baseline[1] == f"{float(protocols['baseline'][-2]):.2f}"


def test_the_readme_quotes_the_single_run_ranges():
    protocols, _, _ = measured()
    text = " ".join(README.read_text().split())

    def span(row: str) -> str:
        low, high = (float(x) for x in protocols[row][-1].split("-"))
        return f"{low:.2f}-{high:.2f}"

    assert f"a single run of the adopted protocol gives D of {span('adopted')}" in text
    assert f"the baseline's {span('baseline')}:" in text


def test_the_readme_quotes_the_batchs_homogeneous_b_dagger():
    protocols, _, header = measured()
    column = [c.strip() for c in CELL.split(header)[1:-1]][1:].index("hom. b†")

    def mean(row: str) -> str:
        return protocols[row][column].split(" ± ")[0]

    quoted = f"homogeneous b† {mean('batch 2 (not 8)')} against {mean('baseline')}"
    assert quoted in " ".join(README.read_text().split())


def test_the_definitions_tables_are_the_pages():
    """docs/definitions.md's D per protocol and its c / c† ratios to the poster (salcheck's mean
    over seeds divided by the poster's number)."""
    protocols, _, header = measured()
    columns = [c.strip() for c in CELL.split(header)[1:-1]][1:]
    poster = dict(zip(columns, protocols["poster"], strict=True))
    docs = DEFINITIONS.read_text()
    distance = rows(section(docs, "The protocol study").split("**At the poster's scale**", 1)[1])
    bias = rows(section(docs, "The c and c† bias"))
    quoted = 0
    for name, cells in protocols.items():
        if name == "poster":
            continue
        mean = dict(zip(columns, cells, strict=True))
        if name in distance:
            assert distance[name][0].strip("*") == f"{float(mean['D']):.2f}", name
            quoted += 1
        if name in bias:
            ratios = [
                f"{float(mean[c].split(' ± ')[0]) / float(poster[c]):.2f}"
                for c in ("hom. c", "hom. c†", "het. c", "het. c†")
            ]
            assert bias[name] == ratios, name
            quoted += 1
    assert quoted >= 10, "docs/definitions.md quotes too few of the page's protocols"
