"""The model zoo: its size, the time to verify it, whether float16 weights change a printed
number, and the time to judge a new method from it.

1. Size: megabytes (10^6 bytes) of the files of ``zoo/<tier>`` (weights and evaluations apart),
   and of the file system's blocks they take (what ``du`` counts).
2. Verify: seconds of ``salcheck zoo verify``'s check of every file.
3. Rounding: the models of ``--cells`` (default: the default cells of homogeneous and
   heterogeneous) are retrained here in float32, as training leaves them, and the study's
   gradient is evaluated on each network before and after rounding to the stored float16; each
   cell's printed mean ± sd (2 decimals) of a, b, c, b†, c† is compared. The retrained float16
   bytes are compared with the zoo's too (identical where the zoo was made: same CPU kind,
   same threads).
4. A new method: the whole property suite (``pytest properties/ --salcheck-method M``) in a
   fresh store that reads the zoo, timed; against it, the same store's models would be trained
   cold (the models' recorded training time, summed, over two workers).
5. A new method's check suite: ``salcheck check M --tier T`` in a fresh store that reads the
   zoo, timed, beside the cold path of the models it reads (their recorded training time,
   summed, over two workers); at the paper tier this is the "judged from the zoo in minutes"
   figure of docs/performance.md.

Prints a line per step, then one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

from salcheck.criteria import EvalProtocol
from salcheck.engine.evaluate import score
from salcheck.engine.train import train_model
from salcheck.models import weights_bytes
from salcheck.models.custom import load_network
from salcheck.report.tier_sections import fmt
from salcheck.saliency.resolve import resolve
from salcheck.science.findings import CRITERIA_KEYS
from salcheck.store import files, zoo
from salcheck.store.files import BLOB_SUFFIX, ZOO_ENV
from salcheck.store.tiers import get_tier


def sizes(folder: Path) -> dict[str, float]:
    """Megabytes (10^6 bytes) of the files, the weights among them, and on disk (the file
    system's blocks, what ``du`` counts)."""
    files_ = [p for p in folder.rglob("*") if p.is_file()]
    weights = sum(p.stat().st_size for p in folder.rglob(f"*{BLOB_SUFFIX}"))
    total = sum(p.stat().st_size for p in files_)
    return {
        "zoo_mb": total / 1e6,
        "weights_mb": weights / 1e6,
        "evaluations_mb": (total - weights) / 1e6,
        "on_disk_mb": sum(p.stat().st_blocks * 512 for p in files_) / 1e6,
    }


def rounding(tier, folder: Path, cells: list[tuple[str, str]]) -> dict[str, object]:
    """Printed values of the study's gradient on float32 and float16 weights, per cell."""
    vanilla, test, protocol = resolve("vanilla"), tier.test(), EvalProtocol()
    values: dict[str, dict[str, list[float]]] = {"float32": {}, "float16": {}}
    identical = 0
    for d, v in cells:
        for seed in tier.seeds:
            spec = tier.spec(d, v, seed)
            torch.set_num_threads(1)  # as the zoo's workers trained
            (_, net), *_ = train_model(spec)
            data = weights_bytes(net)
            stored = folder / "models" / f"{spec.key()}{BLOB_SUFFIX}"
            identical += stored.exists() and stored.read_bytes() == data
            nets = {"float32": net, "float16": load_network(spec.model, spec.image_size, data)}
            for name, n in nets.items():
                crit = {}
                for part in ("features", "maps"):
                    method = vanilla if part == "maps" else None
                    got = score(
                        part, method, n, test.cohort(), spec=spec, test_spec=test, protocol=protocol
                    )
                    crit.update(got.criteria)
                for k in CRITERIA_KEYS:
                    values[name].setdefault(f"{d}/{v}/{k}", []).append(crit[k])
            print(f"rounding: {spec.label()} done", flush=True)
    printed = {name: {k: fmt(x) for k, x in vals.items()} for name, vals in values.items()}
    changed = {
        k: (p, printed["float16"][k])
        for k, p in printed["float32"].items()
        if p != printed["float16"][k]
    }
    return {"printed_values": len(printed["float32"]), "changed": changed, "bytes_identical": identical}


def new_method(tier, method: str, root: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as store:
        cmd = [sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider"]
        cmd += ["--salcheck-method", method, "--salcheck-store", store, "--salcheck-tier", tier.name]
        t = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True, env={**_env(), ZOO_ENV: str(root)})
        minutes = (time.perf_counter() - t) / 60
        trained = len(list(Path(store).rglob(f"models/*{BLOB_SUFFIX}")))
    print(
        f"new method: {run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-300:]}"
    )
    return {"judge_minutes": round(minutes, 2), "models_trained_while_judging": trained}


def check_method(tier, method: str, root: Path) -> dict[str, object]:
    """``salcheck check`` of ``method`` on ``tier`` from the zoo alone: its seconds, the models
    it trained (0 when the zoo holds them) and the minutes those models' training would take
    cold on two workers."""
    with tempfile.TemporaryDirectory() as store:
        cmd = [sys.executable, "-m", "salcheck.cli", "check", method, "--tier", tier.name]
        t = time.perf_counter()
        run = subprocess.run(
            [*cmd, "--store", store], capture_output=True, text=True, env={**_env(), ZOO_ENV: str(root)}
        )
        seconds = time.perf_counter() - t
        trained = len(list(Path(store).rglob(f"models/*{BLOB_SUFFIX}")))
    verdict = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-300:]
    print(f"check: {verdict} in {seconds:.0f} s", flush=True)
    wanted = [asdict(tier.spec("homogeneous", "default", seed)) for seed in tier.seeds]
    # its models trained on two workers, then the same check
    cold = cold_minutes(zoo.tier_dir(root, tier.tag), specs=wanted) * 60 + seconds
    print(f"check: cold, its models trained first on two workers: {cold / 60:.1f} min", flush=True)
    return {
        "check_seconds": round(seconds, 1),
        "check_verdict": verdict,
        "models_trained_while_checking": trained,
        "check_cold_over_zoo": round(cold / seconds, 1),
    }


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def cold_minutes(folder: Path, workers: int = 2, specs: list[dict] | None = None) -> float:
    """The zoo's models' recorded training time, summed, over ``workers``: the cold path; with
    ``specs``, only the models whose recorded spec is one of them."""
    seconds = 0.0
    for path in folder.glob("models/*.json"):
        entry = json.loads(path.read_text())["entry"]
        if specs is None or any(all(w.get(k) == v for k, v in entry["spec"].items()) for w in specs):
            seconds += entry.get("timings", {}).get("train_s", 0.0)
    return seconds / workers / 60


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tier", default="ci")
    p.add_argument("--zoo", help="the zoo folder (default: the checkout's zoo/)")
    p.add_argument("--cells", nargs="*", default=["homogeneous/default", "heterogeneous/default"])
    p.add_argument("--method", default="captum.attr:Saliency", help="the new method to judge")
    p.add_argument("--skip-rounding", action="store_true", help="leave out step 3 (retrains)")
    p.add_argument("--skip-suite", action="store_true", help="leave out step 4 (the property suite)")
    args = p.parse_args()
    tier = get_tier(args.tier)
    root = Path(args.zoo) if args.zoo else files.zoo_root()
    if root is None:
        raise SystemExit("no zoo folder: give --zoo DIR")
    folder = zoo.tier_dir(root, tier.tag)
    out: dict[str, object] = {"tier": tier.name, **{k: round(v, 1) for k, v in sizes(folder).items()}}
    found = zoo.verify(root)
    out.update(verify_seconds=round(found.seconds, 1), verify_ok=found.ok)
    print(f"verify: {found.seconds:.1f} s, {'intact' if found.ok else found.problems[:3]}", flush=True)
    if not args.skip_suite:
        out.update(new_method(tier, args.method, root), method=args.method)
        out["cold_minutes_on_two_workers"] = round(cold_minutes(folder), 1)
    out.update(check_method(tier, args.method, root))
    if not args.skip_rounding:
        cells = [tuple(c.split("/")) for c in args.cells]
        out.update(rounding(tier, folder, cells))  # type: ignore[arg-type]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
