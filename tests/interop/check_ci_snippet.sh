#!/usr/bin/env bash
# Runs the GitHub Actions snippet of docs/checks.md as written, in a fresh virtual environment (not part
# of the default test run):
#
#   bash tests/interop/check_ci_snippet.sh
#
# salcheck is checked out by commit (here the local checkout's HEAD, committed) beside a user
# project and installed from it, with a fresh store and no cache: the checkout's zoo/ holds the
# reference models, so nothing is trained. The project's saliency method is checked against a
# saved baseline, then edited and checked again with the store kept: the edited method must be
# re-evaluated (new numbers, the gate fails), never answered from the store.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export SALCHECK_STORE="$WORK/store"
export PIP_DISABLE_PIP_VERSION_CHECK=1
COMMIT="$(git -C "$REPO" rev-parse HEAD)"
python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
# The snippet's commands, with the repository URL pointing at this checkout:
"$PY" -m pip install -q torch==2.13.0
mkdir -p "$WORK/project/mypkg"
touch "$WORK/project/mypkg/__init__.py"
cat > "$WORK/project/pyproject.toml" <<'TOML'
[project]
name = "mypkg"
version = "0"
[tool.setuptools]
packages = ["mypkg"]
TOML
git clone -q "$REPO" "$WORK/project/.salcheck"
git -C "$WORK/project/.salcheck" checkout -q "$COMMIT"
(cd "$WORK/project" && "$PY" -m pip install -q ./.salcheck -e .)
export SALCHECK_ZOO="$WORK/project/.salcheck/zoo"
write_method() {
    cat > "$WORK/project/mypkg/saliency.py" <<PY
from salcheck.saliency import VanillaGradient


class MyMethod(VanillaGradient):
    name = "my method"

    def attribute_batch(self, model, x, target, *, offset):
        $1
PY
}
cd "$WORK/project"
SALCHECK="$WORK/venv/bin/salcheck"
write_method "return super().attribute_batch(model, x, target, offset=offset)"
"$SALCHECK" baseline save mypkg.saliency:MyMethod saliency-baseline.json
"$SALCHECK" check mypkg.saliency:MyMethod --baseline saliency-baseline.json | tee first.txt
write_method "import torch; return torch.ones_like(x)  # edited: a constant map"
if "$SALCHECK" check mypkg.saliency:MyMethod --baseline saliency-baseline.json | tee second.txt
then
    echo "FAIL: the edited method passed the gate: it was answered from the store"; exit 1
fi
grep -q "FAIL\] my method / check_baseline" second.txt
grep -q "FAIL\] my method / check_beats_chance" second.txt
if find "$SALCHECK_STORE" -name "*.safetensors" -path "*/models/*" | grep -q .; then
    echo "FAIL: a model was trained: the zoo did not answer"; exit 1
fi
echo "snippet check passed: salcheck $COMMIT checked out beside the project, no model trained; the edited method was re-evaluated and failed its baseline"
