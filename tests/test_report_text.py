"""The report's computed text on given verdicts (no training): headline, rows, notes."""

import math
from types import SimpleNamespace

from salcheck.report.tier_sections import signs_section, steps_note
from salcheck.report.verdict_table import Beside, headline, rounding_line, rule_text, verdict_rows
from salcheck.science.findings import ROUNDING_SIGNS, SIGNS, FindingVerdict, f2_comparisons
from salcheck.science.stats import paired_test, undecidable

UP = [math.exp(d) for d in (2.3, 2.2, 2.5, 2.4, 2.1)]
ONES = [1.0] * 5


def v(kind):
    return {
        "replicated": paired_test(UP, ONES, claim="r"),
        "contradicted": paired_test(ONES, UP, claim="c"),
        "inconclusive": paired_test([1.0, 2.0, 1.0, 2.0, 1.0], [1.5] * 5, claim="i"),
        "undecidable": undecidable("u", "the cell did not learn", ONES, ONES),
        "flat": paired_test([2.0] * 5, ONES, claim="flat"),
    }[kind]


def f(kind):
    """The finding of a method whose verdict is ``v(kind)``, with no null rule."""
    verdict = v(kind)
    return FindingVerdict(verdict, {}, None, verdict)


def test_headline_gives_both_counts_and_every_outcome():
    keys = list(SIGNS)[:6]
    signs = dict(
        zip(
            keys,
            [
                v("replicated"),
                v("replicated"),
                v("contradicted"),
                v("inconclusive"),
                v("undecidable"),
                None,
            ],
            strict=True,
        )
    )
    q = {k: 0.01 if i == 0 else 0.3 for i, k in enumerate(keys)}
    assert headline(signs, q) == (
        "**Signs: 2 of 5 replicate at alpha 0.05 (1 after Benjamini-Hochberg; 1 contradicted, "
        "1 inconclusive, 1 undecidable).**"
    )


def test_rounding_signs_are_named_with_the_posters_numbers():
    line = rounding_line({"S-homogeneous-MSENorm-b": v("replicated")})
    assert line.startswith("Not counted: 4 signs lie inside the poster's own printed rounding")
    assert "(12.3 vs 12.25; replicated)" in line and "(5.12 vs 5.1; cells missing)" in line


def test_verdict_rows_print_no_inf_no_zero_p_and_undecidable_reasons():
    comparisons = {k: SIGNS[k] for k in list(SIGNS)[:3]}
    rows = verdict_rows(
        dict(zip(comparisons, [f("flat"), f("undecidable"), None], strict=True)),
        comparisons,
        number=False,
    )
    text = "\n".join(rows)
    assert "inf" not in text and "nan" not in text and "| 0 |" not in text
    flat, undecided, missing = rows[2:]
    assert (
        "| replicated | replicated | – | 5 of 5 | +0.69 | – (sd 0) | 0.0312 (1/32) | 1 (32/32) "
        "| – (sd 0) | – (sd 0) |" in flat
    )
    assert "| undecidable: the cell did not learn |" in undecided and "cells missing" in missing
    assert all(r.count("|") == rows[0].count("|") for r in rows)


def test_rule_text_follows_the_number_of_seeds():
    assert (
        "least attainable p is 1/32 = 0.0312, so a finding replicates only when every seed agrees"
        in rule_text(5)
    )
    assert "1/4 = 0.25 >= alpha: no comparison can replicate" in rule_text(2)
    eight = rule_text(8)
    assert (
        "1/256 = 0.00391." in eight
        and "every seed agrees" not in eight
        and "no comparison can" not in eight
    )
    assert "Each named finding is tested on its own at alpha, without correction" in eight


def test_signs_section_states_its_correction_and_keeps_rounding_apart():
    class View:
        seeds = (0, 1, 2, 3, 4)

        def findings_available(self, comparisons):
            return {k: f("replicated") for k in comparisons}

    top, body = signs_section(View(), None)
    n = len(SIGNS)
    assert top[0].startswith(
        f"**Signs: {n} of {n} replicate at alpha 0.05 ({n} after Benjamini-Hochberg"
    )
    text = "\n".join(body)
    assert f"Benjamini-Hochberg (false discovery rate 0.05, over the {n} decided signs" in text
    assert "### Inside the poster's printed rounding (not counted, no correction)" in text
    assert all(c.claim in text for c in ROUNDING_SIGNS.values())
    assert "### What more seeds would decide" in text and "| 5 (this tier) |" in text


def run(dataset, seed, best_epoch, epochs_run=None):
    from salcheck.store.tiers import get_tier

    spec = get_tier("ci").spec(dataset, "default", seed)
    return SimpleNamespace(spec=spec, best_epoch=best_epoch, stop={"epochs_run": epochs_run or 80})


def test_steps_note_follows_the_verdicts():
    control, steps = f2_comparisons(20)
    models = {
        # Seed 0: the control keeps epoch 12, the homogeneous run's own best: the same model.
        # Seed 1: the control keeps epoch 16 while the homogeneous run (best 12) stopped at 18.
        ("homogeneous-steps", "default"): [
            run("homogeneous-steps", 0, 12),
            run("homogeneous-steps", 1, 16),
        ],
        ("homogeneous", "default"): [run("homogeneous", 0, 12, 22), run("homogeneous", 1, 12, 18)],
        ("large", "default"): [run("large", 0, 10), run("large", 1, 14)],
    }
    data = {**dict.fromkeys(control, v("inconclusive")), **dict.fromkeys(steps, v("inconclusive"))}
    data["F2-control-b"] = v("replicated")
    note = steps_note(models, data)[0]
    assert "best validation epochs are 12 (22), 16 (18)" in note
    assert "On 1 of 2 seeds the kept model is the homogeneous model itself" in note
    # 800 training images in batches of 2: 400 steps an epoch; the large set's 3,200 images, 1,600.
    assert (
        "the median kept control model trained 5,600 steps, the median kept large-set model 19,200"
        in note
    )
    assert "beats the step-matched control on b (replicated)" in note and "Longer training" not in note
    none = steps_note({}, dict.fromkeys(data, v("inconclusive")))[0]
    assert "the data's" not in none.replace("the data's share", "")
    assert "No comparison of this section replicates" in none
    longer = steps_note(
        {}, {**dict.fromkeys(data, v("inconclusive")), "F2-steps-c_dagger": v("replicated")}
    )[0]
    assert longer == "Longer training alone raises c† (replicated)."


class FakeStore:
    root = "fake-store"

    def get(self, kind, key):
        return None

    def other_versions(self):
        return []


class FakeView:
    """Every cell present; values drawn from the poster's numbers with a per-seed factor; no
    model records (the convergence table is then empty)."""

    method_name = "Fake"
    seeds = (0, 1, 2, 3, 4)
    store = FakeStore()

    def __init__(self, tier):
        import numpy as np

        from salcheck.criteria import EvalProtocol

        self.tier, self.protocol = tier, EvalProtocol()
        size = tier.image_size
        self.maps = {"typical": np.zeros((size, size)), "atypical": np.zeros((size, size))}

    def available(self, dataset, variant="default", parts=()):
        return True

    def models(self, dataset, variant="default"):
        from salcheck.store.view import MissingResults

        raise MissingResults("no model records in this fake")

    def group_maps(self, dataset, variant="default"):
        return [self.maps] * 5

    def accuracy(self, dataset, variant="default"):
        return [{"balanced_accuracy": 0.9}] * 5

    def evaluations(self, dataset, variant="default", part="maps"):
        return [SimpleNamespace(timings={}, provenance={})] * 5

    def values(self, dataset, variant, criterion):
        from salcheck.science.findings import CRITERIA_KEYS, POSTER

        cell = (dataset.replace("-steps", ""), variant)
        base = POSTER[cell][CRITERIA_KEYS.index(criterion)] if criterion in CRITERIA_KEYS else 0.1
        return [base * f for f in (1.0, 1.01, 0.99, 1.02, 0.98)]

    def findings_available(self, comparisons):
        from salcheck.science.findings import decide

        out = {}
        for k, c in comparisons.items():
            verdict = decide(c, self.values)
            out[k] = FindingVerdict(verdict, {}, None, verdict)
        return out


def test_the_whole_page_on_given_numbers(tmp_path, tiny):
    from salcheck.report import render_report

    text = render_report(FakeView(tiny), tmp_path).read_text()
    assert "inf" not in text.replace("info", "") and "nan" not in text.lower().replace("nance", "")
    head = next(line for line in text.splitlines() if line.startswith("**Signs: "))
    assert head.startswith(f"**Signs: {len(SIGNS)} of {len(SIGNS)} replicate at alpha 0.05 (")
    assert "Not counted: 4 signs" in text and "(12.3 vs 12.25; replicated)" in text
    assert "homogeneous trained 2x the optimiser steps (as many as large)" in text  # tiny: 24 / 12
    # The fake control has homogeneous's numbers: large beats it, longer training adds nothing.
    assert "beats the step-matched control on a, b, c, b†, c† (replicated)" in text
    assert "Longer training alone" not in text and "No comparison of this section" not in text


def test_agreement_counts_each_pair_of_outcomes():
    from salcheck.report.tier_sections import agreement

    keys = list(SIGNS)[:5]
    here = dict(
        zip(
            keys,
            [v("replicated"), v("inconclusive"), v("replicated"), None, v("contradicted")],
            strict=True,
        )
    )
    recorded = dict(
        zip(
            keys, ["replicated", "replicated", "inconclusive", "replicated", "contradicted"], strict=True
        )
    )
    lines = agreement({"signs": here}, Beside("ci tier", recorded))
    text = "\n".join(lines)
    # 4 decided pairs: (rep, rep), (rep, inc), (inc, rep), (con, con): 2 agree.
    assert (
        "**signs**: 2 of 4 agree (50%, 95 % interval 7%-93%); of the 2 replicated at the ci tier, "
        "1 replicate here." in text
    )
    row = next(line for line in lines if line.startswith("| replicated |"))
    assert row == "| replicated | 1 | 0 | 1 | 0 |"
    # each comparison where they differ is named, with both outcomes
    assert f"(`{keys[1]}`: replicated there, inconclusive here)" in text
    assert f"(`{keys[2]}`: inconclusive there, replicated here)" in text
    assert f"`{keys[0]}`" not in text and f"`{keys[4]}`" not in text
    assert agreement({"signs": here}, Beside("ci tier", {}))[-1] == ""
    assert "They agree on every one." in "\n".join(
        agreement({"signs": {keys[0]: v("replicated")}}, Beside("ci tier", {keys[0]: "replicated"}))
    )


def test_agreement_says_what_fewer_seeds_cannot_decide():
    """Ten recorded seeds against five here: the least attainable p of each is stated, and an
    inconclusive here is said to be possibly the seeds; equal seeds need no such note."""
    from salcheck.report.tier_sections import agreement

    key = next(iter(SIGNS))
    here = {key: v("inconclusive")}  # decided on 5 seeds
    ten = Beside("ci tier", {key: "replicated"}, tuple(range(10)))
    text = " ".join(agreement({"signs": here}, ten, 5))
    assert "decided on 10 seeds (least attainable p 1/1024), this tier's on 5 (1/32)" in text
    assert "inconclusive here can be the fewer seeds rather than the scale" in text
    three = " ".join(agreement({"signs": here}, Beside("ci tier", {key: "replicated"}, (0, 1, 2)), 5))
    assert "inconclusive at the ci tier can be the fewer seeds" in three
    five = Beside("ci tier", {key: "replicated"}, tuple(range(5)))
    same = " ".join(agreement({"signs": here}, five, 5))
    assert "least attainable" not in same


def test_every_page_states_the_stop_rule_of_its_tier():
    """The training phrase of the pages (tier, methods, networks, dose): early stopping names its
    patience and cap; a fixed length says so (not "100 epochs" for a run that stopped at 17)."""
    from dataclasses import replace

    from salcheck.report.tier_sections import training_rule
    from salcheck.store.tiers import get_tier

    ci = get_tier("ci")
    assert training_rule(ci) == (
        f"early stopping on the validation loss with patience {ci.patience} (tolerance "
        f"{ci.tolerance:g}), at most {ci.epochs} epochs"
    )
    fixed = replace(ci, patience=None)
    assert training_rule(fixed) == f"{ci.epochs} epochs, no early stopping"


def test_undefined_values_are_words_with_their_reason_never_nan(tiny):
    """An accuracy with no image behind it on some seeds, and criteria undefined (0/0) on some or
    every seed, are printed as *undefined* with a reason; an infinite ratio as ∞."""
    from salcheck.report.tier_sections import accuracy, fmt, number

    nan = float("nan")

    class View:
        tier = tiny

        def available(self, dataset, variant="default"):
            return True

        def accuracy(self, dataset, variant="default"):
            return [{"balanced_accuracy": 0.9, "accuracy_AD_atypical": 0.5}, {"balanced_accuracy": 0.8}]

    text = "\n".join(accuracy(View()))
    assert "nan" not in text.lower()
    assert "| 0.85 ± 0.07 | undefined on 1 of 2 seeds (no such image in the test set) |" in text
    cells = [fmt([nan, nan]), fmt([1.0, nan], why="a null scored 0"), fmt([nan]), fmt([2.0, math.inf])]
    cells += [number(nan), number(nan, why="no null map"), number(math.inf)]
    assert not any("nan" in c.lower() or "inf" in c for c in cells)
    assert cells[1] == "undefined on 1 of 2 seeds (a null scored 0)"
    assert cells[0].startswith("undefined (0/0") and cells[3] == "∞ on 1 of 2 seeds"
    assert cells[5] == "undefined (no null map)"
