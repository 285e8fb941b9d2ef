"""The method benchmark: ranking, nulls against the gradient, equivalences, the report."""

import numpy as np
import pytest

from salcheck.report.methods_page import _card_rank, _scores_table, render_benchmark, slug
from salcheck.science.ranking import Row
from salcheck.science.ranking_stats import Interval
from salcheck.store.files import Store
from salcheck.store.records import Evaluation
from salcheck.studies.method_benchmark import (
    DATASETS,
    SCORES,
    Benchmark,
    Entry,
    benchmark_plan,
    collect,
    null_outranks,
)


class GivenView:
    """A results view with given criteria ``values`` on every (dataset, seed)."""

    def __init__(self, tier, key, values, maps):
        self.tier, self.key, self.values_, self.maps = tier, key, dict(values), maps

    def evaluations(self, dataset, variant, part):
        return [
            Evaluation(
                part=part,
                model=self.tier.spec(dataset, variant, s),
                status="done",
                method=self.key,
                fingerprint=self.key,
                criteria=dict(self.values_),
                maps=self.maps or {"typical": np.eye(4) * (1 + s), "atypical": np.eye(4)},
            )
            for s in self.tier.seeds
        ]

    def values(self, dataset, variant, criterion):
        return [self.values_[criterion]] * len(self.tier.seeds)


def _entry(tier, key, values, *, null=False, maps=None):
    """An entry whose every (dataset, seed) has criteria ``values`` (b, c, b†, c† ...)."""
    view = GivenView(tier, key, values, maps)
    return Entry(key, key, null, {"signed": True, "deterministic": True}, view=view)


NULL_MAPS = {"typical": np.ones((4, 4)), "atypical": np.ones((4, 4))}


def _bench(tiny, tmp_path, gradient, null):
    keys = ("b", "c", "b_dagger", "c_dagger")
    entries = [
        _entry(tiny, "vanilla", dict(zip(keys, gradient, strict=True))),
        _entry(tiny, "random", dict(zip(keys, null, strict=True)), null=True, maps=NULL_MAPS),
    ]
    return Benchmark(tiny, tiny.seeds, entries, Store(tmp_path))


def test_no_null_outranks_a_better_gradient(tiny, tmp_path):
    assert null_outranks(_bench(tiny, tmp_path, (5, 4, 3, 2), (1, 1, 1, 1))) == []


def test_an_inverted_ranking_is_caught(tiny, tmp_path):
    offenders = null_outranks(_bench(tiny, tmp_path, (1, 4, 3, 2), (1.5, 1, 1, 1)))
    assert offenders == [f"random b on {d}: 1.5 >= vanilla 1" for d in DATASETS]


def test_equal_maps_are_reported_as_equivalent(tiny, tmp_path):
    bench = _bench(tiny, tmp_path, (5, 4, 3, 2), (1, 1, 1, 1))
    bench.entries.append(_entry(tiny, "copy", {"b": 5, "c": 4, "b_dagger": 3, "c_dagger": 2}))
    assert [(a.key, b.key) for a, b, _ in bench.equivalences()] == [("vanilla", "copy")]


@pytest.mark.slow  # trains networks
@pytest.mark.filterwarnings("ignore::salcheck.errors.SilentEquivalenceWarning")
def test_benchmark_on_the_tiny_tier(tiny, tmp_path):
    from salcheck.engine.plan import execute
    from salcheck.store.view import MissingResults

    store = Store(tmp_path / "store")
    methods = ["vanilla", "guided-backprop-captum", "guided-backprop"]
    plan, refs = benchmark_plan(tiny, methods)
    with pytest.raises(MissingResults, match="maps of Vanilla gradient"):
        collect(tiny, store, refs)  # reading computes nothing
    execute(plan, store)
    bench = collect(tiny, store, refs)
    assert [e.key for e in bench.methods] == methods
    assert [e.key for e in bench.nulls] == ["random", "sobel", "constant", "untrained"]
    pairs = [(a.key, b.key) for a, b, _ in bench.equivalences()]
    assert pairs == [("vanilla", "guided-backprop-captum")]
    ranking = bench.ranking()
    # Identical maps give identical scores: the gradient and captum's GuidedBackprop share a row.
    assert sorted(m for r in ranking.rows for m in r.members) == sorted(methods)
    assert ("vanilla", "guided-backprop-captum") in [r.members for r in ranking.rows]
    passing = [r.block == "passes" for r in ranking.rows]
    assert passing == sorted(passing, reverse=True), "a method failing a check ranks above one passing"
    assert execute(plan, store) == []  # a finished plan computes nothing
    path = render_benchmark(bench, tmp_path / "out")
    text = path.read_text()
    assert path.name == "tiny-methods.md"
    assert "**Vanilla gradient** computes the same maps as **GuidedBackprop (captum)**" in text
    assert "same maps as **GuidedBackprop (every" not in text
    for e in bench.entries:
        card = (tmp_path / "out" / "tiny-methods" / f"{slug(e.name)}.md").read_text()
        assert card.startswith(f"# Saliency card: {e.name}")
        assert "check_beats_chance" in card
        png = tmp_path / "out" / "tiny-methods" / f"{slug(e.name)}.png"
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_a_method_with_an_undefined_criterion_is_listed_apart_not_ranked(tiny, tmp_path):
    """b = 0/0 (all-zero maps) has no log ratio to the nulls: the method is set apart with the
    reason instead of stopping the ranking."""
    bench = _bench(tiny, tmp_path, (5, 4, 3, 2), (1, 1, 1, 1))
    bench.entries.append(_entry(tiny, "zero", {"b": float("nan"), "c": 4, "b_dagger": 3, "c_dagger": 2}))
    assert list(bench.unrankable()) == ["zero"]
    assert "b on homogeneous" in bench.unrankable()["zero"]


def test_undefined_scores_print_words_never_nan(tiny, tmp_path):
    """A constant map has no rank correlation (ρ rand. NaN), a group with no image gives b† NaN
    on a seed, an evaluation without timings has no cost, a benchmark without nulls no chance:
    each is printed as a word with its reason."""
    values = dict.fromkeys(SCORES, 2.0) | {"spearman_randomised": float("nan")}
    constant = _entry(tiny, "constant", values, null=True, maps=NULL_MAPS)
    partial = _entry(tiny, "vanilla", dict.fromkeys(SCORES, 3.0))
    partial.view.values = lambda d, v, k: [float("nan"), 3.0] if k == "b_dagger" else [3.0, 3.0]
    bench = Benchmark(tiny, tiny.seeds, [partial], Store(tmp_path))
    text = "\n".join(_scores_table(bench, "homogeneous", [partial, constant]))
    assert "nan" not in text.lower()
    assert "| undefined (a constant map has no ranks to correlate) |" in text
    assert "undefined on 1 of 2 seeds (0/0: a map 0 on both regions, or no atypical image" in text
    assert "undefined (not timed)" in text and "undefined (no null map)" in text
    row = Row(
        "vanilla", "passes", Interval(*[float("nan")] * 3), {}, float("nan"), (), ("vanilla", "gbp")
    )
    bench.entries.append(_entry(tiny, "gbp", dict.fromkeys(SCORES, 3.0)))
    line = _card_rank(bench, partial, "2=", row, 5)
    assert "nan" not in line.lower()
    assert line.startswith("- ranking: row 2 (tied) of 5 (score against the best null undefined (")
    assert "shares its row with gbp (identical scores on every unit)" in line
    with_null = Benchmark(tiny, tiny.seeds, [partial, constant], Store(tmp_path))
    offenders = null_outranks(with_null, criteria=("b_dagger",))
    assert offenders and not any("nan" in o.lower() for o in offenders)
