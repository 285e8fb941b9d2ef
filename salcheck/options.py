"""The options that say what to compute and where, declared once for the command line
(``--tier``) and the pytest plugin (``--salcheck-tier``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salcheck.store.files import NO_ZOO, ZOO_ENV


def default_workers() -> int:
    """One worker per core (each runs torch with one thread)."""
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Option:
    """One option: its name (``batch_models`` -> ``--batch-models``) and argparse settings."""

    name: str
    help: str
    default: Any = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    nargs: str | None = None
    metavar: str | None = None
    action: str | None = None  # e.g. store_true for a switch

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"help": self.help, "dest": self.name}
        default = self.default() if callable(self.default) else self.default
        for key, value in (
            ("default", default),
            ("type", self.type),
            ("choices", self.choices),
            ("nargs", self.nargs),
            ("metavar", self.metavar),
            ("action", self.action),
        ):
            if value is not None:
                out[key] = value
        return out


OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        Option("tier", "scale of the simulated study: ci, paper or ci3d (volumes) (default ci)", "ci"),
        Option("store", "result store directory (default $SALCHECK_STORE or ~/.cache/salcheck)"),
        Option(
            "method",
            "saliency method: a catalogue name (default vanilla, the study's) or MODULE:OBJECT",
            "vanilla",
        ),
        Option(
            "network",
            "the network of every model: convnet (default, the study's), conv5_fc3, monai:NAME "
            "(DenseNet121, ResNet18, ResNet10; needs salcheck[monai]) or MODULE:OBJECT[@LAYER], "
            "a factory OBJECT(image_size, n_classes) returning a torch.nn.Module (LAYER: the "
            "layer criterion a reads when the module has no features method)",
            metavar="NAME",
        ),
        Option("seeds", "training seeds (default: the tier's)", type=int, nargs="+", metavar="SEED"),
        Option(
            "workers",
            "local worker processes, one torch thread each (default: the CPU count)",
            default_workers,
            type=int,
        ),
        Option(
            "device",
            "where to train and evaluate (default auto: CUDA when present); recorded in provenance",
            "auto",
            choices=("auto", "cpu", "cuda"),
        ),
        Option(
            "batch_models",
            "train up to K seeds of a cell at once as one grouped network (default: 8 on CUDA, 1 "
            "on a CPU, where it is barely faster)",
            type=int,
            metavar="K",
        ),
        Option(
            "no_zoo",
            "read no model zoo: compute every model and evaluation afresh into the store (default: "
            "the committed zoo/ is read before anything is computed; also SALCHECK_ZOO=none)",
            action="store_true",
        ),
        Option("scheduler", "address of a Dask scheduler to run the tasks on"),
        Option("dask_local", "start a Dask LocalCluster of K workers", type=int, metavar="K"),
        Option("out", "output directory (default reports)", "reports"),
        Option("run", "compute what the store lacks first", action="store_true"),
        Option(
            "methods",
            "several saliency methods (catalogue names or MODULE:OBJECT), each evaluated on the "
            "same trained models",
            nargs="+",
            metavar="METHOD",
        ),
        Option(
            "verdicts",
            "recorded verdicts directory (default: properties/verdicts under the rootdir)",
            metavar="DIR",
        ),
        Option(
            "dose",
            "run the whole dose-response study (salcheck dose --run: both routes, the method and "
            "the null maps) and check that the routes fall on one curve; off by default (about "
            "an hour on two workers at the ci tier, cold)",
            action="store_true",
        ),
    )
}
#: What the commands that write a report take beside :data:`RUN`.
REPORT = ("out", "run")
#: What the commands that compute take (and the plugin, but for the Dask options).
RUN = (
    "tier",
    "network",
    "store",
    "method",
    "seeds",
    "workers",
    "device",
    "batch_models",
    "no_zoo",
    "scheduler",
    "dask_local",
)
PLUGIN = (
    *RUN[: RUN.index("scheduler")],
    "verdicts",
    "dose",
)


def apply_no_zoo(no_zoo: bool) -> None:
    """With ``no_zoo``, no store of this process or of the workers it starts reads the zoo."""
    if no_zoo:
        os.environ[ZOO_ENV] = NO_ZOO


def add_arguments(parser: Any, names: tuple[str, ...], **overrides: dict[str, Any]) -> None:
    """Add the named options to an argparse parser (``overrides``: per option, settings that
    differ for this command, e.g. a positional method)."""
    for name in names:
        kwargs = {**OPTIONS[name].kwargs(), **overrides.get(name, {})}
        parser.add_argument(OPTIONS[name].flag, **kwargs)


def add_pytest_options(group: Any, names: tuple[str, ...] = PLUGIN) -> None:
    """Add the named options to a pytest option group as ``--salcheck-<name>``."""
    for name in names:
        option = OPTIONS[name]
        kwargs = option.kwargs()
        kwargs["dest"] = f"salcheck_{name}"
        group.addoption("--salcheck-" + option.flag[2:], **kwargs)
