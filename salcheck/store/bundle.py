"""Portable bundles of results: ``salcheck store export FILE`` and ``salcheck store import FILE``.

A bundle is a gzip'd tar of a store's entries (``entries/<kind>/<key>.json``, each with its own
checksum, as stored), optionally the models' weights (``blobs/models/<key>.pt``), and a
``manifest.json`` naming the sha256 of every member, the store format, salcheck's version and
commit. Importing verifies every member against the manifest before writing anything, so a
truncated or altered bundle is refused with an error naming the file and the member. An
imported entry is added when the store lacks it, skipped when the store holds the same entry,
and replaces a stored *failed* entry; any other difference is a conflict: nothing is written,
and the conflicts are listed (``keep_existing=True`` imports the rest and keeps the store's).
Grids computed over several runs or machines thus accumulate without overwriting silently.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salcheck.errors import SalcheckError
from salcheck.store.files import KINDS, STORE_FORMAT_VERSION, Store, checksum

#: Bump when the bundle's layout changes.
BUNDLE_FORMAT = 1


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


def export_bundle(store: Store, path: str | os.PathLike[str], *, weights: bool = True) -> dict[str, int]:
    """Write every entry of ``store`` (and the weights, if ``weights``) to the bundle ``path``,
    atomically; returns the number of entries per kind."""
    from salcheck import __version__
    from salcheck.provenance import git_commit

    members: dict[str, bytes] = {}
    counts = {}
    for kind in KINDS:
        counts[kind] = 0
        for key, entry in store.items(kind):
            counts[kind] += 1
            members[f"entries/{kind}/{key}.json"] = json.dumps(
                {"sha256": checksum(entry), "entry": entry}, sort_keys=True
            ).encode()
            blob = store.path(kind, key, ".pt")
            if weights and entry.get("weights_sha256") and blob.exists():
                members[f"blobs/{kind}/{key}.pt"] = blob.read_bytes()
    manifest = {
        "bundle_format": BUNDLE_FORMAT,
        "store_format": STORE_FORMAT_VERSION,
        "salcheck": __version__,
        "commit": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "members": {name: _sha(data) for name, data in sorted(members.items())},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, tarfile.open(fileobj=f, mode="w:gz") as tar:
            for name, data in [
                ("manifest.json", json.dumps(manifest, indent=1).encode()),
                *members.items(),
            ]:
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data), 0
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return counts


def read_bundle(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(manifest, members), every member checked against the manifest's sha256."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            members = {}
            for info in tar.getmembers():
                f = tar.extractfile(info)
                if f is not None:
                    members[info.name] = f.read()
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        msg = f"cannot read bundle {path}: {exc} (truncated or not a salcheck bundle?)"
        raise BundleError(msg) from exc
    try:
        manifest = json.loads(members.pop("manifest.json"))
        expected = manifest["members"]
    except (KeyError, ValueError, TypeError) as exc:
        raise BundleError(f"bundle {path} has no readable manifest.json ({exc!r})") from exc
    if manifest.get("store_format") != STORE_FORMAT_VERSION:
        msg = (
            f"bundle {path} holds store format v{manifest.get('store_format')}; this salcheck "
            f"reads v{STORE_FORMAT_VERSION}"
        )
        raise BundleError(msg)
    missing = sorted(set(expected) - set(members))
    extra = sorted(set(members) - set(expected))
    bad = sorted(n for n in set(expected) & set(members) if _sha(members[n]) != expected[n])
    if missing or extra or bad:
        msg = f"bundle {path} is corrupted: members {missing} missing, {extra} unlisted, {bad} altered"
        raise BundleError(msg)
    return manifest, members


def import_bundle(
    store: Store, path: str | os.PathLike[str], *, keep_existing: bool = False
) -> ImportSummary:
    """Add the bundle's results to ``store``; see the module docstring for the rules."""
    _, members = read_bundle(path)
    summary = ImportSummary()
    plan: list[tuple[str, str, dict[str, Any]]] = []
    for name, data in sorted(members.items()):
        if not name.startswith("entries/"):
            continue
        _, kind, file = name.split("/")
        key = file.removesuffix(".json")
        incoming = json.loads(data)["entry"]
        current = store.get(kind, key)
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
        blob = members.get(f"blobs/{kind}/{key}.pt")
        if blob is not None:
            store.put_blob(kind, key, blob)
            summary.weights += 1
        store.put(kind, key, entry)
    return summary


def _describe(entry: dict[str, Any]) -> str:
    prov = entry.get("provenance", {})
    return f"{entry.get('status')} (commit {prov.get('git_commit')}, {prov.get('finished_at', '?')})"
