#!/usr/bin/env bash
# Real-client check of salcheck's CAPS interop with ClinicaDL 1.6.1 (not part of the default
# test run: it installs ClinicaDL in a throwaway virtual environment and takes a few minutes).
#
#   bash tests/interop/check_clinicadl.sh [VENV]
#
# 1. salcheck (this checkout, on the current python) writes a CAPS folder;
# 2. ClinicaDL splits it and trains Conv5_FC3 on it for one epoch;
# 3. ClinicaDL generates its own shepplogan CAPS, and salcheck reads it back.
# ClinicaDL's `tsvtools split` needs age and sex columns even with --ignore_demographics, and
# its trainer reads ../labels.tsv beside the split folder; the phantoms have no demographics,
# so the split gets a labels.tsv copy of data.tsv with the constants ClinicaDL's own trivial
# generator writes (age_bl 60, sex F). Everything else is salcheck's output as written.
# check_clinicadl_3d.sh does the same for 3-D CAPS (image mode); both take the same VENV.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${1:-$(mktemp -d)/clinicadl-venv}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export PYTHONWARNINGS=ignore
. "$REPO/tests/interop/clinicadl_venv.sh"

cd "$WORK"
(cd "$REPO" && python3 -m salcheck.cli generate homogeneous "$WORK/caps" --format caps \
    --image-size 128 --n-per-class 20 --seed 0)
mkdir split
awk -F'\t' 'BEGIN{OFS="\t"} NR==1{print $0,"age_bl","sex"; next}{print $0,60,"F"}' \
    caps/data.tsv > split/labels.tsv
"$VENV/bin/clinicadl" tsvtools split split/labels.tsv --n_test 0.2 --ignore_demographics \
    2>&1 | quiet
"$VENV/bin/clinicadl" train classification caps extract_SheppLogan_slice.json split/split maps \
    -a Conv5_FC3 --epochs 1 --no-gpu -np 1 --batch_size 8 2>&1 | quiet | tail -3
test -f maps/split-0/best-loss/model.pth.tar
echo "OK: ClinicaDL 1.6.1 trained Conv5_FC3 for one epoch on salcheck's CAPS folder"

"$VENV/bin/clinicadl" generate shepplogan clinicadl_caps --n_subjects 6 --image_size 64 \
    2>&1 | quiet | tail -1
(cd "$REPO" && python3 - "$WORK/clinicadl_caps" <<'PY'
import sys

from salcheck.cohort import load

cohort = load(sys.argv[1])
assert cohort.images.shape[1:] == (1, 64, 64), cohort.images.shape
print(f"OK: salcheck read ClinicaDL's own CAPS: {cohort.summary()}")
PY
)
echo "interop check passed"
