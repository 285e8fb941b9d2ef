"""Portable bundles of results: ``salcheck store export FILE`` and ``salcheck store import FILE``.

A bundle is a gzip'd tar of a store's entries (``entries/<kind>/<key>.json``, each with its own
checksum, as stored), optionally the models' weights (``blobs/models/<key>.safetensors``), and a
``manifest.json`` naming the sha256 of every member, the bundle and store formats, salcheck's
version and commit. Importing checks the whole bundle before writing anything: every member
name, every member against the manifest, every entry as a record of its kind (the schema the
store's readers use), every entry's key against the key recomputed from its content (a model's
spec; an evaluation's identity, :func:`salcheck.store.keys.evaluation_entry_key`), and every
weight file against its entry's ``weights_sha256``. Any failure refuses the whole bundle with
one :class:`BundleError` naming the bundle, the member and what is wrong. A valid entry is
added when the store lacks it, skipped when the store holds the same entry, and replaces a
stored *failed* entry; any other difference is a conflict: nothing is written, and the
conflicts are listed (``keep_existing=True`` imports the rest and keeps the store's). Grids
computed over several runs or machines thus accumulate without overwriting silently.

What the checks cannot see: a bundle is not signed, so an entry whose numbers were changed
and whose checksums were recomputed is accepted into a store that lacks it (a store that holds
it reports a conflict). Export leaves out (with a warning) each entry that import would refuse.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import time
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salcheck import __version__
from salcheck.errors import InvalidRecord, SalcheckError
from salcheck.provenance import git_commit
from salcheck.store.files import CORRUPTED, KINDS, STORE_FORMAT_VERSION, Store, checksum
from salcheck.store.records import check_entry as check_record

#: Bump when the bundle's layout changes.
BUNDLE_FORMAT = 1
_KEY = "[0-9a-f]{24}"
_ENTRY = re.compile(rf"entries/({'|'.join(KINDS)})/({_KEY})\.json")
_BLOB = re.compile(rf"blobs/(models)/({_KEY})\.safetensors")
_NAMES = (
    "manifest.json, entries/<kind>/<key>.json, blobs/models/<key>.safetensors "
    "(kind: {}; key: 24 hex digits)"
)


class BundleError(SalcheckError):
    """A bundle that cannot be read, or whose import would overwrite a different result."""


@dataclass
class ImportSummary:
    added: int = 0
    identical: int = 0
    replaced_failed: int = 0
    weights: int = 0
    conflicts: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.added} added, {self.identical} already there, {self.replaced_failed} failed "
            f"entries replaced, {self.weights} weight files, {len(self.conflicts)} conflicts kept"
        )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _refused(path: str | os.PathLike[str], member: str, what: str) -> BundleError:
    return BundleError(f"bundle {path}: member {member!r} {what}; nothing was imported")


#: How a bundle carries the models' weights: as stored (safetensors, float16), or not at all.
WEIGHTS = ("full", "none")


def export_bundle(
    store: Store,
    path: str | os.PathLike[str],
    *,
    weights: bool | str = "full",
    only: Collection[str] | None = None,
) -> dict[str, int]:
    """Write every entry of ``store`` that import accepts (and its weights: ``full`` or
    ``none``; True and False mean full and none) to the bundle ``path``, atomically; returns
    the number of entries per kind (and ``left out``, each reported through ``store.warn``,
    when some entry would be refused). ``only``: the keys to export (default: every entry)."""
    mode = weights if isinstance(weights, str) else ("full" if weights else "none")
    if mode not in WEIGHTS:
        raise BundleError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")

    members: dict[str, bytes] = {}
    counts = dict.fromkeys(KINDS, 0)
    left_out = 0

    def corrupted(name: str) -> None:
        nonlocal left_out
        left_out += 1
        store.warn(f"{name} is left out of the bundle: it is corrupted")

    for kind in KINDS:
        for key, entry in store.items(kind, on_bad=corrupted):
            if only is not None and key not in only:
                continue
            try:
                check_entry(kind, key, entry)
            except InvalidRecord as exc:
                left_out += 1
                store.warn(f"{kind}/{key} is left out of the bundle: {exc}")
                continue
            counts[kind] += 1
            members[f"entries/{kind}/{key}.json"] = json.dumps(
                {"sha256": checksum(entry), "entry": entry}, sort_keys=True
            ).encode()
            blob = store.get_blob(kind, key, entry.get("weights_sha256")) if mode != "none" else None
            if blob is not None:  # a corrupted blob is reported by get_blob and left out
                members[f"blobs/{kind}/{key}.safetensors"] = blob
    manifest = {
        "bundle_format": BUNDLE_FORMAT,
        "store_format": STORE_FORMAT_VERSION,
        "weights": mode,
        "salcheck": __version__,
        "commit": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "members": {name: _sha(data) for name, data in sorted(members.items())},
    }
    _write_tar(Path(path), {"manifest.json": json.dumps(manifest, indent=1).encode(), **members})
    return {**counts, "left out": left_out} if left_out else counts


def _write_tar(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, tarfile.open(fileobj=f, mode="w:gz") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data), 0
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_members(path: str | os.PathLike[str]) -> dict[str, bytes]:
    """name -> bytes of every member, each a regular file with an accepted name, once."""
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for info in tar:
                name = info.name
                if name != "manifest.json" and not (_ENTRY.fullmatch(name) or _BLOB.fullmatch(name)):
                    raise _refused(path, name, f"has no accepted name; accepted: {_NAMES.format(KINDS)}")
                if not info.isfile():
                    raise _refused(path, name, "is not a regular file (a link or a directory)")
                if name in members:
                    raise _refused(path, name, "appears twice")
                f = tar.extractfile(info)
                members[name] = f.read() if f is not None else b""
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        msg = f"cannot read bundle {path}: {exc} (truncated or not a salcheck bundle?)"
        raise BundleError(msg) from exc
    return members


def _manifest(path: str | os.PathLike[str], data: bytes | None) -> dict[str, Any]:
    """The manifest, checked: its formats, and a sha256 per member."""
    try:
        manifest = json.loads(data if data is not None else b"")
        expected = manifest["members"]
        if not isinstance(expected, dict) or not all(isinstance(v, str) for v in expected.values()):
            raise TypeError(f"members must map each name to a sha256, got {str(expected)[:60]}")
    except (KeyError, ValueError, TypeError) as exc:
        raise BundleError(f"bundle {path} has no readable manifest.json ({exc!r})") from exc
    for what, accepted in (("bundle_format", BUNDLE_FORMAT), ("store_format", STORE_FORMAT_VERSION)):
        if manifest.get(what) != accepted:
            msg = f"bundle {path} has {what} {manifest.get(what)!r}; this salcheck reads {accepted}"
            raise BundleError(msg)
    if manifest.setdefault("weights", "full") not in WEIGHTS:
        msg = f"bundle {path} has weights {manifest['weights']!r}; accepted: {', '.join(WEIGHTS)}"
        raise BundleError(msg)
    return manifest


def read_bundle(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(manifest, members), every member name checked and every member checked against the
    manifest's sha256."""
    members = _read_members(path)
    manifest = _manifest(path, members.pop("manifest.json", None))
    expected = manifest["members"]
    missing = sorted(set(expected) - set(members))
    extra = sorted(set(members) - set(expected))
    bad = sorted(n for n in set(expected) & set(members) if _sha(members[n]) != expected[n])
    if missing or extra or bad:
        msg = f"bundle {path} is corrupted: members {missing} missing, {extra} unlisted, {bad} altered"
        raise BundleError(msg)
    return manifest, members


def check_entry(kind: str, key: str, entry: Any) -> None:
    """Raise InvalidRecord unless ``entry`` is a valid record of ``kind`` whose content gives
    ``key`` (:func:`salcheck.store.records.check_entry`)."""
    check_record(kind, key, entry)


def _entries(path: str | os.PathLike[str], members: dict[str, bytes]) -> list[tuple[str, str, Any]]:
    """(kind, key, entry) of every entry member, each checked (see the module docstring)."""
    out = []
    for name, data in sorted(members.items()):
        match = _ENTRY.fullmatch(name)
        if match is None:
            continue
        kind, key = match.groups()
        try:
            stored = json.loads(data)
            entry = stored["entry"]
            if stored["sha256"] != checksum(entry) or set(stored) != {"sha256", "entry"}:
                raise InvalidRecord("is not {sha256, entry} with the entry's checksum")
            check_entry(kind, key, entry)
        except CORRUPTED as exc:
            raise _refused(
                path, name, f"is not a valid {kind} entry ({type(exc).__name__}: {exc})"
            ) from exc
        blob = members.get(f"blobs/{kind}/{key}.safetensors")
        if blob is not None and entry.get("weights_sha256") != _sha(blob):
            msg = (
                f"has weights whose sha256 {_sha(blob)} is not the entry's {entry.get('weights_sha256')}"
            )
            raise _refused(path, name, msg)
        out.append((kind, key, entry))
    keys = {f"{kind}/{key}" for kind, key, _ in out}
    for name in members:
        match = _BLOB.fullmatch(name)
        if match and "/".join(match.groups()) not in keys:
            raise _refused(path, name, "holds weights of no entry in the bundle")
    return out


def import_bundle(
    store: Store, path: str | os.PathLike[str], *, keep_existing: bool = False
) -> ImportSummary:
    """Add the bundle's results to ``store``; see the module docstring for the rules."""
    _, members = read_bundle(path)
    summary = ImportSummary()
    plan: list[tuple[str, str, dict[str, Any]]] = []
    own = Store(store.root, warn=store.warn, layers=())  # the store's own entries, not the zoo's
    for kind, key, incoming in _entries(path, members):
        current = own.get(kind, key)
        if current is None:
            summary.added += 1
        elif current == incoming:
            summary.identical += 1
            continue
        elif current.get("status") != "done" and incoming.get("status") == "done":
            summary.replaced_failed += 1
        else:
            summary.conflicts.append(
                f"{kind}/{key}: {_describe(current)} in the store, {_describe(incoming)} in the bundle"
            )
            continue
        plan.append((kind, key, incoming))
    if summary.conflicts and not keep_existing:
        listed = "\n  ".join(summary.conflicts[:10])
        msg = (
            f"bundle {path} holds {len(summary.conflicts)} result(s) that differ from the store's; "
            f"nothing was imported (keep the store's with --keep-existing):\n  {listed}"
        )
        raise BundleError(msg)
    for kind, key, entry in plan:  # weights first, so no entry points at missing weights
        blob = members.get(f"blobs/{kind}/{key}.safetensors")
        if blob is not None:
            store.put_blob(kind, key, blob)
            summary.weights += 1
        store.put(kind, key, entry)
    return summary


def _describe(entry: dict[str, Any]) -> str:
    prov = entry.get("provenance", {})
    return f"{entry.get('status')} (commit {prov.get('git_commit')}, {prov.get('finished_at', '?')})"
