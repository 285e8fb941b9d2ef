#!/usr/bin/env bash
# Real-client check of salcheck's 3-D CAPS output (`generate --dims 3 --format caps`) with
# ClinicaDL 1.6.1's image mode (not part of the default test run; with an installed VENV it
# takes well under a minute on two CPU cores).
#
#   bash tests/interop/check_clinicadl_3d.sh [VENV]
#
# VENV is the same ClinicaDL environment as check_clinicadl.sh's (installed when absent).
# 1. salcheck (this checkout, on the current python) writes a 3-D CAPS folder of 32^3 volumes,
#    and the same cohort (same seed) as its lossless npz, the reference;
# 2. ClinicaDL's own image-mode dataset (return_dataset -> CapsDatasetImage, on the folder's
#    extraction JSON and data.tsv read with ClinicaDL's load_data_test) loads every volume:
#    [1, 32, 32, 32] float32, equal to salcheck's volumes, with the label salcheck drew;
# 3. ClinicaDL's `prepare-data image custom` re-extracts the tensors from salcheck's NIfTI
#    files (in a copy without salcheck's tensors), and they equal the tensors salcheck wrote;
# 4. ClinicaDL splits the folder and trains Conv5_FC3 on it for one epoch in image mode (a 3-D
#    network: input [1, 32, 32, 32]); the split gets the same labels.tsv with age and sex
#    constants as in check_clinicadl.sh. The CAPS folder itself is salcheck's output as written.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${1:-$(mktemp -d)/clinicadl-venv}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export PYTHONWARNINGS=ignore
. "$REPO/tests/interop/clinicadl_venv.sh"
N=32
SUFFIX=_space-SheppLogan_phantom.nii.gz

cd "$WORK"
for format in caps npz; do
    (cd "$REPO" && python3 -m salcheck.cli generate homogeneous "$WORK/$format" --dims 3 \
        --format "$format" --image-size "$N" --n-per-class 8 --seed 0)
done
# The reference, with salcheck's own readers: the npz cohort, which the CAPS folder must equal.
(cd "$REPO" && python3 - "$WORK" <<'PY'
import sys
from pathlib import Path

import numpy as np

from salcheck.cohort.cohort import LABEL_NAMES
from salcheck.cohort.io3d import load_dir3d, read_caps3d

work = Path(sys.argv[1])
ref, caps = load_dir3d(work / "npz"), read_caps3d(work / "caps")
assert caps.participant_ids == ref.participant_ids
assert np.array_equal(caps.labels, ref.labels) and np.array_equal(caps.subtypes, ref.subtypes)
assert caps.volumes.tobytes() == ref.volumes.tobytes()
np.savez(
    work / "reference.npz",
    volumes=ref.volumes,
    diagnoses=np.array([LABEL_NAMES[int(k)] for k in ref.labels]),
    participant_ids=np.array(ref.participant_ids),
)
PY
)

# 2. ClinicaDL's image-mode dataset on salcheck's folder.
"$VENV/bin/python" - "$WORK/caps" "$WORK/reference.npz" "$N" 2>&1 <<'PY' | quiet
import sys
from pathlib import Path

import numpy as np
import torch
from clinicadl.utils.caps_dataset.data import CapsDatasetImage, load_data_test, return_dataset
from clinicadl.utils.preprocessing import read_preprocessing
from clinicadl.utils.task_manager.classification import ClassificationManager

caps, ref, n = Path(sys.argv[1]), np.load(sys.argv[2]), int(sys.argv[3])
preprocessing = read_preprocessing(caps / "tensor_extraction" / "extract_SheppLogan_image.json")
df = load_data_test(caps / "data.tsv", ["AD", "CN"], baseline=False)
code = ClassificationManager.generate_label_code(df, "diagnosis")  # what `train` uses
dataset = return_dataset(
    caps, df, preprocessing, all_transformations=None, label="diagnosis", label_code=code
)
assert isinstance(dataset, CapsDatasetImage), type(dataset)
assert len(dataset) == len(ref["volumes"]), (len(dataset), len(ref["volumes"]))
for i in range(len(dataset)):
    sample = dataset[i]
    image = sample["image"]
    assert sample["participant_id"] == ref["participant_ids"][i], sample["participant_id"]
    assert "/deeplearning_prepare_data/image_based/custom/" in sample["image_path"]
    assert tuple(image.shape) == (1, n, n, n) and image.dtype == torch.float32, image.shape
    assert np.array_equal(image.numpy(), ref["volumes"][i]), sample["participant_id"]
    assert sample["label"] == code[str(ref["diagnoses"][i])], (sample["label"], code)
print(
    f"OK: ClinicaDL's {type(dataset).__name__} loaded all {len(dataset)} volumes of salcheck's "
    f"3-D CAPS: [1, {n}, {n}, {n}] float32, equal to salcheck's, labels as drawn (code {code})"
)
PY

# 3. ClinicaDL's own extraction of salcheck's NIfTI files gives salcheck's tensors.
cp -r caps prepared
find prepared -name '*.pt' -delete
rm -r prepared/tensor_extraction
"$VENV/bin/clinicadl" prepare-data image prepared custom --custom_suffix "$SUFFIX" \
    --extract_json extract_prepared -np 1 2>&1 | quiet | tail -1
"$VENV/bin/python" - caps prepared 2>&1 <<'PY' | quiet
import json
import sys
from pathlib import Path

import torch

ours, theirs = Path(sys.argv[1]), Path(sys.argv[2])
tensors = sorted(ours.glob("subjects/*/*/deeplearning_prepare_data/image_based/custom/*.pt"))
assert tensors and len(tensors) == len(list(theirs.glob("subjects/**/*.pt")))
for path in tensors:
    a = torch.load(path, weights_only=True)
    b = torch.load(theirs / path.relative_to(ours), weights_only=True)
    assert a.dtype == b.dtype == torch.float32 and torch.equal(a, b), path
salcheck_json = json.loads((ours / "tensor_extraction/extract_SheppLogan_image.json").read_text())
clinicadl_json = json.loads((theirs / "tensor_extraction/extract_prepared.json").read_text())
for key in ("preprocessing", "mode", "custom_suffix"):
    assert salcheck_json[key] == clinicadl_json[key], key
assert salcheck_json["file_type"]["pattern"] == clinicadl_json["file_type"]["pattern"]
print(
    f"OK: ClinicaDL's prepare-data image custom, run on salcheck's NIfTI files, wrote the "
    f"{len(tensors)} tensors salcheck wrote, bit for bit, at the same paths"
)
PY

# 4. One epoch of Conv5_FC3 in image mode.
mkdir split
awk -F'\t' 'BEGIN{OFS="\t"} NR==1{print $0,"age_bl","sex"; next}{print $0,60,"F"}' \
    caps/data.tsv > split/labels.tsv
"$VENV/bin/clinicadl" tsvtools split split/labels.tsv --n_test 0.2 --ignore_demographics \
    2>&1 | quiet
"$VENV/bin/clinicadl" train classification caps extract_SheppLogan_image.json split/split maps \
    -a Conv5_FC3 --epochs 1 --no-gpu -np 1 --batch_size 4 2>&1 | quiet | grep 'end of iteration'
"$VENV/bin/python" - maps "$N" 2>&1 <<'PY' | quiet
import json
import sys
from pathlib import Path

import torch

maps, n = Path(sys.argv[1]), int(sys.argv[2])
info = json.loads((maps / "maps.json").read_text())
assert info["mode"] == "image" and info["input_size"] == [1, n, n, n], info
checkpoint = torch.load(maps / "split-0/best-loss/model.pth.tar", weights_only=False)
first = checkpoint["model"]["convolutions.0.weight"]
assert first.ndim == 5, first.shape  # Conv3d
print(
    f"OK: ClinicaDL 1.6.1 trained Conv5_FC3 for one epoch in image mode on salcheck's 3-D CAPS "
    f"(input_size {info['input_size']}, first convolution {tuple(first.shape)})"
)
PY
echo "3-D interop check passed in ${SECONDS} s"
