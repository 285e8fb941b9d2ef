"""``salcheck status``, ``store`` and ``zoo``: what a store holds, moving its results to and
from a bundle, and the committed model zoo (what it holds, whether it is intact, adding to it,
fetching it)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from salcheck.commands.shared import store_of, tier_of
from salcheck.errors import InvalidArgument
from salcheck.options import add_arguments
from salcheck.store.files import KINDS, Store, store_root, zoo_root


def add_status(sub: Any) -> None:
    s = sub.add_parser("status", help="list the cells in a store with their state and numbers")
    add_arguments(s, ("store",))
    s.set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    from salcheck.store.records import Evaluation, ModelResult  # CLI start-up

    store = store_of(args)
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


def add_store(sub: Any) -> None:
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


def cmd_store(args: argparse.Namespace) -> int:
    from salcheck.store.bundle import export_bundle, import_bundle  # CLI start-up

    store = store_of(args)
    if args.action == "export":
        only = None
        if args.tier:  # what the tier's report reads, models and evaluations
            from salcheck.engine.plan import report_plan  # CLI start-up

            plan = report_plan(tier_of(args), "vanilla")
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


def add_zoo(sub: Any) -> None:
    z = sub.add_parser(
        "zoo", help="the committed model zoo: what it holds, whether it is intact, adding to it"
    )
    z.add_argument(
        "action",
        choices=["status", "verify", "add", "fetch", "pack"],
        help="status: what it holds; verify: every file; add: copy from --store; fetch: take a "
        "commit's zoo/<tier>/ from --source; pack: keep each group map of --tier once (entries "
        "an earlier salcheck wrote with their maps inline)",
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


def cmd_zoo(args: argparse.Namespace) -> int:
    """``salcheck zoo status | verify | add | fetch | pack``."""
    from salcheck.store import zoo  # CLI start-up

    if args.action == "fetch":
        from salcheck.store.zoo_fetch import fetch  # CLI start-up

        into = Path(args.zoo) if args.zoo else None
        where = fetch(args.source or "", args.ref or "", tier_of(args).tag, into)
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
    if args.action == "pack":
        layer = zoo.tier_dir(root, tier_of(args).tag)
        packed = zoo.pack(layer)
        for problem in packed.problems:
            print(f"  {problem}")
        print(
            f"salcheck zoo: {layer}: {packed.rewritten} entries rewritten to name shared arrays, "
            f"{len(packed.removed)} arrays no entry named removed, {len(packed.problems)} problem(s)"
        )
        return 1 if packed.problems else 0
    if args.action == "add":
        tier = tier_of(args)
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
                "nothing"
                if p["done"] == p["of"]
                else "unknown"
                if p["hours_left"] is None
                else f"about {p['hours_left']:.1f} h on two workers"
            )
            print(
                f"  the {t['tier']} tier's grid: {p['done']} of {p['of']} models "
                f"({p['worker_hours']:.1f} h of training on one worker); left: {left}"
            )
        for cell, seeds in t["cells"].items():
            print(f"  {cell}: seeds {', '.join(map(str, seeds))}")
    return 0
