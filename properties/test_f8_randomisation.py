"""F8. Sanity (Adebayo et al. 2018): cascading model randomisation drives the maps to chance.

Re-initialising the layers of the trained homogeneous model from the output backwards, the
typical group map's b and c move towards 1 and the rank correlation of |map| with the trained
model's maps falls. Decision rule: one-sided paired t-tests over seeds of
log|log v_trained| - log|log v_randomised| > 0 for v = b and v = c, and a mean Spearman rho
after full randomisation <= 0.3.
"""

import math

import pytest

from salcheck.stats import paired_greater


@pytest.mark.finding(8, "model randomisation drives maps to chance")
def test_randomisation_drives_maps_to_chance(salcheck_engine, expect_replication):
    runs = salcheck_engine.runs("homogeneous")
    expect_replication("F8")
    curves = [r.randomisation for r in runs]
    for v in ("b", "c"):
        trained = [abs(math.log(c[0][v])) for c in curves]
        randomised = [abs(math.log(c[-1][v])) for c in curves]
        verdict = paired_greater(trained, randomised, claim=f"|log {v}| falls when randomised")
        assert verdict.holds, verdict.message()
    rho = [c[-1]["spearman"] for c in curves]
    assert sum(rho) / len(rho) <= 0.3, f"Spearman rho after full randomisation: {rho}"
