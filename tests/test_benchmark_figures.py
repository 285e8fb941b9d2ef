"""docs/benchmark.md and the README quote the method benchmark at both tiers: each method's
rank, score and failed sanity check on reports/ci-methods.md and reports/paper-methods.md.
They must be the committed pages', so a re-rendered page cannot leave the docs telling the old
ranking."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CI, PAPER = ROOT / "reports" / "ci-methods.md", ROOT / "reports" / "paper-methods.md"
ROW = re.compile(
    r"^\| (?P<rank>\d+=?) \| (?P<names>.+?) \|(?: (?P<fails>[^|*]+) \|)? "
    r"\*\*(?P<score>[+-]\d\.\d\d \[[+-]\d\.\d\d, [+-]\d\.\d\d\])\*\* \|",
    re.M,
)

pytestmark = pytest.mark.skipif(
    not (CI.exists() and PAPER.exists()), reason="needs both tiers' method benchmark pages"
)


def ranking(page: str) -> list[dict[str, str]]:
    """The rows of a benchmark page's two ranking tables (methods that pass every sanity check,
    then those that fail one), each named by its first method."""
    section = page.split("## Ranking", 1)[1].split("### How sure", 1)[0]
    return [
        {
            "rank": m["rank"],
            "name": re.findall(r"\[([^\]]+)\]\(", m["names"])[0],
            "fails": (m["fails"] or "").strip(),
            "score": m["score"],
        }
        for m in ROW.finditer(section)
    ]


def _flat(path: Path) -> str:
    return " ".join(path.read_text().split())  # paragraphs wrap anywhere


def test_ranking_reads_both_tables():
    page = (
        "## Ranking\n\n### Methods that pass every sanity check\n\n| rank | method | score |\n"
        "|---|---|---|\n| 1 | [A](x/a.md) = [B](x/b.md) | **+1.37 [+1.19, +1.51]** | +2.03 | 3.90 |\n\n"
        "### Methods that fail a sanity check\n\n| rank | method | fails | score |\n|---|---|---|---|\n"
        "| 2= | [C](x/c.md) | randomisation sensitivity | **-0.21 [-0.28, -0.14]** | 1.0 |\n\n"
        "### How sure is the order?\n\n| 3 | [D](x/d.md) | **+9.99 [+9.99, +9.99]** |\n"
    )
    assert ranking(page) == [
        {"rank": "1", "name": "A", "fails": "", "score": "+1.37 [+1.19, +1.51]"},
        {
            "rank": "2=",
            "name": "C",
            "fails": "randomisation sensitivity",
            "score": "-0.21 [-0.28, -0.14]",
        },
    ]


def test_the_two_tier_ranking_table_is_the_pages():
    ci = {r["name"]: r for r in ranking(CI.read_text())}
    paper = ranking(PAPER.read_text())
    assert paper and set(ci) == {r["name"] for r in paper}, "the pages rank other methods"
    docs = (ROOT / "docs" / "benchmark.md").read_text()
    for r in paper:
        c = ci[r["name"]]
        row = (
            f"| {r['name']} | {c['rank']} | {c['score']} | {c['fails'] or 'passes'} "
            f"| {r['rank']} | {r['score']} | {r['fails'] or 'passes'} |"
        )
        assert row in docs, f"docs/benchmark.md lacks the row {row!r}"


def test_the_readme_quotes_the_leader_and_the_methods_that_change_side():
    ci, paper = ranking(CI.read_text()), ranking(PAPER.read_text())
    readme = _flat(ROOT / "README.md")
    assert ci[0]["name"] == paper[0]["name"] == "Vanilla gradient"
    assert f"({paper[0]['score']} here, {ci[0]['score']} at ci," in readme
    fails_at_ci = {r["name"]: r["fails"] for r in ci}
    movers = [r for r in paper if bool(r["fails"]) != bool(fails_at_ci[r["name"]])]
    assert movers, "no method changes side: the README's sentence no longer holds"
    for r in movers:
        side = (
            f"**{r['name']} passes every sanity check at 128 x 128 but fails "
            f"{fails_at_ci[r['name']]} at ci**"
            if not r["fails"]
            else f"**{r['name']} fails {r['fails']} at 128 x 128 but passes every sanity check at ci**"
        )
        assert side in readme, f"the README does not say that {r['name']} changes side"
        assert f"({r['score']}:" in readme
