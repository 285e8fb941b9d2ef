"""The README's "What the evidence means" quotes figures the engine wrote: the ci report's
headline, the recorded verdicts and the gate's threshold. They must be the committed data's, so
a re-rendered report or record cannot leave the README telling the old numbers."""

import collections
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
REPORT = ROOT / "reports" / "ci.md"
RECORD = ROOT / "properties" / "verdicts" / "ci-vanilla-gradient.json"
STABILITY = ROOT / "properties" / "verdicts" / "ci-stability.json"

pytestmark = pytest.mark.skipif(
    not (README.exists() and REPORT.exists() and RECORD.exists()), reason="needs a checkout"
)


def _readme() -> str:
    return " ".join(README.read_text().split())  # paragraphs wrap anywhere


def signs_headline(page: str) -> tuple[str, ...]:
    """The counts of a tier page's signs headline: replicated, of, after BH, contradicted,
    inconclusive, undecidable."""
    head = re.search(
        r"\*\*Signs: (\d+) of (\d+) replicate at alpha 0\.05 \((\d+) after Benjamini-Hochberg; "
        r"(\d+) contradicted, (\d+) inconclusive, (\d+) undecidable\)",
        page,
    )
    assert head, "the page has no signs headline"
    return head.groups()


def test_the_signs_count_is_the_reports_headline():
    k, m, bh, con, inc, und = signs_headline(REPORT.read_text())
    quoted = (
        f"{k} of the {m} signs replicate at alpha 0.05 and **{bh} survive Benjamini-Hochberg**; "
        f"{con} are contradicted, {inc} inconclusive, {und} undecidable"
    )
    assert quoted in _readme()


def test_the_record_counts_are_the_records():
    verdicts = json.loads(RECORD.read_text())["verdicts"]
    n = collections.Counter(v["outcome"] for v in verdicts.values())
    quoted = (
        f"(`properties/verdicts/ci-vanilla-gradient.json`, {n['replicated']} replicated, "
        f"{n['inconclusive']} inconclusive, {n['contradicted']} contradicted, "
        f"{n['undecidable']} undecidable of {len(verdicts)})"
    )
    assert quoted in _readme()


def test_the_gate_threshold_is_the_records():
    record = json.loads(RECORD.read_text())
    text = _readme()
    if STABILITY.exists():
        measured = json.loads(STABILITY.read_text())["gate_alpha"]
        assert record["gate_alpha"] == measured, "the record was written before the measurement"
        assert f"gate threshold {measured:.3g}" in text
    else:
        assert record["gate_alpha_from"] == "unmeasured default"
        assert "the record carries the unmeasured 0.2" in text


def _kept(rerun: dict, reference: dict) -> tuple[int, int, int]:
    """Verdicts kept, replications on the reference, and those the rerun still replicates."""
    out = rerun["outcomes"]
    replicated = [k for k, v in reference.items() if v["outcome"] == "replicated"]
    held = sum(out.get(k, {}).get("outcome") == "replicated" for k in replicated)
    return rerun["counts"]["same"], len(replicated), held


@pytest.mark.skipif(not STABILITY.exists(), reason="no stability measurement")
def test_the_stability_figures_are_the_measurements():
    measured = json.loads(STABILITY.read_text())
    reference, reruns = measured["reference"], measured["reruns"]
    text = _readme()
    same, n, held = _kept(reruns["float_path"], reference)
    assert f"kept {same} of {reruns['float_path']['counts']['compared']} verdicts" in text
    assert f"{n - held} of the {n} replications fell to inconclusive" in text
    if "disjoint_seeds" in reruns:
        same, n, held = _kept(reruns["disjoint_seeds"], reference)
        drop = reruns["disjoint_seeds"]["largest_drop"]
        assert f"kept {same} of {reruns['disjoint_seeds']['counts']['compared']} verdicts" in text
        assert f"held {held} of the {n} replications, the furthest falling to p {drop:.3f}" in text


@pytest.mark.skipif(not (ROOT / "zoo" / "paper").exists(), reason="no paper zoo in this checkout")
def test_the_paper_tiers_progress_is_the_zoos():
    """The README says how much of the paper tier the committed zoo holds; adding models to the
    zoo without saying so fails here."""
    from salcheck.store.tiers import get_tier
    from salcheck.store.zoo import progress

    done = progress(ROOT / "zoo" / "paper", get_tier("paper"))
    whole = done["done"] == done["of"]
    quoted = (
        f"the paper tier is whole in the zoo ({done['of']} models)"
        if whole
        else "the paper tier itself is computed model by model, "
        f"{done['done']} of its {done['of']} models so far"
    )
    assert quoted in _readme()
    if whole:  # what it cost, and what ten seeds would: measured from the models' epochs
        hours = done["worker_hours"]
        cost = (
            f"Its {done['of']} models took {hours:.1f} h of training on one worker here"
            f" {{}} so ten seeds would cost as much again: {hours:.1f} h more of one worker, "
            f"about {hours / 2:.1f} h on two."
        )
        before, after = cost.split(" {} ")
        assert before in _readme() and after in _readme()
        tiers = " ".join((ROOT / "docs" / "tiers.md").read_text().split())
        assert f"{done['of']} models took {hours:.1f} h of training on one worker here" in tiers
        assert f"double the training: {hours:.1f} h more of one worker" in tiers


PAPER = ROOT / "reports" / "paper.md"
AGREE = re.compile(
    r"\*\*(?P<family>[^*]+)\*\*: (?P<same>\d+) of (?P<n>\d+) agree \((?P<rate>\d+)%, 95 % interval "
    r"(?P<low>\d+)%-(?P<high>\d+)%\); of the (?P<trusted>\d+) replicated at the ci tier, "
    r"(?P<held>\d+) replicate here\."
)


def agreement_rows(page: str) -> list[str]:
    """The README's rows of the tier-agreement table, one per family of reports/paper.md's
    "Agreement of the tiers" section."""
    section = page.split("## Agreement of the tiers", 1)[1].split("\n## ", 1)[0]
    return [
        f"| {m['family']} | {m['same']} of {m['n']} ({m['rate']} %; {m['low']}-{m['high']} %) "
        f"| {m['held']} of {m['trusted']} |"
        for m in AGREE.finditer(" ".join(section.split()))
    ]


def test_agreement_rows_are_read_from_the_pages_section():
    page = (
        "## Agreement of the tiers\n\nintro\n\n**named findings**: 7 of 10 agree (70%, 95 % "
        "interval 35%-93%); of the 6 replicated at the ci tier, 5 replicate here.\n\n"
        "**signs**: 1 of 2 agree (50%, 95 % interval\n1%-99%); of the 0 replicated at the ci "
        "tier, 0 replicate here.\n\n## Provenance\n\n**x**: 1 of 1 agree (100%, 95 % interval "
        "3%-100%); of the 1 replicated at the ci tier, 1 replicate here."
    )
    assert agreement_rows(page) == [
        "| named findings | 7 of 10 (70 %; 35-93 %) | 5 of 6 |",
        "| signs | 1 of 2 (50 %; 1-99 %) | 0 of 0 |",
    ]


@pytest.mark.skipif(not PAPER.exists(), reason="the paper tier's page is not rendered yet")
def test_the_tier_agreement_table_is_the_paper_pages():
    """The README's table of how far the ci gate speaks for the study is reports/paper.md's
    agreement section, family by family."""
    rows = agreement_rows(PAPER.read_text())
    assert rows, "reports/paper.md has no agreement of the tiers"
    for row in rows:
        assert row in README.read_text(), f"the README lacks the agreement row {row!r}"


@pytest.mark.skipif(not PAPER.exists(), reason="the paper tier's page is not rendered yet")
def test_the_paper_signs_count_is_the_paper_pages_headline():
    k, m, bh, con, inc, und = signs_headline(PAPER.read_text())
    quoted = (
        f"{k} of the {m} signs replicate at alpha 0.05 uncorrected and {bh} after "
        f"Benjamini-Hochberg (of the others: contradicted {con}, inconclusive {inc}, "
        f"undecidable {und})"
    )
    assert quoted in _readme()


@pytest.mark.skipif(not PAPER.exists(), reason="the paper tier's page is not rendered yet")
def test_the_paper_magnitudes_are_the_paper_pages():
    section = PAPER.read_text().split("## Magnitudes", 1)[1].split("\n## ", 1)[0]
    gap = dict(re.findall(r"^\| (b|c|b†|c†) \| \d+ \| ([+-]\d\.\d\d) \|", section, re.M))
    assert set(gap) == {"b", "c", "b†", "c†"}, "reports/paper.md has no magnitudes table"
    quoted = (
        f"have a median gap of {gap['b']} for b, {gap['c']} for c, {gap['b†']} for b† and "
        f"{gap['c†']} for c†"
    )
    assert quoted in _readme()
