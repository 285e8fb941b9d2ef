"""Fetching a tier's zoo by commit (salcheck.store.zoo_fetch): only a zoo that verifies against
this code is moved into place; a failed fetch leaves what was there. Fast: tiny git repos."""

import subprocess

import pytest

from salcheck.errors import InvalidArgument, SalcheckError
from salcheck.store import files
from salcheck.store.zoo_fetch import fetch


def _repo(path, files):
    path.mkdir()
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "zoo"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def test_a_zoo_that_does_not_verify_is_never_moved_into_place(tmp_path):
    commit = _repo(tmp_path / "repo", {"zoo/ci/models/stray.txt": "not a zoo file"})
    into = tmp_path / "cache"
    (into / "ci" / "models").mkdir(parents=True)
    (into / "ci" / "models" / "kept").write_text("what was there")
    with pytest.raises(SalcheckError, match=r"does not belong to this salcheck .*stray.txt"):
        fetch(str(tmp_path / "repo"), commit, "ci", into)
    assert (into / "ci" / "models" / "kept").read_text() == "what was there"
    assert sorted(p.name for p in into.iterdir()) == ["ci"]  # no staging folder left behind


def test_fetch_names_what_is_missing(tmp_path):
    commit = _repo(tmp_path / "repo", {"README.md": "no zoo here"})
    with pytest.raises(SalcheckError, match=r"has no zoo/ci/"):
        fetch(str(tmp_path / "repo"), commit, "ci", tmp_path / "cache")
    with pytest.raises(SalcheckError, match=r"git fetch .* failed"):
        fetch(str(tmp_path / "repo"), "no-such-branch", "ci", tmp_path / "cache")
    with pytest.raises(InvalidArgument, match="needs a repository and a ref"):
        fetch(str(tmp_path / "repo"), "", "ci", tmp_path / "cache")


def test_an_installed_package_reads_the_fetched_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(files.ZOO_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(files, "__file__", str(tmp_path / "site" / "salcheck" / "store" / "zoo.py"))
    assert files.zoo_root() is None  # no checkout, nothing fetched
    (tmp_path / "salcheck" / "zoo" / "ci" / "models").mkdir(parents=True)
    assert files.zoo_root() == tmp_path / "salcheck" / "zoo"
    monkeypatch.setenv(files.ZOO_ENV, "none")
    assert files.zoo_root() is None
