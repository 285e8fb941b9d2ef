"""The ``salcheck`` command line: thin wrappers over the library's stages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import SalcheckError


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=total < 2000 or None, leave=False)


def cmd_generate(args: argparse.Namespace) -> int:
    from .cohort import io, make_cohort, preset

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
        io.save(cohort, args.outdir, format=args.format, overwrite=args.overwrite,
                progress=bar.update)
    print(f"{args.outdir}: {cohort.summary()} (seed {args.seed}, {args.format})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salcheck", description="Property checks for saliency methods on simulated phantoms."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="simulate a cohort of phantoms and write it to OUTDIR")
    g.add_argument("preset", help="homogeneous, heterogeneous, large or test")
    g.add_argument("outdir")
    g.add_argument("--image-size", type=int, help="N, a multiple of 32 (default 128)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--n-per-class", type=int, help="images per label")
    g.add_argument("--mix", type=float, nargs=3, metavar=("ERRORS", "TYPICAL", "ATYPICAL"),
                   help="atrophied shares, summing to 1")
    g.add_argument("--draw", choices=("exact", "random"), help="subtype counts (default exact)")
    g.add_argument("--smoothing", action="store_true", help="Gaussian smoothing per image")
    g.add_argument("--format", choices=("npz", "caps"), default="npz")
    g.add_argument("--overwrite", action="store_true")
    g.set_defaults(func=cmd_generate)
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
