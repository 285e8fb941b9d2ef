"""The dose-response study wired into the engine: routes of grid cells, plans, curves read from
the store with the best null's level, verdicts, the record the properties gate on, the page and
the command line. Fast tests fill a store with planted results (no training)."""

import doctest
import hashlib
import json
import math

import numpy as np
import pytest

import salcheck.studies.dose
import salcheck.studies.dose_grid
import salcheck.studies.dose_record
from salcheck.cli import main
from salcheck.cohort import make_cohort
from salcheck.cohort.cohort import draw_subtypes
from salcheck.engine.plan import cells_plan
from salcheck.errors import InvalidArgument
from salcheck.report.dose_page import page_stem, render_dose
from salcheck.saliency.resolve import null_refs
from salcheck.science.dose import trend_test
from salcheck.science.verdicts import gate
from salcheck.store.files import Store
from salcheck.store.records import Evaluation, ModelResult
from salcheck.store.tiers import get_tier
from salcheck.store.view import MissingResults, ResultsView
from salcheck.studies.dose import ACCURACY, CRITERIA, HEADLINE, collect, decide
from salcheck.studies.dose_grid import (
    ROUTES,
    DoseGrid,
    check_routes,
    dose_plan,
    dose_specs,
    estimate_cost,
    n_atyp,
    route_points,
    size_point,
)
from salcheck.studies.dose_record import (
    GateInput,
    dose_entries,
    full_decisions,
    property_curves,
    property_points,
    property_trends,
    trend_gate_input,
    write_dose_record,
)
from salcheck.training.loop import stratified_split

CI = get_tier("ci")
SEEDS = (0, 1, 2, 3, 4)


@pytest.mark.parametrize(
    "module", [salcheck.studies.dose_grid, salcheck.studies.dose, salcheck.studies.dose_record]
)
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


# ----------------------------------------------------------------------------------------------
# routes and points


def test_points_that_are_tier_cells_use_the_cells_exact_specs():
    for seed in (0, 3):
        size = dose_specs(CI, "size", seed)
        share = dose_specs(CI, "share", seed)
        homogeneous = CI.spec("homogeneous", "default", seed)
        large = CI.spec("large", "default", seed)
        assert size[4] == homogeneous and size[4].key() == homogeneous.key()
        assert size[6] == large and size[6].key() == large.key()
        assert share[2].key() == homogeneous.key()
        others = [s for s in size + share if s.key() not in (homogeneous.key(), large.key())]
        assert len(others) == 12 and all(s.dataset == "homogeneous" for s in others)
    # the default models of the tier's own plan are the dose points' models: none is trained twice
    tier_models = {
        s.key() for s in cells_plan(CI, [("homogeneous", "default"), ("large", "default")]).models()
    }
    dose_models = {s.key() for s in dose_plan(CI).models()}
    assert tier_models <= dose_models


def test_n_atyp_is_the_cohorts_count_before_the_split():
    assert [p.n_atyp for p in route_points(CI, "size")] == [13, 18, 25, 35, 50, 100, 200, 400]
    assert [p.n_atyp for p in route_points(CI, "share")] == [13, 25, 50, 75, 125, 175, 250]
    rng = np.random.default_rng(0)
    for p in [*route_points(CI, "size")[:3], *route_points(CI, "share")]:
        cohort = p.spec(CI, 0).train_spec()
        labels, subtypes = draw_subtypes(cohort, rng)
        assert int(np.sum(subtypes == 2)) == p.n_atyp
        train, _ = stratified_split(labels, subtypes, 0.2, rng)
        assert int(np.sum(subtypes[train] == 2)) == p.n_fit


def test_a_drawn_cohort_holds_n_atyp_atypical_images():
    p = size_point(CI, 150)
    spec = p.spec(CI, 0).train_spec().replace(image_size=32)
    assert int(np.sum(make_cohort(spec, 0).subtypes == 2)) == p.n_atyp == 15


def test_the_share_route_mix_and_its_cells():
    points = route_points(CI, "share")
    assert [p.cell for p in points] == [None, None, "homogeneous", None, None, None, None]
    assert points[4].mix == (0.05, 0.95 - 0.25, 0.25)
    assert all(p.n_per_class == 500 for p in points)


def test_the_size_route_holds_the_tiers_cells_and_the_extended_point():
    paper = [p.n_per_class for p in route_points(get_tier("paper"), "size")]
    assert paper == [125, 177, 250, 354, 500, 1000, 2000, 4000, 10_000]
    assert route_points(get_tier("paper"), "size")[-1].cell == "large"
    extended = route_points(CI, "size", DoseGrid.extended())
    assert extended[-1].n_per_class == 8000 and extended[-1].n_atyp == 800


def test_property_points_are_grid_points_the_suite_affords():
    points = property_points(CI)
    assert [(p.n_per_class, p.n_atyp, p.cell) for p in points] == [
        (250, 25, None),
        (500, 50, "homogeneous"),
        (2000, 200, "large"),
    ]
    grid = {p.spec(CI, 0).key() for p in route_points(CI, "size")}
    assert {p.spec(CI, 0).key() for p in points} <= grid


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: check_routes("diagonal"), r"unknown route 'diagonal'; accepted: size, share, both"),
        (lambda: check_routes(["size", "width"]), r"unknown route 'width'; accepted: size, share"),
        (lambda: check_routes([]), r"at least one route"),
        (lambda: DoseGrid(sizes=(125, 0)), r"sizes must be distinct integers >= 1.*\[125, 0\]"),
        (lambda: DoseGrid(shares=(0.1, 0.97)), r"share must lie in \(0, 0.95\], got share=0.97"),
        (lambda: dose_specs(CI, "size", -1), r"seeds must be integers >= 0"),
        (lambda: route_points(CI, "width"), r"unknown route 'width'"),
    ],
)
def test_bad_input_names_the_value_and_the_range(call, match):
    with pytest.raises(InvalidArgument, match=match):
        call()


def test_a_point_without_atypical_images_is_refused(tiny):
    with pytest.raises(
        InvalidArgument, match=r"distinct number >= 1 of atypical images, got n_atyp \[0"
    ):
        route_points(tiny, "share", DoseGrid(shares=(0.05, 0.25)))


def test_routes_by_name():
    assert check_routes("both") == ROUTES and check_routes("share") == ("share",)
    assert check_routes(["share", "size", "share"]) == ("share", "size")


# ----------------------------------------------------------------------------------------------
# the plan


def test_the_plan_trains_each_model_once_and_evaluates_the_method_and_every_null():
    plan = dose_plan(CI, "vanilla", "both", seeds=(0, 1))
    models = plan.models()
    assert len(models) == 2 * 14  # 8 + 7 points per seed, the homogeneous cell shared
    parts = {}
    for t in plan.tasks:
        parts.setdefault(t.part, []).append(t)
    assert len(parts["model"]) == len(parts["features"]) == 28
    names = sorted({t.method.name for t in parts["maps"]})
    assert names == sorted(["Vanilla gradient", *(n.name for n in null_refs())])
    assert len(parts["maps"]) == 28 * 5
    assert all(t.protocol == CI.evaluation for t in parts["maps"])
    size_only = dose_plan(CI, "vanilla", "size", seeds=(0, 1))
    assert len(size_only.models()) == 16


def test_the_estimated_cost_counts_only_new_models():
    cost = estimate_cost(CI, seeds=SEEDS)
    assert (cost.new_models, cost.reused_models) == (60, 10)
    assert estimate_cost(CI).new_models == 12 * len(CI.seeds)  # the tier's own seeds by default
    # 125+177+250+354+1000+4000 per class on the size route, 6 x 500 on the share route
    images = 2 * (125 + 177 + 250 + 354 + 1000 + 4000 + 6 * 500)
    assert cost.train_s == pytest.approx(images / 1000 * 1.4 * 20 * 5)
    assert 0.3 < cost.hours(2) < 1.0
    assert estimate_cost(CI, grid=DoseGrid.extended()).hours(2) > cost.hours(2) + 0.25


# ----------------------------------------------------------------------------------------------
# a store of planted results


def _noise(key, sd):
    """A deterministic N(0, sd) draw per model (so the two routes never tie exactly)."""
    return float(
        np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)).normal(0, sd)
    )


def planted(method, spec, share_factor=1.0):
    """Criteria of a model: the method's rise with n_atyp (b† = 0.02 n_atyp: crosses the best
    null, about 1.05, at about 52); the nulls flat, the untrained network best at n_atyp 400."""
    cohort = spec.train_spec()
    n = n_atyp(cohort.n_per_class, cohort.mix)
    e = math.exp(_noise(spec.key(), 0.05))
    if method == "Random map":
        return dict.fromkeys(("b", "c", "b_dagger", "c_dagger"), 1.05 * e)
    if method == "Vanilla gradient of an untrained network":
        return dict.fromkeys(("b", "c", "b_dagger", "c_dagger"), (1.5 if n == 400 else 0.8) * e)
    if method in ("Sobel edge map", "Constant map"):
        return dict.fromkeys(("b", "c", "b_dagger", "c_dagger"), 0.9)
    factor = share_factor if cohort.mix[2] != 0.1 else 1.0
    return {
        "b": 5 + 0.01 * n * e,
        "c": 2 + 0.005 * n * e,
        "b_dagger": 0.02 * n * e * factor,
        "c_dagger": 0.5 + 0.01 * n * e,
    }


def fill(store, plan, share_factor=1.0):
    """Done entries for every task of ``plan``, with :func:`planted` values."""
    test = plan.test
    for t in plan.tasks:
        if t.part == "model":
            history = [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.4, "val_balanced_accuracy": 0.9}]
            record = ModelResult(t.spec, "done", history, 1, {"train_s": 35.0}, {"git_commit": "abc"})
            store.put("models", t.key(test), record.to_dict())
            continue
        cohort = t.spec.train_spec()
        n = n_atyp(cohort.n_per_class, cohort.mix)
        e = Evaluation(
            part=t.part,
            model=t.spec,
            status="done",
            method=t.method.name if t.method else None,
            fingerprint=t.method.fingerprint if t.method else None,
            protocol=t.protocol.to_dict() if t.part != "features" else {},
            criteria={"a": 0.002 * n + 0.01 * t.spec.seed}
            if t.part == "features"
            else planted(t.method.name, t.spec, share_factor),
            accuracy={"accuracy_AD_atypical": min(0.99, 0.5 + 0.002 * n + 0.005 * t.spec.seed)},
            maps={"typical": np.ones((4, 4)), "atypical": np.ones((4, 4))} if t.part == "maps" else {},
            timings={"total_s": 4.0},
            provenance={"git_commit": "def"},
            identity=t.identity(test),
        )
        store.put(t.part, t.key(test), e.to_dict())


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("dose-store"))
    fill(store, dose_plan(CI, "vanilla", "both", SEEDS))
    return store


@pytest.fixture(scope="module")
def data(filled):
    return collect(filled, CI, "vanilla", "both", SEEDS)


@pytest.fixture(scope="module")
def verdicts(data):
    return decide(data, n_boot=400)


def test_reading_computes_nothing_and_names_what_is_missing(tmp_path):
    with pytest.raises(MissingResults, match=r"is not in the store"):
        collect(Store(tmp_path), CI, "vanilla", "size", SEEDS)


def test_collect_reads_every_criterion_along_both_routes(data):
    assert set(data.curves) == set(CRITERIA) and data.routes == ROUTES
    b = data.curves[HEADLINE]["size"]
    assert b.n_atyp.tolist() == [13, 18, 25, 35, 50, 100, 200, 400] and b.values.shape == (5, 8)
    assert b.seeds == SEEDS and b.scale == "log" and b.criterion == "b†"
    assert data.curves["a"]["share"].scale == "difference"
    assert np.all(data.curves["a"]["size"].level == 0.0)
    assert np.all(data.curves[ACCURACY]["share"].level == 0.8)
    # the method's own values, per seed, in order of n_atyp
    expected = [
        0.02 * 50 * math.exp(_noise(CI.spec("homogeneous", "default", s).key(), 0.05)) for s in SEEDS
    ]
    assert b.values[:, 4] == pytest.approx(expected)


def test_the_level_is_the_null_with_the_highest_mean_at_each_point(data):
    names = data.best_null[HEADLINE]["size"]
    assert names[:7] == ("Random map",) * 7
    assert names[7] == "Vanilla gradient of an untrained network"
    level = data.curves[HEADLINE]["size"].level
    untrained = [
        1.5 * math.exp(_noise(CI.spec("homogeneous", "default", s, n_per_class=4000).key(), 0.05))
        for s in SEEDS
    ]
    assert level[:, 7] == pytest.approx(untrained)  # per seed, the same models
    random = [
        1.05 * math.exp(_noise(CI.spec("homogeneous", "default", s, n_per_class=125).key(), 0.05))
        for s in SEEDS
    ]
    assert level[:, 0] == pytest.approx(random)


def test_verdicts_on_planted_curves(verdicts):
    assert all(t.outcome == "replicated" for t in verdicts.trends.values())
    for route in ROUTES:
        x = verdicts.crossovers[(HEADLINE, route)]
        assert x.censored is None and 40 < x.estimate < 70, x.message()
        acc = verdicts.crossovers[(ACCURACY, route)]
        assert acc.censored is None and 120 < acc.estimate < 180, acc.message()
    assert verdicts.collapse is not None and verdicts.collapse.outcome == "replicated"


def test_routes_that_differ_are_contradicted(tmp_path):
    store = Store(tmp_path)
    fill(store, dose_plan(CI, "vanilla", "both", SEEDS), share_factor=3.0)
    v = decide(collect(store, CI, "vanilla", "both", SEEDS), n_boot=200)
    assert v.collapse.outcome == "contradicted", v.collapse.message()


def test_one_route_decides_no_collapse(filled):
    v = decide(collect(filled, CI, "vanilla", "share", SEEDS), n_boot=200)
    assert v.collapse is None and {r for _, r in v.trends} == {"share"}


# ----------------------------------------------------------------------------------------------
# what the properties read, and the record they gate on


def test_property_curves_read_the_three_points_and_a_drawn_one(filled):
    view = ResultsView(filled, CI, "vanilla", seeds=SEEDS)
    curves = property_curves(view)
    assert curves["b_dagger"].n_atyp.tolist() == [25, 50, 200]
    assert property_trends(view)["dose-F2-b_dagger"].outcome == "replicated"
    with pytest.raises(MissingResults, match=r"150/class"):
        property_curves(view, extra=[size_point(CI, 150)])  # not in the store: never computed
    with pytest.raises(InvalidArgument, match=r"distinct n_atyp"):
        property_curves(view, extra=[size_point(CI, 250)])


def test_the_record_round_trips_through_the_gate(filled, data, verdicts, tmp_path):
    view = ResultsView(filled, CI, "vanilla", seeds=SEEDS)
    decisions = {**property_trends(view), **full_decisions(data, verdicts)}
    assert set(decisions) == {
        "dose-F2-b",
        "dose-F2-c",
        "dose-F2-b_dagger",
        "dose-F2-c_dagger",
        "dose-trend-size-b_dagger",
        "dose-trend-share-b_dagger",
        "dose-collapse-b_dagger",
    }
    path = write_dose_record(view, decisions, tmp_path)
    assert path.name == "ci-vanilla-gradient-dose.json"
    entries = dose_entries(tmp_path, "ci", "Vanilla gradient")
    for key, now in decisions.items():
        result = gate(entries[key], now, list(SEEDS))
        assert result.status == "pass" and "re-read, unchanged" in result.message
    # with no record a trend must replicate; an inconclusive one fails with its numbers
    flat = GateInput("b† rises", "inconclusive", 0.3, "b† rises: inconclusive (p = 0.3)", (1.0,))
    result = gate(None, flat, list(SEEDS))
    assert result.status == "fail" and "p = 0.3" in result.message
    # recorded inconclusive: expected to fail while inconclusive, fails once contradicted
    recorded = {**entries["dose-F2-b"], "outcome": "inconclusive", "digest": "0" * 16}
    assert gate(recorded, flat, list(SEEDS)).status == "xfail"
    falls = GateInput("b† rises", "contradicted", 0.99, "b† falls", (2.0,))
    assert gate(recorded, falls, list(SEEDS)).status == "fail"


def test_a_digest_changes_with_the_values(data):
    curve = data.curves[HEADLINE]["size"]
    t = trend_test(curve)
    a = trend_gate_input(t, curve)
    b = trend_gate_input(t, curve.with_point(800, curve.values[:, -1] * 2, 1.0))
    assert a.digest() != b.digest() and a.p_forward == t.p_increasing


# ----------------------------------------------------------------------------------------------
# the page and the command line


def test_the_page_shows_figures_points_crossovers_and_verdicts(data, verdicts, tmp_path):
    path = render_dose(data, verdicts, tmp_path)
    text = path.read_text()
    assert path.name == "ci-dose.md"
    for k in CRITERIA:
        png = tmp_path / "ci-dose" / f"{k}.png"
        assert png.read_bytes()[:4] == b"\x89PNG"
        assert f"(ci-dose/{k}.png)" in text
    assert "| size | 500 | 0.1 | 50 | 40 | homogeneous | 5/5 |" in text
    assert "| share | 500 | 0.25 | 125 | 100 | – | 5/5 |" in text
    assert "| size | 400 | Vanilla gradient of an untrained network 1.49 |" in text
    assert "b† exceeds the best null on route 'size' from n_atyp" in text
    assert "atyp. acc. exceeds the level 0.8 on route 'share'" in text
    assert "**replicated**: the count of atypical examples, not their share, decides b†" in text
    for head in ("## How to read the curves", "## Trends", "## Cost and provenance"):
        assert head in text
    assert "8,000 per class" in text and "models trained at salcheck commit(s): abc" in text


def test_a_method_gets_its_own_page():
    assert page_stem("ci", "Vanilla gradient") == "ci-dose"
    assert page_stem("ci", "IntegratedGradients") == "ci-dose-integratedgradients"


def test_cli_names_an_unknown_route(tmp_path, capsys):
    assert main(["dose", "--route", "diagonal", "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "salcheck dose: error: unknown route 'diagonal'; accepted: size, share, both" in err


def test_cli_on_an_empty_store_says_what_is_missing(tmp_path, capsys):
    assert main(["dose", "--route", "size", "--store", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "is not in the store" in capsys.readouterr().err


def test_cli_writes_the_page_and_the_record(filled, tmp_path, capsys):
    args = ["dose", "--store", str(filled.root), "--out", str(tmp_path), "--write", str(tmp_path)]
    assert main([*args, "--seeds", *map(str, SEEDS)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'ci-dose.md'}" in out
    record = json.loads((tmp_path / "ci-vanilla-gradient-dose.json").read_text())
    assert record["verdicts"]["dose-collapse-b_dagger"]["outcome"] == "replicated"
    assert record["seeds"] == list(SEEDS)


# ----------------------------------------------------------------------------------------------
# a real run


TINY_GRID = DoseGrid(sizes=(12, 24, 48), shares=(0.10, 0.25, 0.5))


def test_the_tiny_runs_grid(tiny):
    """The reduced grid of the run below: its routes overlap, and two points are tier cells."""
    assert [p.n_atyp for p in route_points(tiny, "size", TINY_GRID)] == [1, 3, 5]
    assert [p.n_atyp for p in route_points(tiny, "share", TINY_GRID)] == [1, 3, 6]
    assert [p.cell for p in route_points(tiny, "size", TINY_GRID)] == ["homogeneous", "large", None]
    assert len(dose_plan(tiny, "vanilla", "both", grid=TINY_GRID).models()) == 2 * 5


@pytest.mark.slow  # trains networks
def test_a_tiny_dose_run(tiny, tmp_path):
    from salcheck.engine.plan import execute

    grid = TINY_GRID
    store = Store(tmp_path / "store")
    plan = dose_plan(tiny, "vanilla", "both", grid=grid)
    assert len(plan.models()) == 2 * 5  # 12 (the homogeneous cell), 24 (large), 48; 2 shares
    with pytest.raises(MissingResults):
        collect(store, tiny, "vanilla", "both", grid=grid)
    execute(plan, store)
    data = collect(store, tiny, "vanilla", "both", grid=grid)
    assert data.curves[HEADLINE]["size"].n_atyp.tolist() == [1, 3, 5]
    assert data.curves[HEADLINE]["share"].n_atyp.tolist() == [1, 3, 6]
    assert execute(plan, store) == []  # a finished plan computes nothing
    verdicts = decide(data, n_boot=200)
    assert verdicts.collapse is not None and len(verdicts.trends) == 2 * len(CRITERIA)
    path = render_dose(data, verdicts, tmp_path / "out")
    assert path.name == "tiny-dose.md" and "## Crossovers" in path.read_text()
