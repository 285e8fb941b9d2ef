"""The installed package, outside any checkout: the property suite ships inside it as
``salcheck.properties``, the zoo is fetched from the repository by a pinned commit, and a
user's own method is judged from that zoo. The slow test builds the wheel, installs it into a
fresh virtual environment in a temporary folder (borrowing this environment's torch, pytest
and hypothesis through ``--system-site-packages``) and runs what docs/checks.md tells a user
to run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import setuptools

ROOT = Path(__file__).resolve().parents[1]

USER_METHOD = """
import torch

from salcheck.saliency import SaliencyMethod


class GradientTimesInput(SaliencyMethod):
    name = "gradient x input"
    version = 1

    def attribute_batch(self, model, x, target):
        x = x.clone().requires_grad_(True)
        model(x)[:, target].sum().backward()
        return (x.grad * x).detach()
"""


def test_the_listed_packages_are_the_folders():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = setuptools.find_packages(str(ROOT), include=["salcheck*"])
    assert sorted(config["packages"]) == sorted([*found, "salcheck.properties"])
    assert config["package-dir"] == {"salcheck.properties": "properties"}
    assert (ROOT / "properties" / "__init__.py").is_file()


def _run(cmd: list[str], cwd: Path, env: dict[str, str], rc: int = 0) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode == rc, f"{' '.join(cmd)} exited {done.returncode}:\n{out[-3000:]}"
    return out


def ci_recipe_steps(text: str) -> list[str]:
    """The ``run:`` steps of docs/checks.md's GitHub Actions job, in order."""
    yaml = pytest.importorskip("yaml")
    section = text[text.index("## In a project's CI") :]
    block = section[
        section.index("```yaml") + len("```yaml") : section.index("```", section.index("```yaml") + 7)
    ]
    (job,) = yaml.safe_load(block)["jobs"].values()
    return [step["run"] for step in job["steps"] if "run" in step]


def test_the_ci_recipe_is_parsed_into_its_steps():
    steps = ci_recipe_steps((ROOT / "docs" / "checks.md").read_text())
    assert steps[0].startswith("pip install torch==2.13.0")
    assert [s.split()[:3] for s in steps[2:]] == [
        ["salcheck", "zoo", "fetch"],
        ["salcheck", "check", "mypkg.saliency:MyMethod"],
        ["pytest", "--pyargs", "salcheck.properties"],
    ]


MY_METHOD = """
from salcheck.saliency import VanillaGradient


class MyMethod(VanillaGradient):
    name = "my method"

    def attribute_batch(self, model, x, target, *, offset):
        {body}
"""

PROJECT = """
[project]
name = "mypkg"
version = "0"
[tool.setuptools]
packages = ["mypkg"]
"""


def _step(step: str, project: Path, env: dict[str, str], rc: int = 0) -> str:
    """One recipe step, as the runner's shell runs it, in the user's project."""
    return _run(["bash", "-e", "-c", step], cwd=project, env=env, rc=rc)


@pytest.mark.slow
def test_the_ci_recipe_runs_in_a_fresh_environment_from_a_fetched_zoo(tmp_path):
    """docs/checks.md's GitHub Actions job, step by step, in a fresh virtual environment outside
    the checkout. Its substitutions: torch is borrowed from this environment (the step pinning
    it is checked, not run), salcheck comes from a wheel of this checkout and the zoo from this
    repository at HEAD instead of YOUR-ORG's at COMMIT, pip builds without isolation (no index
    here), and the property step runs a part of the suite (F1, F6, F8) with an empty record
    folder, so each of those claims must replicate for the user's method."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout: no commit to fetch the zoo from")
    commit = head.stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALCHECK_", "PYTHON"))}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "SALCHECK_STORE": str(tmp_path / "store")}
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(ROOT)],
        cwd=tmp_path, env=env,
    )  # fmt: skip
    wheel = next(wheels.glob("salcheck-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path, env=env)
    # the setuptools a venv bundles predates building wheels on its own: use this environment's
    _run(
        [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-q", "-y", "setuptools"], tmp_path, env
    )
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"  # what setup-python gives a job
    project = tmp_path / "project"  # the user's checkout
    (project / "mypkg").mkdir(parents=True)
    (project / "mypkg" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text(PROJECT)
    method = project / "mypkg" / "saliency.py"
    method.write_text(
        MY_METHOD.format(body="return super().attribute_batch(model, x, target, offset=offset)")
    )
    (project / "my-verdicts").mkdir()

    torch_step, install, fetch, check, properties = ci_recipe_steps(
        (ROOT / "docs" / "checks.md").read_text()
    )
    import torch

    assert torch_step.split()[2] == f"torch=={torch.__version__.split('+')[0]}", torch_step
    install = install.replace("git+https://github.com/YOUR-ORG/salcheck@COMMIT", wheel.as_uri())
    _step(install.replace("pip install", "pip install --no-build-isolation"), project, env)
    where = _run(["python", "-c", "import salcheck, mypkg; print(salcheck.__file__)"], project, env)
    assert str(venv) in where, f"salcheck imported from outside the new environment: {where}"
    _step(
        fetch.replace("https://github.com/YOUR-ORG/salcheck", str(ROOT)).replace("COMMIT", commit),
        project,
        env,
    )
    assert (tmp_path / "cache" / "salcheck" / "zoo" / "ci" / "models").is_dir()

    # the baseline, saved once as the text after the recipe says, then the recipe's gate
    _step("salcheck baseline save mypkg.saliency:MyMethod saliency-baseline.json", project, env)
    out = _step(check, project, env)
    assert "[PASS] my method / check_baseline" in out
    out = _step(
        properties + " -p no:cacheprovider -q -k 'test_f1_small_n or test_f6_calibration or test_f8'",
        project,
        env,
    )
    assert " passed" in out and " failed" not in out
    assert not list((tmp_path / "store").rglob("*.safetensors")), "a model was trained, not read"

    # an edited method is re-evaluated, never answered from the store, and fails the gate
    method.write_text(MY_METHOD.format(body="import torch; return torch.ones_like(x)  # a constant map"))
    out = _step(check, project, env, rc=1)
    assert "[FAIL] my method / check_baseline" in out
    assert "[FAIL] my method / check_beats_chance" in out

    # gradient x input, in a module of its own, is known to barely change when the network's
    # weights are randomised (Adebayo et al., NeurIPS 2018, Sanity checks for saliency maps):
    # the suite says so and the command fails, as a CI job gating on it must
    (project / "mypkg" / "gxi.py").write_text(textwrap.dedent(USER_METHOD))
    out = _run(["salcheck", "check", "mypkg.gxi:GradientTimesInput", "--tier", "ci"], project, env, rc=1)
    assert "[PASS] gradient x input / check_beats_chance" in out
    assert "[FAIL] gradient x input / check_randomisation_sensitivity" in out
    assert not list((tmp_path / "store").rglob("*.safetensors")), "a model was trained, not read"
