"""A training run's resumable state on disk: written after each finished epoch, read on restart.

One safetensors file holds every tensor exactly as it is (float32 stays float32): the network's
state (``model.<name>``), the Adam optimiser's per-parameter state (``optim.<i>.<field>``:
``step``, ``exp_avg``, ``exp_avg_sq``), each selection rule's kept state
(``best.<selection>.<name>``) and the generators' states (``gen.shuffle``, ``gen.augment``,
``gen.dropout.<module>``). Everything else is one JSON string in the file's metadata
(:data:`META_KEY`): the epoch just finished, the history so far, the trajectory's first step
losses and initial-weights sha256, the optimiser's param groups and scalar state, the stop
rule's counters and kept epochs, the model's store key and the run's identity (seed,
configuration, data digest). A sha256 over the JSON and every tensor (``"sha256"`` in the
metadata) is checked on reading. No pickle.

Continuing from a checkpoint gives the weights an uninterrupted run gives, bit for bit, on the
same machine (same device, library versions and thread count). The file is written atomically
(:func:`salcheck.atomic.write_bytes`), so a kill leaves the previous checkpoint or none. A
checkpoint that cannot be read, fails its checksum, or belongs to another model or run is
ignored with a warning: training starts afresh, it never trusts it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import safetensors.torch
import torch

import salcheck.atomic as atomic
from salcheck.models.networks import GeneratorDropout
from salcheck.training.stopping import Checkpoint, StopRule

if TYPE_CHECKING:
    from salcheck.training.loop import Run

#: Bump when the checkpoint's layout changes: a checkpoint of another format is ignored.
CHECKPOINT_FORMAT = 1
#: The safetensors metadata key of the JSON part.
META_KEY = "salcheck.checkpoint"

Tensors = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Resumed:
    """What a restored run continues from: the epoch it finished and its history so far."""

    epoch: int
    history: list[dict[str, float]]


def state_sha256(state: dict[str, torch.Tensor]) -> str:
    """sha256 over a state dict's names, dtypes, shapes and bytes (in name order)."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def run_identity(run: Run, seed: int) -> dict[str, Any]:
    """What besides the store key a checkpoint must match: the seed, the configuration (with
    the device it runs on) and a digest of the run's data (training and validation split)."""
    config = dataclasses.asdict(run.config) | {"device": run.x_train.device.type}
    data = {"x_train": run.x_train, "y_train": run.y_train, "x_val": run.x_val, "y_val": run.y_val}
    identity = {"seed": int(seed), "config": config, "data_sha256": state_sha256(data)}
    normalised: dict[str, Any] = json.loads(json.dumps(identity, sort_keys=True))
    return normalised


@dataclass
class CheckpointFile:
    """The checkpoint of one run: where it lies, the model's store key, the run's identity."""

    path: Path
    key: str
    identity: dict[str, Any]

    def save(self, run: Run, rule: StopRule, history: list[dict[str, float]], epoch: int) -> None:
        """Write the run's state after ``epoch`` (atomically, replacing the previous one)."""
        tensors = _tensors(run, rule)
        meta = {
            "format": CHECKPOINT_FORMAT,
            "key": self.key,
            "identity": self.identity,
            "epoch": int(epoch),
            "history": history,
            "steps": list(run.steps),
            "init_sha256": run.init_sha256,
            "optimiser": _optimiser_meta(run.optimiser),
            "rule": _rule_meta(rule),
        }
        text = json.dumps(meta, sort_keys=True)
        metadata = {META_KEY: text, "sha256": _digest(text, tensors)}
        atomic.write_bytes(self.path, _save_tensors(tensors, metadata))

    def load(self, run: Run, rule: StopRule, warn: Callable[[str], None]) -> Resumed | None:
        """Restore ``run`` and ``rule`` from the checkpoint; None (warned, unless there is no
        file) when there is none to trust. After None with a file present, ``run`` and ``rule``
        may be partly restored: the caller starts fresh ones."""
        try:
            tensors, meta = read(self.path)
        except FileNotFoundError:
            return None
        except Exception as exc:  # truncated, corrupted, unreadable: never a crash
            warn(f"checkpoint {self.path} is unreadable ({type(exc).__name__}: {exc}); {_AFRESH}")
            return None
        why = self._refusal(meta)
        if why is not None:
            warn(f"checkpoint {self.path} {why}; {_AFRESH}")
            return None
        try:
            return _restore(tensors, meta, run, rule)
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            warn(f"checkpoint {self.path} does not fit this run ({why}); {_AFRESH}")
            return None

    def _refusal(self, meta: Mapping[str, Any]) -> str | None:
        if meta.get("format") != CHECKPOINT_FORMAT:
            return f"has format {meta.get('format')!r}, not {CHECKPOINT_FORMAT}"
        if meta.get("key") != self.key:
            return f"was written for model {meta.get('key')!r}, not {self.key!r}"
        if meta.get("identity") != self.identity:
            return "was written for another run (seed, configuration, device or data differ)"
        return None


_AFRESH = "it is ignored and training starts from the first epoch"


def read(path: Path) -> tuple[Tensors, dict[str, Any]]:
    """(tensors, metadata JSON) of a checkpoint file, its checksum verified; raises on any fault."""
    data = Path(path).read_bytes()
    tensors = safetensors.torch.load(data)
    n = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8 : 8 + n])["__metadata__"]
    text = metadata[META_KEY]
    if metadata["sha256"] != _digest(text, tensors):
        raise ValueError("checksum mismatch")
    meta = json.loads(text)
    if not isinstance(meta, dict):
        raise TypeError(f"metadata is a {type(meta).__name__}, not an object")
    return tensors, meta


def _save_tensors(tensors: Tensors, metadata: dict[str, str]) -> bytes:
    return safetensors.torch.save(tensors, metadata=metadata)


def _digest(text: str, tensors: Tensors) -> str:
    return hashlib.sha256(f"{text}\n{state_sha256(tensors)}".encode()).hexdigest()


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", copy=True).contiguous()


def _dropouts(run: Run) -> dict[str, torch.Generator]:
    return {
        name: m.generator
        for name, m in run.model.named_modules()
        if isinstance(m, GeneratorDropout) and m.generator is not None
    }


def _tensors(run: Run, rule: StopRule) -> Tensors:
    out = {f"model.{k}": _cpu(v) for k, v in run.model.state_dict().items()}
    for i, fields in run.optimiser.state_dict()["state"].items():
        out |= {f"optim.{i}.{f}": _cpu(v) for f, v in fields.items() if isinstance(v, torch.Tensor)}
    for selection, c in rule.checkpoints.items():
        out |= {f"best.{selection}.{k}": _cpu(v) for k, v in c.state.items()}
    out["gen.shuffle"] = run.shuffle_gen.get_state()
    out["gen.augment"] = run.aug_gen.get_state()
    out |= {f"gen.dropout.{name}": g.get_state() for name, g in _dropouts(run).items()}
    return out


def _optimiser_meta(optimiser: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimiser's param groups, and per parameter its scalar (non-tensor) state and the
    names of its tensor fields."""
    sd = optimiser.state_dict()
    state = {
        str(i): {
            "tensors": sorted(f for f, v in fields.items() if isinstance(v, torch.Tensor)),
            "scalars": {f: v for f, v in fields.items() if not isinstance(v, torch.Tensor)},
        }
        for i, fields in sd["state"].items()
    }
    return {"param_groups": sd["param_groups"], "state": state}


def _rule_meta(rule: StopRule) -> dict[str, Any]:
    return {
        "epochs_run": rule.epochs_run,
        "reason": rule.reason,
        "best_loss": rule._best_loss,
        "bad_epochs": rule._bad_epochs,
        "checkpoints": {
            s: {"epoch": c.epoch, "value": c.value, "names": list(c.state)}
            for s, c in rule.checkpoints.items()
        },
    }


def _restore(tensors: Tensors, meta: Mapping[str, Any], run: Run, rule: StopRule) -> Resumed:
    """Put the checkpoint's state into ``run`` and ``rule`` (raises when it does not fit)."""
    resumed = Resumed(int(meta["epoch"]), [dict(h) for h in meta["history"]])
    if len(resumed.history) != resumed.epoch or resumed.epoch != int(meta["rule"]["epochs_run"]):
        raise ValueError(f"epoch {resumed.epoch} with {len(resumed.history)} history entries")
    current = run.model.state_dict()
    run.model.load_state_dict({k: tensors[f"model.{k}"] for k in current}, strict=True)
    _restore_optimiser(tensors, meta["optimiser"], run.optimiser)
    run.shuffle_gen.set_state(tensors["gen.shuffle"])
    run.aug_gen.set_state(tensors["gen.augment"])
    for name, gen in _dropouts(run).items():
        gen.set_state(tensors[f"gen.dropout.{name}"])
    rules = meta["rule"]
    rule.epochs_run, rule.reason = int(rules["epochs_run"]), rules["reason"]
    rule._best_loss, rule._bad_epochs = float(rules["best_loss"]), int(rules["bad_epochs"])
    rule.checkpoints = {
        s: Checkpoint(
            int(c["epoch"]),
            float(c["value"]),
            {k: _like(current[k], tensors[f"best.{s}.{k}"]) for k in c["names"]},
        )
        for s, c in rules["checkpoints"].items()
    }
    run.steps = [float(x) for x in meta["steps"]]
    run.init_sha256 = str(meta["init_sha256"])
    return resumed


def _like(template: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``value`` on ``template``'s device, with its strides when it has its shape: the fused
    Adam step's float results depend on its state tensors' strides, not only their values."""
    if value.shape != template.shape:
        return value.to(template.device)
    like = torch.empty_like(template, dtype=value.dtype, memory_format=torch.preserve_format)
    return like.copy_(value)


def _restore_optimiser(
    tensors: Tensors, saved: Mapping[str, Any], optimiser: torch.optim.Optimizer
) -> None:
    current = optimiser.state_dict()["param_groups"]
    if len(saved["param_groups"]) != len(current):
        raise ValueError(f"{len(saved['param_groups'])} parameter groups, not {len(current)}")
    groups = [  # JSON made tuples (Adam's betas) lists
        {k: tuple(v) if isinstance(now.get(k), tuple) else v for k, v in group.items()}
        for group, now in zip(saved["param_groups"], current, strict=True)
    ]
    params = [p for group in optimiser.param_groups for p in group["params"]]
    state = {
        int(i): {
            **fields["scalars"],
            **{f: _like(params[int(i)], tensors[f"optim.{i}.{f}"]) for f in fields["tensors"]},
        }
        for i, fields in saved["state"].items()
    }
    optimiser.load_state_dict({"state": state, "param_groups": groups})
