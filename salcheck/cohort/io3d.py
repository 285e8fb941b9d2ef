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
The layout follows ClinicaDL 1.6.1's image-mode reader; unlike the 2-D layout it has not been run
through ClinicaDL itself. A CAPS folder keeps no drawn parameters, so a cohort read from it has no
per-voxel masks. Every write builds the directory under a temporary name and renames it into place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

import salcheck.atomic as atomic
from salcheck.cohort.io import (
    NIFTI_SUFFIX,
    OTHER_SESSION,
    SESSION,
    TSV_NAME,
    Format,
    check_outdir,
    data_tsv,
    nifti_relpath,
    read_tsv,
)
from salcheck.cohort.phantoms3d import Cohort3D, load3d, save3d
from salcheck.errors import InvalidArgument

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
    if format not in ("npz", "caps"):
        msg = f"unknown format {format!r}; accepted: npz, caps"
        raise InvalidArgument(msg)
    outdir = check_outdir(outdir, overwrite)
    with atomic.directory(outdir, overwrite=True) as tmp:
        (tmp / TSV_NAME).write_text(data_tsv(cohort))
        if format == "npz":
            save3d(cohort, tmp / NPZ_NAME_3D)
        else:
            _write_caps3d(cohort, tmp, progress)
    return outdir


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
    import torch  # start-up: cohort generation and .npz I/O never load torch

    try:
        import nibabel as nib  # optional: salcheck[caps]
    except ImportError as exc:
        msg = (
            "writing a CAPS folder needs nibabel (ClinicaDL looks for each image's NIfTI "
            "file): pip install 'salcheck[caps]'"
        )
        raise InvalidArgument(msg) from exc
    for k, pid in enumerate(cohort.participant_ids):
        volume = np.ascontiguousarray(cohort.volumes[k], dtype=np.float32)  # [1, N, N, N]
        rel = tensor3d_relpath(pid)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        torch.save(torch.from_numpy(volume), root / rel)
        nifti = root / nifti_relpath(pid)
        nifti.parent.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(volume[0], affine=np.eye(4)), nifti)
        if progress is not None:
            progress(1)
    extraction = root / "tensor_extraction"
    extraction.mkdir()
    (extraction / EXTRACT_JSON_3D).write_text(json.dumps(extraction_json3d(), indent=2))
    missing = root / "missing_mods"
    missing.mkdir()
    (missing / f"missing_mods_{SESSION}.tsv").write_text(
        "participant_id\tsynthetic\n" + "".join(f"{p}\t1\n" for p in cohort.participant_ids)
    )


def read_caps3d(root: str | Path) -> Cohort3D:
    """Read a 3-D CAPS folder written by :func:`save_dir3d` (tensors loaded with
    ``weights_only=True``); the cohort has no parameters (``params`` None)."""
    import torch  # start-up: cohort generation and .npz I/O never load torch

    root = Path(root)
    rows = read_tsv(root / TSV_NAME)
    volumes, size = [], None
    for pid, ses, _, _ in rows:
        path = root / tensor3d_relpath(pid, ses)
        if not path.exists() and ses in OTHER_SESSION:  # ClinicaDL 0.x and 1.x spellings
            path = root / tensor3d_relpath(pid, OTHER_SESSION[ses])
        if not path.exists():
            msg = f"missing tensor for {pid} {ses}: {root / tensor3d_relpath(pid, ses)}"
            raise InvalidArgument(msg)
        try:
            t = torch.load(path, weights_only=True, map_location="cpu")
        except Exception as exc:
            msg = f"unreadable tensor {path}: {exc}"
            raise InvalidArgument(msg) from exc
        ok = (
            isinstance(t, torch.Tensor)
            and t.ndim == 4
            and t.shape[0] == 1
            and t.shape[1] == t.shape[2] == t.shape[3]
            and t.dtype == torch.float32
        )
        if ok and size is None:
            size = int(t.shape[1])
        if not ok or t.shape[1] != size:
            got = f"{tuple(t.shape)} {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
            msg = f"malformed tensor {path}: expected float32 [1, {size or 'N'}, N, N], got {got}"
            raise InvalidArgument(msg)
        volumes.append(t.numpy())
    if not volumes:
        msg = f"{root / TSV_NAME} lists no images"
        raise InvalidArgument(msg)
    labels = np.array([r[2] for r in rows], np.int8)
    subtypes = np.array([r[3] for r in rows], np.int8)
    return Cohort3D(np.stack(volumes), labels, subtypes, None, participant_ids=[r[0] for r in rows])
