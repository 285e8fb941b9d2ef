"""A crash-safe, content-addressed store of cell results.

Layout: ``<root>/v<RESULT_FORMAT_VERSION>/<key>.json``, one file per cell, named by the hash of
its :class:`ExperimentSpec`. Each file holds ``{"sha256": ..., "result": ...}``, the checksum
taken over the canonical JSON of the result and verified on every read; loading is plain JSON
(nothing is ever unpickled). Files are written atomically (temporary file, fsync, rename), so a
crash or ``kill -9`` leaves either the old state or the whole new file. A per-cell lock
(``fcntl.flock`` on ``<key>.lock``) makes two processes sharing a store wait for each other
instead of training the same cell twice. A corrupted file is reported, set aside as
``<key>.corrupt`` and recomputed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from . import atomic
from .errors import StoreError
from .experiment import RESULT_FORMAT_VERSION, ExperimentSpec, RunResult


def default_store() -> Path:
    """``$SALCHECK_STORE``, else ``$XDG_CACHE_HOME/salcheck`` (``~/.cache/salcheck``)."""
    if os.environ.get("SALCHECK_STORE"):
        return Path(os.environ["SALCHECK_STORE"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "salcheck"


def _checksum(result: dict) -> str:
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


class Store:
    """Results of cells, keyed by spec hash. ``Store(root)`` checks the root is writable."""

    def __init__(self, root: str | os.PathLike[str] | None = None, *,
                 warn: Callable[[str], None] | None = None) -> None:
        self.root = Path(root) if root is not None else default_store()
        self.dir = self.root / f"v{RESULT_FORMAT_VERSION}"
        self.warn = warn or (lambda msg: print(f"salcheck store: {msg}", file=sys.stderr))
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            probe = self.dir / f".probe-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            msg = f"store {self.root} is not writable ({exc.strerror or exc}); choose another " \
                  "with --store DIR or SALCHECK_STORE"
            raise StoreError(msg) from exc

    def path(self, spec: ExperimentSpec) -> Path:
        return self.dir / f"{spec.key()}.json"

    def get(self, spec: ExperimentSpec) -> RunResult | None:
        """The stored result of ``spec``, or None (missing, or corrupted and set aside)."""
        path = self.path(spec)
        try:
            data = json.loads(path.read_text())
            result = data["result"]
            if data["sha256"] != _checksum(result):
                raise ValueError("checksum mismatch")
            return RunResult.from_dict(result)
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            self.warn(f"corrupted entry {path.name} for {spec.label()} ({exc}); it is set aside "
                      f"as {path.stem}.corrupt and recomputed")
            with contextlib.suppress(FileNotFoundError):
                os.replace(path, path.with_suffix(".corrupt"))
            return None

    def put(self, result: RunResult) -> Path:
        """Write ``result`` atomically; returns its path."""
        payload = result.to_dict()
        text = json.dumps({"sha256": _checksum(payload), "result": payload}, sort_keys=True)
        path = self.path(result.spec)
        atomic.write_text(path, text)
        return path

    def weights_path(self, spec: ExperimentSpec) -> Path:
        return self.dir / f"{spec.key()}.pt"

    def put_weights(self, spec: ExperimentSpec, state_dict: dict) -> str:
        """Write a trained model's tensors atomically; returns their sha256."""
        import io

        import torch

        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buf)
        data = buf.getvalue()
        atomic.write_bytes(self.weights_path(spec), data)
        return hashlib.sha256(data).hexdigest()

    def get_weights(self, spec: ExperimentSpec, sha256: str | None) -> dict | None:
        """The stored tensors of a cell (``weights_only`` load: no arbitrary unpickling),
        or None when missing or when they do not match ``sha256``."""
        import io

        import torch

        path = self.weights_path(spec)
        if sha256 is None or not path.exists():
            return None
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            self.warn(f"corrupted weights {path.name} for {spec.label()}; they are recomputed")
            return None
        return torch.load(io.BytesIO(data), weights_only=True)

    @contextlib.contextmanager
    def lock(self, spec: ExperimentSpec) -> Iterator[None]:
        """Hold the cell's lock (blocks while another process holds it)."""
        with open(self.dir / f"{spec.key()}.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def get_or_run(self, spec: ExperimentSpec, run: Callable[[ExperimentSpec], RunResult], *,
                   need_weights: bool = False) -> tuple[RunResult, bool]:
        """The stored result, or run and store it. Returns (result, came_from_store).

        ``run`` may return (result, state_dict) to store the trained weights too. A stored
        failure is run again; with ``need_weights``, so is a result whose weights are missing.
        Only one process runs a given cell at a time.
        """

        def usable(r: RunResult | None) -> bool:
            return r is not None and r.status == "done" and (
                not need_weights or self.get_weights(spec, r.weights_sha256) is not None)

        cached = self.get(spec)
        if usable(cached):
            return cached, True
        with self.lock(spec):
            cached = self.get(spec)  # another process may have finished it meanwhile
            if usable(cached):
                return cached, True
            result = run(spec)
            if isinstance(result, tuple):
                result, state = result
                if state is not None:
                    result.weights_sha256 = self.put_weights(spec, state)
            self.put(result)
            return result, False

    def results(self) -> list[RunResult]:
        """Every readable result of this format version."""
        out = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                data = json.loads(path.read_text())
                if data["sha256"] == _checksum(data["result"]):
                    out.append(RunResult.from_dict(data["result"]))
            except (ValueError, KeyError, TypeError):
                self.warn(f"corrupted entry {path.name} skipped")
        return out

    def other_versions(self) -> list[str]:
        """Result-format versions present in the root other than this one."""
        return sorted(p.name for p in self.root.glob("v*")
                      if p.is_dir() and p != self.dir and any(p.glob("*.json")))
