"""Hypothesis strategies for salcheck's inputs (public API; needs ``hypothesis``).

Each option takes a value or a strategy for that value. Examples shrink towards small cohorts
at the smallest image size with an even mix.
"""

from __future__ import annotations

from hypothesis import strategies as st

from salcheck.cohort import CohortSpec


def _as_strategy(value: object) -> st.SearchStrategy:
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


@st.composite
def mixes(draw: st.DrawFn, *, min_share: float = 0.0) -> tuple[float, float, float]:
    """(errors, typical, atypical) shares summing to 1, each at least ``min_share``.

    Shrinks towards an equal split.
    """
    w = [draw(st.integers(0, 100)) for _ in range(3)]
    total = sum(w) or 1
    raw = [x / total if sum(w) else 1 / 3 for x in w]
    free = 1 - 3 * min_share
    shares = [min_share + free * r for r in raw]
    shares[2] = 1 - shares[0] - shares[1]
    return (shares[0], shares[1], max(shares[2], 0.0))


def cohort_specs(
    *,
    n_per_class: int | st.SearchStrategy[int] = st.integers(1, 40),  # noqa: B008
    mix: tuple[float, float, float] | st.SearchStrategy = mixes(),  # noqa: B008
    image_size: int | st.SearchStrategy[int] = st.sampled_from([32, 64]),  # noqa: B008
    smoothing: bool | st.SearchStrategy[bool] = False,
    draw: str | st.SearchStrategy[str] = st.sampled_from(["exact", "random"]),  # noqa: B008
) -> st.SearchStrategy[CohortSpec]:
    """Valid :class:`CohortSpec` values. Shrinks towards 1 image per class at N = 32."""
    return st.builds(
        CohortSpec,
        n_per_class=_as_strategy(n_per_class),
        mix=_as_strategy(mix),
        image_size=_as_strategy(image_size),
        smoothing=_as_strategy(smoothing),
        draw=_as_strategy(draw),
    )


def seeds() -> st.SearchStrategy[int]:
    """Non-negative integer seeds (never numpy's global state). Shrinks towards 0."""
    return st.integers(0, 2**32 - 1)
