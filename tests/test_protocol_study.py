"""The protocol study's arithmetic and plan: D of the seed mean, D of single runs against the
poster (one seed per dataset, every combination), the rows at the tier's stop rule, the
decision, and the page. Numbers are given, not trained."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from salcheck.criteria import EvalProtocol
from salcheck.errors import InvalidArgument
from salcheck.report.protocol_page import render_protocol
from salcheck.science.findings import CRITERIA_KEYS, POSTER
from salcheck.store.tiers import TIERS
from salcheck.studies.protocol import (
    CODE,
    DATASETS,
    OPEN,
    SWITCHES,
    Row,
    adopted_switches,
    on_code,
    protocols,
    stop_rule,
)


def _row(factors: dict[str, list[float]], name: str = "r") -> Row:
    """A row whose seed s on dataset d is the poster's numbers times ``factors[d][s]``."""
    values = {
        d: {k: [POSTER[(d, "default")][i] * f for f in factors[d]] for i, k in enumerate(CRITERIA_KEYS)}
        for d in DATASETS
    }
    return Row(name, {}, EvalProtocol(), values)


def test_d_is_zero_at_the_poster_and_ln2_a_factor_of_two_off():
    assert _row({d: [1.0, 1.0] for d in DATASETS}).distance() == pytest.approx(0.0, abs=1e-12)
    assert _row({d: [2.0, 2.0] for d in DATASETS}).distance() == pytest.approx(math.log(2))
    # the seed mean is taken on the log scale: x2 and x0.5 average to the poster
    assert _row({d: [2.0, 0.5] for d in DATASETS}).distance() == pytest.approx(0.0, abs=1e-12)


def test_one_run_d_pairs_one_seed_per_dataset_over_every_combination():
    """Seed 0 at the poster, seed 1 twice it, on both datasets: the single runs are (0, 0) ->
    0, (0, 1) and (1, 0) -> ln 2 / 2 (four of eight gaps are ln 2), (1, 1) -> ln 2, while the
    seed mean's D (log mean: a factor sqrt 2) is ln 2 / 2."""
    row = _row({d: [1.0, 2.0] for d in DATASETS})
    got = np.sort(row.single_run())
    assert got == pytest.approx([0.0, math.log(2) / 2, math.log(2) / 2, math.log(2)])
    assert row.distance() == pytest.approx(math.log(2) / 2)
    lo, hi = row.single_run_range()
    assert 0.0 <= lo < row.distance() < hi <= math.log(2)
    # three seeds on one dataset and two on the other: six single runs, each pair once
    uneven = _row({"homogeneous": [1.0, 2.0, 4.0], "heterogeneous": [1.0, 1.0]}).single_run()
    assert np.sort(uneven) == pytest.approx(np.repeat([0.0, math.log(2) / 2, math.log(2)], 2))


def test_one_run_d_is_undefined_when_a_value_is_not_positive():
    row = _row({d: [1.0, 2.0] for d in DATASETS})
    row.values["heterogeneous"]["b_dagger"][1] = 0.0
    runs = row.single_run()
    assert np.isnan(runs).sum() == 2 and np.isfinite(runs).sum() == 2
    assert all(math.isnan(x) for x in row.single_run_range())
    with pytest.raises(InvalidArgument, match="level must be in \\(0, 1\\), got 1.5"):
        row.single_run_range(1.5)


def test_every_row_trains_with_the_tiers_stop_rule_and_clinicadls_code_is_the_tiers_models():
    tier = TIERS["ci"]
    chosen = protocols(tier)
    for training, _ in chosen.values():
        spec = tier.spec("homogeneous", "default", 3, **training)
        assert (spec.epochs, spec.patience) == (tier.spec("homogeneous").epochs, 10)
    base = tier.spec("homogeneous", "default", 3, **chosen["baseline"][0])
    assert (base.batch_size, base.selection) == (8, "loss")
    code = chosen[CODE][0]
    for d in DATASETS:  # the row of ClinicaDL's code reads the zoo's models, not new ones
        assert tier.spec(d, "default", 3, **code).key() == tier.spec(d, "default", 3).key()
    assert "early stopping on the validation loss (patience 10, cap 100 epochs)" == stop_rule(tier)


def test_an_open_switch_is_adopted_when_it_lowers_d_on_clinicadls_code():
    rows = {name: _row({d: [2.0] for d in DATASETS}, name) for name in protocols(TIERS["ci"])}
    closer, farther = OPEN[0], OPEN[1]
    rows[on_code(closer)] = _row({d: [1.5] for d in DATASETS}, on_code(closer))
    rows[on_code(farther)] = _row({d: [3.0] for d in DATASETS}, on_code(farther))
    adopted = adopted_switches(rows)
    assert closer in adopted and farther not in adopted
    assert all(s in adopted for s in SWITCHES if s.clinicadl is True)
    assert not any(s in adopted for s in SWITCHES if s.clinicadl is False)


def test_the_page_prints_the_stop_rule_and_one_runs_range(tmp_path):
    tier = TIERS["ci"]
    rows = {name: _row({d: [1.0, 2.0] for d in DATASETS}, name) for name in protocols(tier)}
    rows["adopted"] = _row({d: [1.0, 2.0] for d in DATASETS}, "adopted")
    text = render_protocol(rows, tier, (0, 1), tmp_path).read_text()
    assert "early stopping on the validation loss (patience 10, cap 100 epochs)" in text
    assert "| D | D of one run (95 %) |" in text
    lo, hi = rows["baseline"].single_run_range()
    assert f"| 0.347 | {lo:.3f}-{hi:.3f} |" in text
    assert not re.search(r"\bnan\b", text)
    # c / c† run by run: seed 1 doubles c and c† alike, so both runs keep the poster's ratio
    assert "| baseline | homogeneous | 1.00-2.00 | 1.00-2.00 | 1.26-1.26 | 1.26 | 2 of 2 |" in text
    # c above the poster's ratio on one run, below it on the other
    tilted = _row({d: [1.0, 1.0, 1.0] for d in DATASETS}, "tilted")
    tilted.values["homogeneous"]["c"][:] = [5.3 * 3, 5.3 * 0.5, 5.3 * 0.6]
    out = tmp_path / "tilted"
    every = {name: _row({d: [1.0, 1.0, 1.0] for d in DATASETS}, name) for name in rows}
    text = render_protocol({**every, "tilted": tilted}, tier, (0, 1, 2), out).read_text()
    assert "| tilted | homogeneous | 0.50-3.00 | 1.00-1.00 | 0.63-3.79 | 1.26 | 2 of 3 |" in text
