"""Write and read 3-D cohorts as a directory: salcheck's ``.npz``, or ClinicaDL's CAPS layout.

The 3-D counterpart of :mod:`salcheck.cohort.io`, for ``salcheck generate --dims 3``. Both formats
put the same ``data.tsv`` in the output directory (participant_id, session_id, diagnosis AD|CN,
subtype). ``npz``: the file ``cohort3d.npz`` written by :func:`~salcheck.cohort.phantoms3d.save3d`
(lossless, parameters included). ``caps``: the 2-D CAPS layout (session ``ses-M000``,
``missing_mods/``, the NIfTI file ``subjects/<participant>/<session>/shepplogan/<participant>_
<session>_space-SheppLogan_phantom.nii.gz``, here the ``[N, N, N]`` volume as a 3-D NIfTI image,
array axes ``[z, row, col]``), with what ClinicaDL's image mode reads in place of the slices:
per volume a ``[1, N, N, N]`` float32 tensor
``subjects/<participant>/<session>/deeplearning_prepare_data/image_based/custom/<participant>_
<session>_space-SheppLogan_phantom.pt`` (the NIfTI file's name with ``.pt``) and
``tensor_extraction/extract_SheppLogan_image.json`` (``mode: image``, with the ``custom_suffix``).
ClinicaDL 1.6.1's image mode reads the layout as written (checked with ClinicaDL itself:
``tests/interop/check_clinicadl_3d.sh``). A CAPS folder keeps no drawn parameters, so a cohort
read from it has no per-voxel masks. Every write builds the directory under a temporary name and
renames it into place.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from salcheck.cohort.io import (
    NIFTI_SUFFIX,
    SESSION,
    Format,
    read_caps_tensors,
    write_caps_tree,
    write_dir,
)
from salcheck.cohort.phantoms3d import Cohort3D, load3d, save3d

NPZ_NAME_3D = "cohort3d.npz"
EXTRACT_JSON_3D = "extract_SheppLogan_image.json"


def tensor3d_relpath(participant_id: str, session_id: str = SESSION) -> Path:
    """Where ClinicaDL's image mode reads one volume's tensor, relative to the CAPS root."""
    return (
        Path("subjects")
        / participant_id
        / session_id
        / "deeplearning_prepare_data"
        / "image_based"
        / "custom"
        / f"{participant_id}_{session_id}{NIFTI_SUFFIX.removesuffix('.nii.gz')}.pt"
    )


def save_dir3d(
    cohort: Cohort3D,
    outdir: str | Path,
    *,
    format: Format = "npz",
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write ``cohort`` to the directory ``outdir`` (``npz`` or ``caps``), atomically."""
    return write_dir(
        cohort,
        outdir,
        format,
        overwrite,
        npz=lambda tmp: save3d(cohort, tmp / NPZ_NAME_3D),
        caps=lambda tmp: _write_caps3d(cohort, tmp, progress),
    )


def load_dir3d(path: str | Path) -> Cohort3D:
    """Load a 3-D cohort written by :func:`save_dir3d` (either format): the directory or its npz."""
    path = Path(path)
    if path.is_dir() and not (path / NPZ_NAME_3D).exists():
        return read_caps3d(path)
    return load3d(path / NPZ_NAME_3D if path.is_dir() else path)


def extraction_json3d() -> dict[str, object]:
    """ClinicaDL 1.6.1's extraction JSON for whole phantom volumes (image mode), with the
    ``custom_suffix`` its reader requires."""
    return {
        "preprocessing": "custom",
        "mode": "image",
        "use_uncropped_image": False,
        "prepare_dl": True,
        "extract_json": EXTRACT_JSON_3D,
        "custom_suffix": NIFTI_SUFFIX,
        "file_type": {
            "pattern": f"*{NIFTI_SUFFIX}",
            "description": "Custom suffix",
            "needed_pipeline": "shepplogan",
        },
    }


def _write_caps3d(cohort: Cohort3D, root: Path, progress: Callable[[int], None] | None) -> None:
    extraction = (EXTRACT_JSON_3D, extraction_json3d())
    write_caps_tree(root, cohort.participant_ids, cohort.volumes, tensor3d_relpath, extraction, progress)


def read_caps3d(root: str | Path) -> Cohort3D:
    """Read a 3-D CAPS folder written by :func:`save_dir3d` (tensors loaded with
    ``weights_only=True``); the cohort has no parameters (``params`` None)."""
    volumes, rows = read_caps_tensors(Path(root), tensor3d_relpath, dims=3)
    labels = np.array([r[2] for r in rows], np.int8)
    subtypes = np.array([r[3] for r in rows], np.int8)
    return Cohort3D(volumes, labels, subtypes, None, participant_ids=[r[0] for r in rows])
