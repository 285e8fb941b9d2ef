"""The model zoo: how small a tier's trained models travel, and whether rounding keeps the numbers.

From ``--store`` (holding a tier's models and the study gradient's evaluations), writes the
tier's bundle with weights as stored and with weights rounded to float16 (``--out``: the
committed zoo), imports the half-precision models alone into a fresh store, evaluates the study
gradient there again, and compares every cell's printed mean ± sd (2 decimals) of a, b, c, b†,
c† with the original's. Then times a new method judged on the imported zoo without training
(``salcheck check METHOD``). Prints one JSON object as its last line: sizes in MB, the printed
values compared and those that changed, and the minutes to judge the new method.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from salcheck.engine.plan import cells_plan, execute, report_plan
from salcheck.report.tier_sections import fmt
from salcheck.science.findings import CRITERIA_KEYS
from salcheck.store.bundle import export_bundle, import_bundle
from salcheck.store.files import Store
from salcheck.store.tiers import get_tier
from salcheck.store.view import ResultsView


def printed(store: Store, tier, cells) -> dict[str, str]:
    """cell/criterion -> the report's printed mean ± sd."""
    view = ResultsView(store, tier, "vanilla")
    return {f"{d}/{v}/{k}": fmt(view.values(d, v, k)) for d, v in cells for k in CRITERIA_KEYS}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tier", default="paper")
    p.add_argument("--store", required=True)
    p.add_argument("--out", required=True, help="where the half-precision zoo bundle is written")
    p.add_argument("--method", default="captum.attr:Saliency", help="the new method to judge")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    tier, store = get_tier(args.tier), Store(args.store)
    plan = report_plan(tier, "vanilla")
    everything = {t.key(plan.test) for t in plan.with_models()}
    models = {s.key() for s in plan.models()}
    cells = tier.cells()
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.tar.gz"
        export_bundle(store, full, weights="full", only=everything)
        export_bundle(store, args.out, weights="half", only=everything)
        weights_only = Path(tmp) / "models.tar.gz"
        export_bundle(store, weights_only, weights="half", only=models)
        fresh = Store(Path(tmp) / "fresh")
        import_bundle(fresh, weights_only)
        execute(cells_plan(tier, cells, methods=["vanilla"]), fresh, workers=args.workers)
        before, after = printed(store, tier, cells), printed(fresh, tier, cells)
        zoo = Store(Path(tmp) / "zoo")
        import_bundle(zoo, args.out)
        t = time.perf_counter()
        check = [sys.executable, "-m", "salcheck.cli", "check", args.method, "--tier", tier.name]
        run = subprocess.run([*check, "--store", str(zoo.root)], capture_output=True, text=True)
        judged = (time.perf_counter() - t) / 60
        trained = [e for e in zoo.scan("models")[0] if e.get("provenance", {}).get("weights") is None]
        print(run.stdout.splitlines()[-1] if run.stdout else run.stderr[-500:], flush=True)
        sizes = {
            "full_mb": full.stat().st_size / 2**20,
            "half_mb": Path(args.out).stat().st_size / 2**20,
        }
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    print(
        json.dumps(
            {
                "tier": tier.name,
                **{k: round(v, 1) for k, v in sizes.items()},
                "printed_values": len(before),
                "changed": changed,
                "new_method": args.method,
                "judge_minutes": round(judged, 1),
                "models_trained_while_judging": len(trained),
            }
        )
    )


if __name__ == "__main__":
    main()
