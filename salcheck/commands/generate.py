"""``salcheck generate``: simulate a cohort of phantoms and write it to a folder."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm


def add_generate(sub: Any) -> None:
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
