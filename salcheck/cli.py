"""The ``salcheck`` command line: thin wrappers over the library's stages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salcheck.errors import InvalidArgument, SalcheckError
from salcheck.options import REPORT, RUN, add_arguments, apply_no_zoo
from salcheck.store.files import KINDS, Store, store_root, zoo_root

if TYPE_CHECKING:
    from tqdm import tqdm


def _progress(total: int, desc: str) -> tqdm[Any]:
    from tqdm import tqdm  # CLI start-up

    return tqdm(total=total, desc=desc, unit="img", disable=total < 2000 or None, leave=False)


def cmd_generate(args: argparse.Namespace) -> int:
    from salcheck.cohort import io, make_cohort, preset  # CLI start-up

    overrides: dict[str, object] = {}
    if args.image_size is not None:
        overrides["image_size"] = args.image_size
    if args.n_per_class is not None:
        overrides["n_per_class"] = args.n_per_class
    if args.mix is not None:
        overrides["mix"] = tuple(args.mix)
    if args.draw is not None:
        overrides["draw"] = args.draw
    if args.smoothing:
        overrides["smoothing"] = True
    spec = preset(args.preset, **overrides)
    io.check_outdir(args.outdir, args.overwrite)
    n = 2 * spec.n_per_class
    make: Any = make_cohort
    save: Any = io.save
    if args.dims == 3:
        from salcheck.cohort import io3d, make_cohort3d  # CLI start-up

        make, save = make_cohort3d, io3d.save_dir3d
    with _progress(n, "render") as bar:
        cohort = make(spec, args.seed, progress=bar.update)
    with _progress(n if args.format == "caps" else 0, "write") as bar:
        save(cohort, args.outdir, format=args.format, overwrite=args.overwrite, progress=bar.update)
    print(f"{args.outdir}: {cohort.summary()} (seed {args.seed}, {args.format})")
    return 0


def _store(args: argparse.Namespace) -> Any:
    return Store(store_root(args.store))


def _tier(args: argparse.Namespace) -> Any:
    from salcheck.store.tiers import get_tier  # CLI start-up

    return get_tier(args.tier, getattr(args, "network", None))


def _execute(plan: Any, store: Any, args: argparse.Namespace, what: str) -> int:
    """Make ``store`` hold ``plan`` with a progress bar; returns the number of failures."""
    from tqdm import tqdm  # CLI start-up

    from salcheck.engine.plan import execute  # CLI start-up
    from salcheck.engine.runner import check_workers  # CLI start-up

    check_workers(args.workers)
    if getattr(args, "evaluate_only", False):
        plan = plan.trained_only(store)
    todo = plan.missing(store)
    if not len(todo):
        return 0
    print(f"salcheck {what}: computing {todo.summary()} into {store.root}")
    failed = 0
    with tqdm(total=len(todo), unit="task", desc=what, disable=None) as bar:

        def on_progress(outcome: Any) -> None:
            nonlocal failed
            failed += outcome.status != "done"
            bar.update(1)
            bar.write(outcome.line())

        execute(
            todo,
            store,
            workers=args.workers,
            scheduler=getattr(args, "scheduler", None),
            dask_local=getattr(args, "dask_local", None),
            device=args.device,
            batch_models=args.batch_models,
            on_progress=on_progress,
        )
    print(f"salcheck {what}: {failed} failed" if failed else f"salcheck {what}: done")
    return failed


def cmd_run(args: argparse.Namespace) -> int:
    from salcheck.engine.plan import cells_plan  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up

    tier = _tier(args)
    methods = [resolve(m) for m in (args.methods or [args.method])]  # fails before any training
    cells = tier.cells(args.datasets, args.variants)
    plan = cells_plan(tier, cells, methods=methods, parts=args.parts, seeds=args.seeds)
    return 1 if _execute(plan, _store(args), args, "run") else 0


def cmd_zoo(args: argparse.Namespace) -> int:
    """``salcheck zoo status | verify | add | fetch``."""
    from salcheck.store import zoo  # CLI start-up

    if args.action == "fetch":
        from salcheck.store.zoo_fetch import fetch  # CLI start-up

        into = Path(args.zoo) if args.zoo else None
        where = fetch(args.source or "", args.ref or "", _tier(args).tag, into)
        print(f"salcheck zoo: fetched and verified {where}")
        return 0
    root = Path(args.zoo) if args.zoo else zoo_root()
    if root is None:
        raise InvalidArgument("no zoo folder: give --zoo DIR or set SALCHECK_ZOO")
    if args.action == "verify":
        found = zoo.verify(root)
        checked = ", ".join(f"{n} {k}" for k, n in sorted(found.checked.items())) or "nothing"
        for problem in found.problems:
            print(f"  {problem}")
        state = "intact" if found.ok else f"{len(found.problems)} problem(s)"
        size = f"{found.megabytes:.1f} MB, {found.seconds:.1f} s"
        print(f"salcheck zoo: {root} {state}: checked {checked}, {size}")
        return 0 if found.ok else 1
    if args.action == "add":
        tier = _tier(args)
        store = Store(store_root(args.store), layers=())
        added = zoo.add(store, root, tier, zoo.tier_models(store, tier, args.seeds))
        for why in added.skipped:
            print(f"  skipped {why}")
        copied = ", ".join(f"{n} {k}" for k, n in sorted(added.copied.items())) or "nothing"
        there = sum(added.present.values())
        print(f"salcheck zoo: added {copied} to {root / tier.tag} ({there} already there)")
        return 0
    from salcheck.store.tiers import TIERS  # CLI start-up

    for t in zoo.status(root):
        counts = ", ".join(f"{n} {k}" for k, n in t["entries"].items() if n)
        print(f"{t['tier']}: {counts} ({t['megabytes']} MB)")
        if t["tier"] in TIERS:
            p = zoo.progress(zoo.tier_dir(root, t["tier"]), TIERS[t["tier"]])
            left = (
                "unknown" if p["hours_left"] is None else f"about {p['hours_left']:.1f} h on two workers"
            )
            print(f"  the {t['tier']} tier's grid: {p['done']} of {p['of']} models; left: {left}")
        for cell, seeds in t["cells"].items():
            print(f"  {cell}: seeds {', '.join(map(str, seeds))}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from salcheck.store.records import Evaluation, ModelResult  # CLI start-up

    store = _store(args)
    scans = {kind: store.scan(kind) for kind in KINDS}  # every kind, so every corrupted entry shows
    bad = [name for _, broken in scans.values() for name in broken]
    for name in bad:
        print(f"CORRUPTED {name}: it is set aside and recomputed when next needed")
    models = scans["models"][0]
    if not models:
        other = store.other_versions()
        hint = f" (results of other store versions: {', '.join(other)})" if other else ""
        print(f"{store.root}: no models{hint}; run `salcheck run --tier ci` to compute some")
        return 1 if bad else 0
    by_model: dict[str, list[Evaluation]] = {}
    for e in scans["maps"][0]:
        s = Evaluation.from_dict(e)
        by_model.setdefault(s.model.key(), []).append(s)
    a_of = {}
    for f in scans["features"][0]:
        e = Evaluation.from_dict(f)
        a_of[e.model.key()] = e.criteria.get("a")
    columns = _status_columns()
    print(f"{'model':58} {'state':7} {'method':18} {'a':>7} " + " ".join(f"{h:>7}" for _, h in columns))
    records = sorted(
        (ModelResult.from_dict(m) for m in models),
        key=lambda r: (r.spec.image_size, r.spec.dataset, r.spec.variant, r.spec.epochs, r.spec.seed),
    )
    for r in records:
        rows = by_model.get(r.spec.key(), [])
        a = a_of.get(r.spec.key())
        a_text = f"{a:>7.2f}" if a is not None else f"{'-':>7}"
        lead = f"{r.spec.label():58}"
        if not rows or r.status != "done":
            print(f"{lead} {r.status:7} {'-':18} {a_text}" + (f"  {r.error}" if r.error else ""))
        for e in rows:
            nums = " ".join(f"{e.criteria.get(k, float('nan')):>7.2f}" for k, _ in columns)
            error = f"  {e.error}" if e.error else ""
            print(f"{lead} {e.status:7} {(e.method or '?')[:18]:18} {a_text} {nums}{error}")
    print("; ".join(_legend()))
    return 1 if bad else 0


def _status_columns() -> list[tuple[str, str]]:
    """(score key, header) of the group-map criteria, from their metadata."""
    from salcheck.criteria import MAP_CRITERIA  # CLI start-up

    return [(k, c.symbols[k]) for c in MAP_CRITERIA if c.category == "group map" for k in c.keys]


def _legend() -> list[str]:
    from salcheck.criteria import CRITERIA  # CLI start-up

    return [
        f"{i.symbol}: {i.name}, {i.direction} is better, chance {i.chance:g}"
        for i in (c.info() for c in CRITERIA)
        if i.category in ("features", "group map") and i.chance is not None
    ]


def _view(args: argparse.Namespace, method: Any) -> Any:
    """The read-only view the report and the verdicts decide on: the method, beyond the nulls."""
    from salcheck.saliency.resolve import null_refs  # CLI start-up
    from salcheck.store.view import ResultsView  # CLI start-up

    return ResultsView(_store(args), _tier(args), method, seeds=args.seeds, nulls=null_refs())


def cmd_report(args: argparse.Namespace) -> int:
    from salcheck.engine.plan import report_plan  # CLI start-up
    from salcheck.report import render_report  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up

    method = resolve(args.method)
    tier = _tier(args)
    if args.run and _execute(report_plan(tier, method, seeds=args.seeds), _store(args), args, "report"):
        print("salcheck report: some tasks failed; their cells are marked missing")
    view = _view(args, method)
    beside = None
    if args.tier != "ci" and args.beside:
        from salcheck.science.verdicts import expected_outcomes  # CLI start-up

        ci = _tier(argparse.Namespace(tier="ci", network=getattr(args, "network", None)))
        recorded = expected_outcomes(args.beside, ci.tag, view.method_name)
        beside = ("ci tier", recorded) if recorded else None
    path = render_report(view, args.out, beside=beside)
    print(f"salcheck report: wrote {path}")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from salcheck.report.methods_page import render_benchmark  # CLI start-up
    from salcheck.studies.method_benchmark import (  # CLI start-up
        benchmark_plan,
        collect,
        default_methods,
    )

    tier = _tier(args)
    store = _store(args)
    plan, refs = benchmark_plan(tier, args.methods or default_methods(), seeds=args.seeds)
    if args.run:
        _execute(plan, store, args, "benchmark")
    bench = collect(tier, store, refs, seeds=args.seeds)
    path = render_benchmark(bench, args.out)
    print(f"salcheck benchmark: wrote {path}")
    return 0


def cmd_networks(args: argparse.Namespace) -> int:
    from salcheck.report.networks_page import render_networks  # CLI start-up
    from salcheck.studies.network_benchmark import collect, network_plan  # CLI start-up

    tier = _tier(args)
    store = _store(args)
    plan, refs = network_plan(tier, args.networks, args.methods, seeds=args.seeds)
    if args.run:
        _execute(plan, store, args, "networks")
    bench = collect(tier, store, args.networks, refs, seeds=args.seeds)
    path = render_networks(bench, args.out)
    print(f"salcheck networks: wrote {path}")
    return 0


def cmd_protocol(args: argparse.Namespace) -> int:
    from salcheck.report.protocol_page import render_protocol  # CLI start-up
    from salcheck.studies.protocol import adopted_plan, collect, protocol_plan  # CLI start-up

    tier = _tier(args)
    store = _store(args)
    if args.run:
        _execute(protocol_plan(tier, args.method, seeds=args.seeds), store, args, "protocol")
        _execute(adopted_plan(store, tier, args.method, seeds=args.seeds), store, args, "protocol")
    rows = collect(store, tier, args.method, seeds=args.seeds)
    seeds = tuple(args.seeds or tier.seeds)
    path = render_protocol(rows, tier, seeds, args.out)
    print(f"salcheck protocol: wrote {path}")
    return 0


def cmd_dose(args: argparse.Namespace) -> int:
    from salcheck.report.dose_page import render_dose  # CLI start-up
    from salcheck.studies.dose import DoseGrid, check_routes, collect, decide, dose_plan  # CLI start-up

    tier = _tier(args)
    routes = check_routes(args.route)  # fails before any training
    grid = DoseGrid.extended() if args.extended else DoseGrid()
    store = _store(args)
    if args.run:
        plan = dose_plan(tier, args.method, routes, seeds=args.seeds, grid=grid)
        _execute(plan, store, args, "dose")
    data = collect(store, tier, args.method, routes, seeds=args.seeds, grid=grid)
    verdicts = decide(data)
    path = render_dose(data, verdicts, args.out)
    print(f"salcheck dose: wrote {path}")
    if args.write:
        print(f"salcheck dose: wrote {_write_dose_record(args, data, verdicts)}")
    return 0


def _write_dose_record(args: argparse.Namespace, data: Any, verdicts: Any) -> Any:
    """The dose verdicts the property suite gates on: its own size-route trends and, from the
    whole curve, b†'s trends and the routes' collapse."""
    from salcheck.studies.dose import full_decisions, property_trends, write_dose_record  # CLI start-up

    view = _view(args, args.method)
    decisions = {**property_trends(view), **full_decisions(data, verdicts)}
    return write_dose_record(view, decisions, args.write)


def cmd_store(args: argparse.Namespace) -> int:
    from salcheck.store.bundle import export_bundle, import_bundle  # CLI start-up

    store = _store(args)
    if args.action == "export":
        only = None
        if args.tier:  # what the tier's report reads, models and evaluations
            from salcheck.engine.plan import report_plan  # CLI start-up

            plan = report_plan(_tier(args), "vanilla")
            only = {t.key(plan.test) for t in plan.with_models()}
        weights = "none" if args.no_weights else "full"
        counts = export_bundle(store, args.file, weights=weights, only=only)
        what = ", ".join(f"{n} {k}" for k, n in counts.items())
        print(f"salcheck store: exported {what} from {store.root} to {args.file}")
        return 0
    summary = import_bundle(store, args.file, keep_existing=args.keep_existing)
    print(f"salcheck store: imported {args.file} into {store.root}: {summary.line()}")
    for c in summary.conflicts:
        print(f"  kept the store's {c}")
    return 0


def cmd_verdicts(args: argparse.Namespace) -> int:
    from salcheck.engine.plan import report_plan  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up
    from salcheck.science.verdicts import build_record, write_record  # CLI start-up

    method = resolve(args.method)
    if args.run:
        _execute(report_plan(_tier(args), method, seeds=args.seeds), _store(args), args, "verdicts")
    view = _view(args, method)
    if args.write:
        path = write_record(view, args.write)
        print(f"salcheck verdicts: wrote {path}")
        return 0
    record = build_record(view)
    for key, v in record["verdicts"].items():
        p = "–" if v["p_forward"] is None else f"{v['p_forward']:.3g}"
        print(f"{v['outcome']:13} {key:42} p = {p:6}  {v['claim']}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from salcheck.checks import compare_baseline, run_suite  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up

    method = resolve(args.method)
    store = _store(args)
    results = list(
        run_suite(method, tier=_tier(args), store=store, workers=args.workers, device=args.device)
    )
    if args.baseline:
        results.append(
            compare_baseline(
                method, args.baseline, tolerance=args.tolerance, tier=_tier(args), store=store
            )
        )
    for r in results:
        print(r.message())
    failed = [r.check for r in results if not r.passed]
    print(
        f"salcheck check: {len(results) - len(failed)} passed, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else "")
    )
    return 1 if failed else 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from salcheck.checks import save_baseline  # CLI start-up
    from salcheck.saliency.resolve import resolve  # CLI start-up

    data = save_baseline(resolve(args.method), args.file, tier=_tier(args), store=_store(args))
    print(f"salcheck baseline: wrote {args.file} for {data['method']} (tier {data['tier']})")
    return 0


def _add_generate(sub: Any) -> None:
    g = sub.add_parser("generate", help="simulate a cohort of phantoms and write it to OUTDIR")
    g.add_argument("preset", help="homogeneous, heterogeneous, large or test")
    g.add_argument("outdir", help="the directory to write (refused when it exists and is not empty)")
    g.add_argument("--image-size", type=int, help="N, a multiple of 32 (default 128)")
    g.add_argument(
        "--dims",
        type=int,
        choices=(2, 3),
        default=2,
        help="2: N x N images (default); 3: N x N x N volumes (mid-slice: the 2-D image)",
    )
    g.add_argument("--seed", type=int, default=0, help="the cohort's seed (default 0)")
    g.add_argument("--n-per-class", type=int, help="images per label")
    g.add_argument(
        "--mix",
        type=float,
        nargs=3,
        metavar=("ERRORS", "TYPICAL", "ATYPICAL"),
        help="atrophied shares, summing to 1",
    )
    g.add_argument("--draw", choices=("exact", "random"), help="subtype counts (default exact)")
    g.add_argument("--smoothing", action="store_true", help="Gaussian smoothing per image")
    g.add_argument(
        "--format",
        choices=("npz", "caps"),
        default="npz",
        help="npz (lossless, with the parameters; default) or caps (NIfTI in ClinicaDL's layout; "
        "with --dims 3, the volumes for its image mode)",
    )
    g.add_argument("--overwrite", action="store_true", help="replace a non-empty OUTDIR")
    g.set_defaults(func=cmd_generate)


def _add_run(sub: Any) -> None:
    r = sub.add_parser("run", help="train and evaluate a grid of dataset x variant x seed cells")
    r.add_argument("--datasets", nargs="+", help="homogeneous, heterogeneous, large, homogeneous-steps")
    r.add_argument(
        "--variants",
        nargs="+",
        help="default, CropPad, Erasing, Noise, Smoothing, L1, L1Norm, SmoothL1, "
        "MSENorm, or combinations such as Noise+L1 (default: the poster's)",
    )
    r.add_argument(
        "--parts",
        nargs="*",
        default=["features", "maps"],
        choices=("features", "maps", "randomisation"),
        help="evaluation parts to compute (default: features maps; none: train only)",
    )
    add_arguments(r, ("methods", *RUN))
    r.set_defaults(func=cmd_run)


def _add_report(sub: Any) -> None:
    rep = sub.add_parser("report", help="render the poster's tables from the store as Markdown")
    rep.add_argument(
        "--evaluate-only",
        action="store_true",
        help="with --run: evaluate the models the store holds, train none (cells it lacks are "
        "reported missing)",
    )
    rep.add_argument(
        "--beside",
        default="properties/verdicts",
        metavar="DIR",
        help="for a tier other than ci, print the ci verdicts recorded under DIR beside its own "
        "(default properties/verdicts)",
    )
    add_arguments(rep, (*REPORT, *RUN))
    rep.set_defaults(func=cmd_report)


def _add_benchmark(sub: Any) -> None:
    from salcheck.saliency.catalogue import METHODS, ON_REQUEST  # CLI start-up

    b = sub.add_parser(
        "benchmark",
        help="benchmark saliency methods on the same models; writes <out>/<tier>-methods.md",
    )
    every = (
        f"(default: the {len(METHODS)} catalogued methods; {', '.join(ON_REQUEST)} on request; "
        "the null maps always added)"
    )
    methods = {"help": f"catalogue names or MODULE:OBJECT {every}"}
    add_arguments(b, ("methods", *REPORT, *(n for n in RUN if n != "method")), methods=methods)
    b.set_defaults(func=cmd_benchmark)


def _add_networks(sub: Any) -> None:
    from salcheck.studies.network_benchmark import DEFAULT_METHODS, DEFAULT_NETWORKS  # CLI start-up

    n = sub.add_parser(
        "networks",
        help="the same saliency methods on several networks' default models; writes "
        "<out>/<tier>-networks.md",
    )
    n.add_argument(
        "--networks",
        nargs="+",
        default=list(DEFAULT_NETWORKS),
        metavar="NETWORK",
        help=f"networks to compare (default: {' '.join(DEFAULT_NETWORKS)})",
    )
    methods = {
        "default": list(DEFAULT_METHODS),
        "help": f"saliency methods (default: {' '.join(DEFAULT_METHODS)}; the null maps always added)",
    }
    add_arguments(
        n, ("methods", *REPORT, *(o for o in RUN if o not in ("method", "network"))), methods=methods
    )
    n.set_defaults(func=cmd_networks)


def _add_protocol(sub: Any) -> None:
    p = sub.add_parser(
        "protocol",
        help="measure each open choice of the protocol against the poster; writes "
        "<out>/<tier>-protocol.md",
    )
    add_arguments(p, (*REPORT, *RUN))
    p.set_defaults(func=cmd_protocol)


def _add_dose(sub: Any) -> None:
    d = sub.add_parser(
        "dose",
        help="criteria against the number of atypical training images; writes <out>/<tier>-dose.md",
    )
    d.add_argument(
        "--route",
        default="both",
        metavar="{size,share,both}",
        help="size: images per class at the homogeneous mix; share: the atypical share at the "
        "tier's homogeneous size; both (default) also decides whether they fall on one curve",
    )
    d.add_argument(
        "--extended",
        action="store_true",
        help="add 8,000 per class to the size route (as much training as the rest of the ci run)",
    )
    d.add_argument(
        "--write",
        metavar="DIR",
        help="record the dose verdicts the property suite gates on, as "
        "<tier>-<method>-dose.json under DIR (e.g. properties/verdicts)",
    )
    add_arguments(d, (*REPORT, *RUN))
    d.set_defaults(func=cmd_dose)


def _add_verdicts(sub: Any) -> None:
    v = sub.add_parser(
        "verdicts",
        help="decide every comparison from the store; --write records them for the property suite",
    )
    v.add_argument(
        "--write", metavar="DIR", help="write <tier>-<method>.json under DIR (e.g. properties/verdicts)"
    )
    add_arguments(v, ("run", *RUN))
    v.set_defaults(func=cmd_verdicts)


def _add_check(sub: Any) -> None:
    c = sub.add_parser("check", help="run the check suite on a saliency method")
    c.add_argument(
        "method", help="a catalogue name, MODULE:OBJECT (a salcheck method or a captum class)"
    )
    c.add_argument("--baseline", help="a file written by `salcheck baseline save`")
    c.add_argument(
        "--tolerance",
        type=float,
        default=2.0,
        help="allowed drop below the baseline, in baseline seed sd (default 2)",
    )
    add_arguments(c, ("tier", "network", "store", "workers", "device"))
    c.set_defaults(func=cmd_check)

    b = sub.add_parser("baseline", help="save a method's scores to compare later runs against")
    b.add_argument("action", choices=["save"], help="save: write the method's scores to FILE")
    b.add_argument("method", help="a catalogue name or MODULE:OBJECT")
    b.add_argument("file", help="the baseline file (JSON) to write")
    add_arguments(b, ("tier", "network", "store"))
    b.set_defaults(func=cmd_baseline)


def _add_store_commands(sub: Any) -> None:
    s = sub.add_parser("status", help="list the cells in a store with their state and numbers")
    add_arguments(s, ("store",))
    s.set_defaults(func=cmd_status)

    st = sub.add_parser("store", help="export a store's results to a bundle, or import one")
    st.add_argument(
        "action", choices=["export", "import"], help="export the store to FILE, or import FILE"
    )
    st.add_argument("file", help="the bundle (.tar.gz)")
    st.add_argument("--no-weights", action="store_true", help="export: leave the weights out")
    st.add_argument(
        "--tier", help="export: only what this tier's report reads (its models and evaluations)"
    )
    st.add_argument(
        "--keep-existing",
        action="store_true",
        help="import: keep the store's result where the bundle's differs, import the rest",
    )
    add_arguments(st, ("store",))
    st.set_defaults(func=cmd_store)

    z = sub.add_parser(
        "zoo", help="the committed model zoo: what it holds, whether it is intact, adding to it"
    )
    z.add_argument(
        "action",
        choices=["status", "verify", "add", "fetch"],
        help="status: what it holds; verify: every file; add: copy from --store; fetch: take a "
        "commit's zoo/<tier>/ from --source",
    )
    z.add_argument(
        "--zoo",
        help="the zoo folder (default $SALCHECK_ZOO, else the checkout's zoo/, else the user cache "
        "that fetch fills)",
    )
    z.add_argument("--source", help="fetch: salcheck's git repository (a URL or a path)")
    z.add_argument("--ref", help="fetch: the commit (or tag) whose zoo/<tier>/ to take; pin a commit")
    add_arguments(z, ("tier", "network", "store", "seeds"))
    z.set_defaults(func=cmd_zoo)


COMMANDS = [
    _add_generate,
    _add_run,
    _add_report,
    _add_benchmark,
    _add_networks,
    _add_protocol,
    _add_dose,
    _add_verdicts,
    _add_check,
    _add_store_commands,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salcheck", description="Property checks for saliency methods on simulated phantoms."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    apply_no_zoo(bool(getattr(args, "no_zoo", False)))
    try:
        return int(args.func(args))
    except SalcheckError as exc:
        print(f"salcheck {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"salcheck {args.command}: interrupted; finished results are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
