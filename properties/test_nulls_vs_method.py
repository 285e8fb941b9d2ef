"""No null map outranks the method under test (by default the study's gradient).

On the default-training models of the homogeneous, heterogeneous and large sets, the mean over
seeds of b and of c of the method's group maps must exceed that of every null map (random,
Sobel edges, constant, the gradient of an untrained network) on the same models. A method that
a map ignoring the trained model can match on b or c does not show what the model learned.
This is a chance level the poster does not state; it is salcheck's, checked as a property.
"""

import pytest

from salcheck.studies.method_benchmark import collect, null_outranks

pytestmark = pytest.mark.slow  # trains networks


def test_no_null_map_outranks_the_method_on_b_and_c(salcheck_view):
    """Read from the store: the property suite's plan holds the maps of the method and of every
    null on the three datasets' default models."""
    view = salcheck_view
    bench = collect(view.tier, view.store, [view.method, *view.nulls], seeds=view.seeds)
    offenders = null_outranks(bench, reference=bench.entries[0].key)
    assert not offenders, "a null map outranks " + view.method_name + ":\n" + "\n".join(offenders)
