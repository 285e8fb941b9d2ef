"""Fetching a tier's zoo from salcheck's git repository, for an installed package.

A wheel does not carry the zoo (the ci tier's is about 100 MB of float16 weights, which no
compression shrinks): :func:`fetch` takes ``zoo/<tier>/`` from the repository at a commit you
pin (``git fetch --depth 1`` of that one commit, then ``git archive`` of the folder), checks
every file against the installed code's declared versions (:func:`salcheck.store.zoo.verify`)
and only then moves it into place, so a zoo that does not belong to this code, or a fetch that
stops half-way, is never read. With no ``--zoo`` it goes to the user cache
(:func:`salcheck.store.files.cache_root`), which :func:`salcheck.store.files.zoo_root` reads when
salcheck runs from an installed package and ``$SALCHECK_ZOO`` is unset.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import salcheck.atomic as atomic
from salcheck.errors import InvalidArgument, SalcheckError
from salcheck.store.files import cache_root
from salcheck.store.zoo import tier_dir, verify


def _git(*args: str, cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise SalcheckError("fetching the zoo needs git on PATH") from exc
    if done.returncode != 0:
        raise SalcheckError(f"git {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def fetch(source: str, ref: str, tier: str = "ci", into: Path | None = None) -> Path:
    """Put ``zoo/<tier>/`` of the repository ``source`` (a git URL or path) at ``ref`` (a commit,
    tag or branch; pin a commit) into ``into/<tier>`` (default :func:`cache_root`), verified;
    returns that folder. Raises :class:`~salcheck.errors.SalcheckError` naming what failed,
    leaving any zoo already there as it was."""
    if not source or not ref:
        raise InvalidArgument(f"fetching the zoo needs a repository and a ref, got {source!r}, {ref!r}")
    into = cache_root() if into is None else Path(into)
    target = tier_dir(into, tier)
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=into, prefix=f".fetching-{tier}-") as tmp:
        work = Path(tmp)
        repo = work / "git"
        repo.mkdir()
        _git("init", "-q", cwd=repo)
        _git("fetch", "-q", "--depth", "1", source, ref, cwd=repo)
        commit = _git("rev-parse", "FETCH_HEAD", cwd=repo)
        folder = f"zoo/{tier}"
        if not _git("ls-tree", "--name-only", commit, folder, cwd=repo):
            raise SalcheckError(f"{source} at {ref} ({commit[:12]}) has no {folder}/")
        archive = work / "zoo.tar"
        _git("archive", "--format=tar", "-o", str(archive), commit, folder, cwd=repo)
        staged = work / "staged"
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12: refuse links and odd paths
                tar.extractall(staged, filter="data")
            else:  # the archive is git's own, of one folder of regular files
                tar.extractall(staged)
        found = verify(staged / "zoo")
        if not found.ok:
            shown = "; ".join(found.problems[:3])
            raise SalcheckError(
                f"the zoo of {source} at {commit[:12]} does not belong to this salcheck "
                f"({len(found.problems)} problem(s): {shown}); pin a commit of the version you installed"
            )
        old = work / "previous"
        if target.exists():
            os.replace(target, old)
        os.replace(staged / "zoo" / tier, target)
        atomic.write_text(
            into / f"{tier}.fetched.json",
            json.dumps({"source": source, "ref": ref, "commit": commit, "tier": tier}, indent=1),
        )
        shutil.rmtree(old, ignore_errors=True)
    return target
