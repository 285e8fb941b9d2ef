"""The ``salcheck`` command line: thin wrappers over the library's stages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from salcheck.errors import SalcheckError


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=total < 2000 or None, leave=False)


def cmd_generate(args: argparse.Namespace) -> int:
    from salcheck.cohort import io, make_cohort, preset

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
    with _progress(n, "render") as bar:
        cohort = make_cohort(spec, args.seed, progress=bar.update)
    with _progress(n if args.format == "caps" else 0, "write") as bar:
        io.save(cohort, args.outdir, format=args.format, overwrite=args.overwrite, progress=bar.update)
    print(f"{args.outdir}: {cohort.summary()} (seed {args.seed}, {args.format})")
    return 0


def _store(args: argparse.Namespace):
    from salcheck.engine.runner import store_root
    from salcheck.store.files import Store

    return Store(store_root(args.store))


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from salcheck.engine.runner import check_workers, run_grid
    from salcheck.saliency.resolve import resolve_method
    from salcheck.store.tiers import get_tier

    tier = get_tier(args.tier)
    check_workers(args.workers)
    specs = tier.grid(args.datasets, args.variants, args.seeds)
    methods = args.methods or [args.method]
    for m in methods:
        resolve_method(m)  # fail before any training on a method that cannot be imported
    store = _store(args)  # fails before any training when the store is not writable
    print(
        f"salcheck run: {len(specs)} models x {len(methods)} method(s) at tier {tier.name} "
        f"into {store.root}"
    )
    failed = 0
    with tqdm(total=len(specs) * (1 + len(methods)), unit="step", desc="grid", disable=None) as bar:

        def on_cell(outcome):
            nonlocal failed
            failed += outcome.status != "done"
            bar.update(1)
            bar.write(outcome.line())

        outcomes = run_grid(
            specs,
            store,
            test=tier.test(),
            methods=methods,
            workers=args.workers,
            scheduler=args.scheduler,
            dask_local=args.dask_local,
            device=args.device,
            batch_models=args.batch_models,
            on_cell=on_cell,
        )
    print(f"salcheck run: {len(outcomes) - failed} done, {failed} failed")
    return 1 if failed else 0


def cmd_status(args: argparse.Namespace) -> int:
    from salcheck.store.records import ModelResult, Scores

    store = _store(args)
    models, bad_models = store.scan("models")
    evaluations, bad_evals = store.scan("evaluations")
    for name in bad_models + bad_evals:  # "kind/file (why)": checksum, JSON, not a record
        print(f"CORRUPTED {name}; it is set aside and recomputed when next needed")
    if not models:
        other = store.other_versions()
        hint = f" (results of other store versions: {', '.join(other)})" if other else ""
        print(f"{store.root}: no models{hint}; run `salcheck run --tier ci` to compute some")
        return 1 if bad_models or bad_evals else 0
    by_model: dict[str, list[Scores]] = {}
    for e in evaluations:
        s = Scores.from_dict(e)
        by_model.setdefault(s.model.key(), []).append(s)
    columns = _status_columns()
    print(f"{'model':52} {'state':7} {'method':18} " + " ".join(f"{h:>7}" for _, h in columns))
    records = sorted(
        (ModelResult.from_dict(m) for m in models),
        key=lambda r: (r.spec.image_size, r.spec.dataset, r.spec.variant, r.spec.epochs, r.spec.seed),
    )
    for r in records:
        rows = by_model.get(r.spec.key(), [])
        if not rows or r.status != "done":
            print(f"{r.spec.label():52} {r.status:7} {'-':18}" + (f"  {r.error}" if r.error else ""))
        for s in rows:
            c = s.criteria
            nums = " ".join(f"{c.get(k, float('nan')):>7.2f}" for k, _ in columns)
            print(
                f"{r.spec.label():52} {s.status:7} {s.method[:18]:18} {nums}"
                + (f"  {s.error}" if s.error else "")
            )
    print("; ".join(_legend()))
    return 1 if bad_models or bad_evals else 0


def _status_columns() -> list[tuple[str, str]]:
    """(score key, header) of the criteria on group maps and features, from their metadata."""
    from salcheck.criteria import CRITERIA

    out = []
    for c in CRITERIA:
        info = c.info()
        if info.category in ("features", "group map"):
            out += [(k, k.replace("_dagger", "†")) for k in info.keys]
    return out


def _legend() -> list[str]:
    from salcheck.criteria import CRITERIA

    return [
        f"{i.symbol}: {i.name}, {i.direction} is better, chance {i.chance:g}"
        for i in (c.info() for c in CRITERIA)
        if i.category in ("features", "group map") and i.chance is not None
    ]


def _view(args: argparse.Namespace, *, compute: bool):
    from salcheck.store.tiers import get_tier
    from salcheck.store.view import ResultsView

    return ResultsView(
        _store(args),
        get_tier(args.tier),
        args.method,
        seeds=args.seeds,
        compute=compute,
        workers=args.workers,
        device=args.device,
        batch_models=args.batch_models,
    )


def cmd_report(args: argparse.Namespace) -> int:
    from salcheck.report import render_report

    if args.run:
        run_args = argparse.Namespace(
            **{**vars(args), "datasets": None, "variants": None, "methods": None}
        )
        if cmd_run(run_args):
            print("salcheck report: some cells failed; they are marked missing")
    view = _view(args, compute=False)
    beside = None
    if args.tier != "ci" and args.beside:
        from salcheck.science.verdicts import expected_outcomes

        recorded = expected_outcomes(args.beside, "ci", view.method_name)
        beside = ("ci tier", recorded) if recorded else None
    path = render_report(view, args.out, beside=beside)
    print(f"salcheck report: wrote {path}")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from salcheck.engine.runner import check_workers
    from salcheck.report.methods_page import render_benchmark
    from salcheck.store.tiers import get_tier
    from salcheck.studies.method_benchmark import collect, default_methods

    tier = get_tier(args.tier)
    check_workers(args.workers)
    methods = args.methods or default_methods()
    store = _store(args)
    if args.run:
        print(f"salcheck benchmark: {len(methods)} method(s) at tier {tier.name} into {store.root}")
    bench = collect(
        tier,
        store,
        methods,
        seeds=args.seeds,
        compute=args.run,
        workers=args.workers,
        device=args.device,
        batch_models=args.batch_models,
        on_cell=lambda o: print(o.line(), flush=True),
    )
    path = render_benchmark(bench, args.out)
    print(f"salcheck benchmark: wrote {path}")
    return 0


def cmd_store(args: argparse.Namespace) -> int:
    from salcheck.store.bundle import export_bundle, import_bundle

    store = _store(args)
    if args.action == "export":
        counts = export_bundle(store, args.file, weights=not args.no_weights)
        what = ", ".join(f"{n} {k}" for k, n in counts.items())
        print(f"salcheck store: exported {what} from {store.root} to {args.file}")
        return 0
    summary = import_bundle(store, args.file, keep_existing=args.keep_existing)
    print(f"salcheck store: imported {args.file} into {store.root}: {summary.line()}")
    for c in summary.conflicts:
        print(f"  kept the store's {c}")
    return 0


def cmd_verdicts(args: argparse.Namespace) -> int:
    from salcheck.science.verdicts import build_record, write_record

    view = _view(args, compute=args.run)
    if args.run:
        for cell in view.tier.cells():
            view.scores(*cell)  # the first call computes the whole tier on the workers
    if args.write:
        path = write_record(view, args.write)
        print(f"salcheck verdicts: wrote {path}")
        return 0
    record = build_record(view)
    for key, v in record["verdicts"].items():
        print(f"{v['outcome']:13} {key:42} p = {v['p_forward']:.3g}  {v['claim']}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from salcheck.checks import check_saliency_method, compare_baseline
    from salcheck.saliency.resolve import resolve_method

    method = resolve_method(args.method)
    results = check_saliency_method(method, tier=args.tier, store=_store(args), on_fail=None)
    if args.baseline:
        results.append(
            compare_baseline(
                method, args.baseline, tolerance=args.tolerance, tier=args.tier, store=_store(args)
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
    from salcheck.checks import save_baseline
    from salcheck.saliency.resolve import resolve_method

    data = save_baseline(resolve_method(args.method), args.file, tier=args.tier, store=_store(args))
    print(f"salcheck baseline: wrote {args.file} for {data['method']} (tier {data['tier']})")
    return 0


def _default_workers() -> int:
    import os

    return max(1, os.cpu_count() or 1)


def _add_store(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", help="result store directory (default: $SALCHECK_STORE or ~/.cache/salcheck)"
    )


def _add_execution(p: argparse.ArgumentParser) -> None:
    """Options shared by the commands that may run cells (run, report --run)."""
    p.add_argument(
        "--method",
        default="vanilla",
        help="saliency method: a catalogue name (default vanilla, the study's) or MODULE:OBJECT",
    )
    p.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where to train and evaluate (default auto: CUDA when present); recorded in provenance",
    )
    p.add_argument(
        "--batch-models",
        type=int,
        metavar="K",
        help="train up to K seeds of a cell at once as one grouped network (default: 8 on "
        "CUDA, 1 on a CPU, where it is barely faster)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=_default_workers(),
        help="local worker processes, one torch thread each (default: the CPU count)",
    )
    p.add_argument("--scheduler", help="address of a Dask scheduler to run the cells on")
    p.add_argument("--dask-local", type=int, metavar="K", help="start a Dask LocalCluster of K workers")
    _add_store(p)


def _add_generate(sub) -> None:
    g = sub.add_parser("generate", help="simulate a cohort of phantoms and write it to OUTDIR")
    g.add_argument("preset", help="homogeneous, heterogeneous, large or test")
    g.add_argument("outdir")
    g.add_argument("--image-size", type=int, help="N, a multiple of 32 (default 128)")
    g.add_argument("--seed", type=int, default=0)
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
    g.add_argument("--format", choices=("npz", "caps"), default="npz")
    g.add_argument("--overwrite", action="store_true")
    g.set_defaults(func=cmd_generate)


def _add_run(sub) -> None:
    r = sub.add_parser("run", help="run a grid of dataset x variant x seed cells into a store")
    r.add_argument("--tier", default="ci", help="ci or paper (default ci)")
    r.add_argument("--datasets", nargs="+", help="homogeneous, heterogeneous, large")
    r.add_argument(
        "--variants",
        nargs="+",
        help="default, CropPad, Erasing, Noise, Smoothing, L1, L1Norm, SmoothL1, "
        "MSENorm, or combinations such as Noise+L1 (default: the poster's)",
    )
    r.add_argument("--seeds", nargs="+", type=int, help="training seeds (default: the tier's)")
    r.add_argument(
        "--methods",
        nargs="+",
        metavar="METHOD",
        help="several saliency methods, each evaluated on the same trained models",
    )
    _add_execution(r)
    r.set_defaults(func=cmd_run)


def _add_report(sub) -> None:
    rep = sub.add_parser("report", help="render the poster's tables from the store as Markdown")
    rep.add_argument("--tier", default="ci", help="ci or paper (default ci)")
    rep.add_argument("--out", default="reports", help="output directory (default reports)")
    rep.add_argument("--run", action="store_true", help="compute missing cells first")
    rep.add_argument("--seeds", nargs="+", type=int, help="training seeds (default: the tier's)")
    rep.add_argument(
        "--beside",
        default="properties/verdicts",
        metavar="DIR",
        help="for a tier other than ci, print the ci verdicts recorded under DIR beside its own "
        "(default properties/verdicts)",
    )
    _add_execution(rep)
    rep.set_defaults(func=cmd_report)


def _add_benchmark(sub) -> None:
    b = sub.add_parser(
        "benchmark",
        help="benchmark saliency methods on the same models; writes <out>/<tier>-methods.md",
    )
    b.add_argument("--tier", default="ci", help="ci or paper (default ci)")
    b.add_argument(
        "--methods",
        nargs="+",
        metavar="METHOD",
        help="catalogue names or MODULE:OBJECT (default: every catalogued method; the null "
        "maps are always added)",
    )
    b.add_argument("--out", default="reports", help="output directory (default reports)")
    b.add_argument("--run", action="store_true", help="compute missing evaluations first")
    b.add_argument("--seeds", nargs="+", type=int, help="training seeds (default: the tier's)")
    _add_execution(b)
    b.set_defaults(func=cmd_benchmark)


def _add_verdicts(sub) -> None:
    v = sub.add_parser(
        "verdicts",
        help="decide every comparison from the store; --write records them for the property suite",
    )
    v.add_argument("--tier", default="ci", help="ci or paper (default ci)")
    v.add_argument("--seeds", nargs="+", type=int, help="training seeds (default: the tier's)")
    v.add_argument(
        "--write", metavar="DIR", help="write <tier>-<method>.json under DIR (e.g. properties/verdicts)"
    )
    v.add_argument("--run", action="store_true", help="compute missing cells first")
    _add_execution(v)
    v.set_defaults(func=cmd_verdicts)


def _add_check(sub) -> None:
    c = sub.add_parser("check", help="run the check suite on a saliency method")
    c.add_argument(
        "method", help="a catalogue name, MODULE:OBJECT (a salcheck method or a captum class)"
    )
    c.add_argument("--tier", default="ci", help="ci or paper (default ci)")
    c.add_argument("--baseline", help="a file written by `salcheck baseline save`")
    c.add_argument(
        "--tolerance",
        type=float,
        default=2.0,
        help="allowed drop below the baseline, in baseline seed sd (default 2)",
    )
    _add_store(c)
    c.set_defaults(func=cmd_check)

    b = sub.add_parser("baseline", help="save a method's scores to compare later runs against")
    b.add_argument("action", choices=["save"])
    b.add_argument("method", help="a catalogue name or MODULE:OBJECT")
    b.add_argument("file")
    b.add_argument("--tier", default="ci", help="ci or paper (default ci)")
    _add_store(b)
    b.set_defaults(func=cmd_baseline)


def _add_store_commands(sub) -> None:
    s = sub.add_parser("status", help="list the cells in a store with their state and numbers")
    _add_store(s)
    s.set_defaults(func=cmd_status)

    st = sub.add_parser("store", help="export a store's results to a bundle, or import one")
    st.add_argument("action", choices=["export", "import"])
    st.add_argument("file", help="the bundle (.tar.gz)")
    st.add_argument("--no-weights", action="store_true", help="export: leave the weights out")
    st.add_argument(
        "--keep-existing",
        action="store_true",
        help="import: keep the store's result where the bundle's differs, import the rest",
    )
    _add_store(st)
    st.set_defaults(func=cmd_store)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salcheck", description="Property checks for saliency methods on simulated phantoms."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_generate,
        _add_run,
        _add_report,
        _add_benchmark,
        _add_verdicts,
        _add_check,
        _add_store_commands,
    ):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
