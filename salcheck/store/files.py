"""A crash-safe, content-addressed store with one kind of entry per expensive stage.

Layout: ``<root>/v<STORE_FORMAT_VERSION>/<kind>/<key>.json`` (kinds: ``models``, the parts
of an evaluation ``features``, ``maps``, ``randomisation``, and ``checks``), each file
``{"sha256": ..., "entry": ...}`` with the checksum of the canonical JSON verified on every
read; a model's weights lie beside it as ``<key>.safetensors`` with their sha256 in the entry.
Loading is plain JSON and safetensors: no pickle anywhere.

A store reads through to read-only *layers* (the committed model zoo, :mod:`salcheck.store.zoo`)
laid out the same way: an entry or blob the store lacks is read from the first layer that holds
it, checked exactly as the store's own, and never written there; what is computed goes to the
store. A layer keeps each group map once, however many of its evaluations hold it
(:data:`ARRAYS`); reading an entry puts its maps back (:func:`inline_arrays`), so a layer's
entry reads exactly as the store's.
Files are written atomically (temporary file, fsync, rename), so a crash or ``kill -9`` leaves
the old state or the whole new file. A per-entry lock (``fcntl.flock``) makes two processes
sharing a store wait for each other instead of computing the same entry twice. Every read
checks the entry as a record of its kind (:func:`salcheck.store.records.check_entry`: its
schema, and in ``get`` its key against its content), so every reader sees valid records only.
An entry that fails (checksum, JSON, schema, key) is corrupted: ``get`` reports it, sets it
aside as ``<key>.corrupt`` and returns None, so it is recomputed; ``scan`` lists it with why.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import salcheck.atomic as atomic
from salcheck.errors import StoreError

#: Bump when the store's layout changes.
STORE_FORMAT_VERSION = 5
#: The suffix of a model's weights file (safetensors).
BLOB_SUFFIX = ".safetensors"
KINDS = ("models", "features", "maps", "randomisation", "checks")

Payload = dict[str, Any]
#: A layer's folder of shared arrays: ``<layer>/arrays/<sha256>.json``, each the JSON form of one
#: array (:func:`salcheck.store.schema.encode_array`) named by the sha256 of its text. An
#: evaluation in a layer names its group maps as ``{"array": <sha256>}``: the Sobel and
#: constant maps are one per test set and the untrained network's one per seed, so the zoo
#: keeps them once instead of once per model.
ARRAYS = "arrays"
#: What reading a corrupted entry raises (InvalidRecord is a ValueError).
CORRUPTED = (ValueError, KeyError, TypeError, RecursionError)


def default_store() -> Path:
    """``$SALCHECK_STORE``, else ``$XDG_CACHE_HOME/salcheck`` (``~/.cache/salcheck``)."""
    if os.environ.get("SALCHECK_STORE"):
        return Path(os.environ["SALCHECK_STORE"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "salcheck"


def store_root(path: str | os.PathLike[str] | None) -> Path:
    """The store directory a command uses: ``path``, else the default."""
    return Path(path) if path else default_store()


def checksum(payload: Payload) -> str:
    """sha256 of the canonical JSON of ``payload``."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class Store:
    """Entries by (kind, key). ``Store(root)`` checks that the root is writable."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        warn: Callable[[str], None] | None = None,
        layers: Sequence[str | os.PathLike[str]] | None = None,
    ) -> None:
        """``layers``: read-only folders of the same layout read after the store (default: the
        zoo's, :func:`zoo_layers`; ``()`` reads none)."""
        self.root = Path(root) if root is not None else default_store()
        self.dir = self.root / f"v{STORE_FORMAT_VERSION}"
        self.warn = warn or (lambda msg: print(f"salcheck store: {msg}", file=sys.stderr))
        if layers is None:
            layers = zoo_layers()
        self.layers = [Path(p) for p in layers]
        try:
            for kind in KINDS:
                (self.dir / kind).mkdir(parents=True, exist_ok=True)
            probe = self.dir / f".probe-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            msg = (
                f"store {self.root} is not writable ({exc.strerror or exc}); choose another "
                "with --store DIR or SALCHECK_STORE"
            )
            raise StoreError(msg) from exc

    def path(self, kind: str, key: str, suffix: str = ".json") -> Path:
        if kind not in KINDS:
            msg = f"unknown store kind {kind!r}; accepted: {', '.join(KINDS)}"
            raise StoreError(msg)
        return self.dir / kind / f"{key}{suffix}"

    def get(self, kind: str, key: str) -> Payload | None:
        """The stored entry, else the first layer's that holds a valid one, or None (missing,
        or corrupted: reported, and set aside in the store; a layer is never written)."""
        path = self.path(kind, key)
        try:
            return _valid(kind, key, _read(path))
        except FileNotFoundError:
            return self._layer_get(kind, key)
        except CORRUPTED as exc:
            self.warn(
                f"corrupted entry {kind}/{path.name} ({exc}); it is set aside as "
                f"{path.stem}.corrupt and recomputed"
            )
            with contextlib.suppress(FileNotFoundError):
                os.replace(path, path.with_suffix(".corrupt"))
            return self._layer_get(kind, key)

    def _layer_get(self, kind: str, key: str) -> Payload | None:
        for layer in self.layers:
            path = layer / kind / f"{key}.json"
            try:
                return _valid(kind, key, read_layer_entry(layer, path))
            except FileNotFoundError:
                continue
            except CORRUPTED as exc:
                self.warn(f"corrupted zoo entry {path} ({exc}); it is computed afresh into the store")
        return None

    def put(self, kind: str, key: str, entry: Payload) -> Path:
        """Write ``entry`` atomically with its checksum; returns its path."""
        path = self.path(kind, key)
        atomic.write_text(path, entry_json(entry))
        return path

    def put_blob(self, kind: str, key: str, data: bytes) -> str:
        """Write a binary companion (a model's weights) atomically; returns its sha256."""
        atomic.write_bytes(self.path(kind, key, BLOB_SUFFIX), data)
        return hashlib.sha256(data).hexdigest()

    def get_blob(self, kind: str, key: str, sha256: str | None) -> bytes | None:
        """The companion's bytes (the store's, else a layer's) matching ``sha256``, or None
        when none is there or none matches (reported)."""
        if sha256 is None:
            return None
        own = self.path(kind, key, BLOB_SUFFIX)
        if own.exists():
            data = own.read_bytes()
            if hashlib.sha256(data).hexdigest() == sha256:
                return data
            self.warn(f"corrupted blob {kind}/{own.name}; it is set aside as {own.stem}.corrupt-blob")
            with contextlib.suppress(FileNotFoundError):
                os.replace(own, own.with_suffix(".corrupt-blob"))
        for layer in self.layers:  # a zoo's weights of another entry are not corrupted: skipped
            path = layer / kind / f"{key}{BLOB_SUFFIX}"
            if path.exists() and hashlib.sha256(data := path.read_bytes()).hexdigest() == sha256:
                return data
        return None

    @contextlib.contextmanager
    def lock(self, kind: str, key: str) -> Iterator[None]:
        """Hold the entry's lock (blocks while another process holds it)."""
        with open(self.path(kind, key, ".lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def get_or_compute(
        self, kind: str, key: str, compute: Callable[[], Payload], *, usable: Callable[[Payload], bool]
    ) -> tuple[Payload, bool]:
        """The stored entry when ``usable``, else ``compute()`` stored. Returns (entry, cached).

        Only one process computes a given entry at a time; the second finds it stored.
        """
        for cached in (self.get(kind, key), self._layer_get(kind, key)):
            if cached is not None and usable(cached):  # a failed entry hides no finished one
                return cached, True
        with self.lock(kind, key):
            cached = self.get(kind, key)  # another process may have finished it meanwhile
            if cached is not None and usable(cached):
                return cached, True
            entry = compute()
            self.put(kind, key, entry)
            return entry, False

    def scan(self, kind: str) -> tuple[list[Payload], list[str]]:
        """Every valid record of ``kind``, and ``"kind/name (why)"`` of each corrupted entry
        (left in place; ``get`` sets it aside) and of each one already set aside."""
        good, bad = [], []
        for path in sorted(self.path(kind, "x").parent.glob("*.json")):
            try:
                good.append(_valid(kind, None, _read(path)))
            except CORRUPTED as exc:
                bad.append(f"{kind}/{path.name} ({exc})")
        bad += [
            f"{kind}/{p.name} (set aside)" for p in sorted(self.path(kind, "x").parent.glob("*.corrupt"))
        ]
        return good, bad

    def items(
        self, kind: str, on_bad: Callable[[str], None] | None = None
    ) -> Iterator[tuple[str, Payload]]:
        """(key, entry) of every valid record of ``kind``; each corrupted one is skipped (and
        passed to ``on_bad`` as ``"kind/name (why)"``)."""
        for path in sorted(self.path(kind, "x").parent.glob("*.json")):
            try:
                yield path.stem, _valid(kind, None, _read(path))
            except CORRUPTED as exc:
                if on_bad is not None:
                    on_bad(f"{kind}/{path.name} ({exc})")

    def other_versions(self) -> list[str]:
        """Store-format versions present in the root other than this one."""
        return sorted(
            p.name
            for p in self.root.glob("v*")
            if p.is_dir() and p != self.dir and any(p.rglob("*.json"))
        )


def entry_json(entry: Payload) -> str:
    """The text of an entry's file: ``{"sha256": ..., "entry": ...}`` (the store's and the zoo's)."""
    return json.dumps({"sha256": checksum(entry), "entry": entry}, sort_keys=True)


def _valid(kind: str, key: str | None, entry: Any) -> Payload:
    """``entry`` if it is a valid record of ``kind`` (under ``key``, unless None)."""
    from salcheck.store.records import check_entry  # start-up: keeps torch off salcheck.options

    check_entry(kind, key, entry)
    return entry


def _read(path: Path) -> Payload:
    return checked(json.loads(path.read_text()))


def checked(data: Any) -> Payload:
    """The entry of a file's parsed JSON ``{"sha256", "entry"}``, its checksum verified."""
    entry = data["entry"]
    if data["sha256"] != checksum(entry):
        raise ValueError("checksum mismatch")
    return entry


def array_text(encoded: Payload) -> str:
    """The text of a shared array file (canonical JSON); its name is :func:`array_name` of it."""
    return json.dumps(encoded, sort_keys=True)


def array_name(data: str | bytes) -> str:
    """The name of a shared array file: the sha256 of its bytes (UTF-8 for text)."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def is_array_reference(value: Any) -> bool:
    """Whether ``value`` names a shared array (``{"array": <sha256>}``) instead of holding one."""
    return isinstance(value, dict) and set(value) == {"array"}


def array_references(entry: Any) -> list[Any]:
    """The shared arrays an entry names (none when it is not an entry with a dict of maps)."""
    maps = entry.get("maps") if isinstance(entry, dict) else None
    if not isinstance(maps, dict):
        return []
    return [v["array"] for v in maps.values() if is_array_reference(v)]


def read_array(layer: Path, sha256: Any, cache: dict[str, Payload] | None = None) -> Payload:
    """The JSON form of the shared array ``sha256`` of ``layer`` (kept in ``cache`` when given);
    ValueError when the name is not a sha256, the file is missing, or its bytes are not the ones
    its name hashes, or not an object's JSON."""
    if cache is not None and sha256 in cache:
        return cache[sha256]
    if not isinstance(sha256, str) or len(sha256) != 64 or set(sha256) - set("0123456789abcdef"):
        raise ValueError(f"an array reference must be a sha256 (64 hex digits), got {sha256!r}")
    where = f"{ARRAYS}/{sha256[:12]}..."
    try:
        data = (layer / ARRAYS / f"{sha256}.json").read_bytes()
    except FileNotFoundError:
        raise ValueError(f"its array {where} is missing") from None
    if array_name(data) != sha256:
        raise ValueError(f"its array {where} does not match its name")
    encoded = json.loads(data)
    if not isinstance(encoded, dict):
        raise ValueError(f"its array {where} is not an array's JSON form (an object)")
    if cache is not None:
        cache[sha256] = encoded
    return encoded


def inline_arrays(layer: Path, entry: Any, cache: dict[str, Payload] | None = None) -> Any:
    """``entry`` (read from ``layer``) with each group map it names read from the layer's
    :data:`ARRAYS`; anything that names none (not an entry, no maps) is returned as it is, for
    the record check to judge."""
    if not array_references(entry):
        return entry
    inlined = {
        k: read_array(layer, v["array"], cache) if is_array_reference(v) else v
        for k, v in entry["maps"].items()
    }
    return {**entry, "maps": inlined}


def read_layer_entry(layer: Path, path: Path) -> Payload:
    """The entry of a layer's file, checksum checked and its shared arrays put back."""
    return inline_arrays(layer, _read(path))


#: The environment variable naming the zoo folder (``none``: no zoo).
ZOO_ENV = "SALCHECK_ZOO"
NO_ZOO = "none"


def cache_root() -> Path:
    """The user cache's zoo folder that ``salcheck zoo fetch`` fills:
    ``$XDG_CACHE_HOME/salcheck/zoo`` (default ``~/.cache/salcheck/zoo``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "salcheck" / "zoo"


def zoo_root() -> Path | None:
    """The zoo folder in use: ``$SALCHECK_ZOO`` (None when it is ``none``), else the source
    checkout's ``zoo/`` when there is one, else the user cache that ``salcheck zoo fetch``
    fills (:func:`cache_root`) when it holds a tier."""
    env = os.environ.get(ZOO_ENV)
    if env is not None:
        return None if env.strip().lower() in (NO_ZOO, "") else Path(env)
    here = Path(__file__).resolve().parents[2] / "zoo"
    if here.is_dir():
        return here
    cache = cache_root()
    return cache if zoo_layers(cache) else None


def zoo_layers(root: Path | None = None) -> list[Path]:
    """Every tier folder of the zoo (``root``, default :func:`zoo_root`), in name order."""
    root = zoo_root() if root is None else root
    if root is None or not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "models").is_dir())
