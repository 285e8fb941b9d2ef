"""Save and load cohorts: salcheck's lossless ``.npz``, and ClinicaDL's CAPS layout.

Both formats put a ``data.tsv`` in the output directory (participant_id, session_id,
diagnosis AD|CN, subtype). A CAPS folder is what ClinicaDL 1.6.1's ``generate shepplogan``
writes and its ``train`` reads (checked with ClinicaDL itself: ``tests/interop/``): session
``ses-M000``; per image a ``[1, N, N]`` float32 tensor under
``subjects/<participant>/<session>/deeplearning_prepare_data/slice_based/custom/`` and the
NIfTI image ``subjects/<participant>/<session>/shepplogan/<participant>_<session>_space-
SheppLogan_phantom.nii.gz`` that ClinicaDL looks for first (ClinicaDL writes a placeholder
there; salcheck writes the image itself, with nibabel, the ``caps`` extra);
``tensor_extraction/extract_SheppLogan_slice.json`` with the ``custom_suffix`` ClinicaDL's reader
requires; ``missing_mods/``. Reading accepts ``ses-M000`` and ClinicaDL 0.x's ``ses-M00``. A
CAPS folder keeps no drawn parameters, so a cohort read from it has no per-image masks (the
analytic boxes still apply).
Every write builds the directory under a temporary name and renames it into place.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

import salcheck.atomic as atomic
from salcheck.cohort.cohort import LABEL_NAMES, Cohort, CohortSpec
from salcheck.cohort.phantoms import PARAM_NAMES
from salcheck.errors import InvalidArgument

if TYPE_CHECKING:
    from salcheck.cohort.phantoms3d import Cohort3D

NPZ_NAME = "cohort.npz"
TSV_NAME = "data.tsv"
SESSION = "ses-M000"  # ClinicaDL 1.x; 0.x wrote "ses-M00", which reading also accepts
OTHER_SESSION = {"ses-M000": "ses-M00", "ses-M00": "ses-M000"}
NIFTI_SUFFIX = "_space-SheppLogan_phantom.nii.gz"
EXTRACT_JSON = "extract_SheppLogan_slice.json"
FORMAT_VERSION = 2  # 2: each ROI-2 ellipse has its own parameters
TENSOR_SUFFIX = "space-SheppLogan_axis-axi_channel-single_slice-0_phantom.pt"
TSV_COLUMNS = ("participant_id", "session_id", "diagnosis", "subtype")
Format = Literal["npz", "caps"]


def tensor_relpath(participant_id: str, session_id: str = SESSION) -> Path:
    """Where ClinicaDL keeps one phantom's tensor, relative to the CAPS root."""
    return (
        Path("subjects")
        / participant_id
        / session_id
        / "deeplearning_prepare_data"
        / "slice_based"
        / "custom"
        / f"{participant_id}_{session_id}_{TENSOR_SUFFIX}"
    )


def nifti_relpath(participant_id: str, session_id: str = SESSION) -> Path:
    """Where ClinicaDL looks for one phantom's NIfTI image, relative to the CAPS root."""
    return (
        Path("subjects")
        / participant_id
        / session_id
        / "shepplogan"
        / f"{participant_id}_{session_id}{NIFTI_SUFFIX}"
    )


def check_outdir(outdir: str | Path, overwrite: bool) -> Path:
    """Refuse an existing non-empty directory unless ``overwrite``."""
    outdir = Path(outdir)
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())) and not overwrite:
        msg = f"output directory {outdir} exists and is not empty; pass overwrite=True (--overwrite)"
        raise InvalidArgument(msg)
    return outdir


def data_tsv(cohort: Cohort | Cohort3D) -> str:
    """The ``data.tsv`` text for a cohort (2-D or 3-D)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(TSV_COLUMNS)
    for pid, lab, sub in zip(cohort.participant_ids, cohort.labels, cohort.subtypes, strict=True):
        w.writerow([pid, SESSION, LABEL_NAMES[int(lab)], int(sub)])
    return buf.getvalue()


def save(
    cohort: Cohort,
    outdir: str | Path,
    *,
    format: Format = "npz",
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write ``cohort`` to ``outdir`` (``npz`` or ``caps``), atomically."""
    return write_dir(
        cohort,
        outdir,
        format,
        overwrite,
        npz=lambda tmp: _write_npz(cohort, tmp / NPZ_NAME),
        caps=lambda tmp: _write_caps(cohort, tmp, progress),
    )


def write_dir(
    cohort: Cohort | Cohort3D,
    outdir: str | Path,
    format: Format,
    overwrite: bool,
    *,
    npz: Callable[[Path], object],
    caps: Callable[[Path], object],
) -> Path:
    """Build ``outdir`` under a temporary name (``data.tsv`` and the format's files, written by
    ``npz`` or ``caps`` into the folder they are given) and rename it into place."""
    if format not in ("npz", "caps"):
        msg = f"unknown format {format!r}; accepted: npz, caps"
        raise InvalidArgument(msg)
    outdir = check_outdir(outdir, overwrite)
    with atomic.directory(outdir, overwrite=True) as tmp:
        (tmp / TSV_NAME).write_text(data_tsv(cohort))
        (npz if format == "npz" else caps)(tmp)
    return outdir


def _write_npz(cohort: Cohort, path: Path) -> None:
    meta = {
        "format_version": FORMAT_VERSION,
        "spec": None if cohort.spec is None else {**cohort.spec.__dict__, "mix": list(cohort.spec.mix)},
        "seed": cohort.seed,
        "participant_ids": cohort.participant_ids,
    }
    arrays = {
        "images": cohort.images,
        "labels": cohort.labels,
        "subtypes": cohort.subtypes,
        "meta": np.array(json.dumps(meta)),
    }
    if cohort.params is not None:
        arrays.update({f"param_{k}": v for k, v in cohort.params.items()})
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]  # numpy's stub: bool kwargs


def load(path: str | Path) -> Cohort:
    """Load a cohort saved by :func:`save` (either format): the directory or its npz file."""
    path = Path(path)
    if path.is_dir() and not (path / NPZ_NAME).exists():
        return read_caps(path)
    npz = path / NPZ_NAME if path.is_dir() else path
    if not npz.exists():
        msg = f"no cohort at {path}: expected {NPZ_NAME} or a CAPS folder with {TSV_NAME}"
        raise InvalidArgument(msg)
    try:
        return _read_npz(npz)
    except InvalidArgument:
        raise
    except Exception as exc:  # truncated zip, bad JSON, missing arrays, wrong shapes or dtypes
        msg = (
            f"{npz} is not a readable salcheck cohort ({type(exc).__name__}: {exc}); "
            "regenerate it with salcheck generate"
        )
        raise InvalidArgument(msg) from exc


def _read_npz(npz: Path) -> Cohort:
    # Opened here, so the file is closed even when numpy fails on a truncated archive.
    with open(npz, "rb") as f, np.load(f, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format_version") != FORMAT_VERSION:
            msg = (
                f"{npz} has cohort format version {meta.get('format_version')!r}; this "
                f"salcheck reads version {FORMAT_VERSION}: regenerate it with salcheck generate"
            )
            raise InvalidArgument(msg)
        params = {k: z[f"param_{k}"] for k in PARAM_NAMES} if "param_color" in z else None
        spec = None
        if meta["spec"] is not None:
            spec = CohortSpec(**{**meta["spec"], "mix": tuple(meta["spec"]["mix"])})
        return Cohort(
            z["images"], z["labels"], z["subtypes"], params, spec, meta["seed"], meta["participant_ids"]
        )


def _write_caps(cohort: Cohort, root: Path, progress: Callable[[int], None] | None) -> None:
    extraction = (EXTRACT_JSON, extraction_json())
    write_caps_tree(root, cohort.participant_ids, cohort.images, tensor_relpath, extraction, progress)


def write_caps_tree(
    root: Path,
    participant_ids: list[str],
    arrays: np.ndarray,
    tensor_path: Callable[[str], Path],
    extraction: tuple[str, dict[str, object]],
    progress: Callable[[int], None] | None,
) -> None:
    """The CAPS folder under ``root``: per participant its ``[1, ...]`` float32 tensor at
    ``tensor_path(pid)`` and its NIfTI image (the array without the channel), the extraction
    JSON (name, content) and ``missing_mods``; images and volumes alike."""
    import torch  # start-up: cohort generation and .npz I/O never load torch

    try:
        import nibabel as nib  # optional: salcheck[caps]
    except ImportError as exc:
        msg = (
            "writing a CAPS folder needs nibabel (ClinicaDL looks for each image's NIfTI "
            "file): pip install 'salcheck[caps]'"
        )
        raise InvalidArgument(msg) from exc
    for k, pid in enumerate(participant_ids):
        array = np.ascontiguousarray(arrays[k], dtype=np.float32)
        rel = tensor_path(pid)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        torch.save(torch.from_numpy(array), root / rel)
        nifti = root / nifti_relpath(pid)
        nifti.parent.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(array[0], affine=np.eye(4)), nifti)
        if progress is not None:
            progress(1)
    folder = root / "tensor_extraction"
    folder.mkdir()
    name, content = extraction
    (folder / name).write_text(json.dumps(content, indent=2))
    missing = root / "missing_mods"
    missing.mkdir()
    (missing / f"missing_mods_{SESSION}.tsv").write_text(
        "participant_id\tsynthetic\n" + "".join(f"{p}\t1\n" for p in participant_ids)
    )


def extraction_json() -> dict[str, object]:
    """ClinicaDL 1.6.1's extraction JSON for phantom slices, with the ``custom_suffix`` its
    reader requires (its own ``generate shepplogan`` leaves the key out)."""
    return {
        "preprocessing": "custom",
        "mode": "slice",
        "use_uncropped_image": False,
        "prepare_dl": True,
        "extract_json": EXTRACT_JSON,
        "custom_suffix": NIFTI_SUFFIX,
        "slice_direction": 2,
        "slice_mode": "single",
        "discarded_slices": 0,
        "num_slices": 1,
        "file_type": {
            "pattern": f"*{NIFTI_SUFFIX}",
            "description": "Custom suffix",
            "needed_pipeline": "shepplogan",
        },
    }


def read_tsv(path: Path) -> list[tuple[str, str, int, int]]:
    """Rows of a ClinicaDL ``data.tsv`` as (participant, session, label, subtype), deduplicated.

    ClinicaDL 1.6.1 writes repeated rows; the first occurrence of each (participant, session)
    is kept.
    """
    if not path.exists():
        msg = f"{path} is missing: a CAPS folder needs a data.tsv"
        raise InvalidArgument(msg)
    with open(path, newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = set(TSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            msg = f"{path} lacks column(s) {sorted(missing)}; it needs {', '.join(TSV_COLUMNS)}"
            raise InvalidArgument(msg)
        rows, seen = [], set()
        for line_no, row in enumerate(reader, start=2):
            key = (row["participant_id"], row["session_id"])
            if key in seen:
                continue
            seen.add(key)
            if row["diagnosis"] not in LABEL_NAMES or row["subtype"] not in ("0", "1", "2"):
                msg = (
                    f"{path} line {line_no}: diagnosis {row['diagnosis']!r} / subtype "
                    f"{row['subtype']!r}; accepted: diagnosis AD or CN, subtype 0, 1 or 2"
                )
                raise InvalidArgument(msg)
            rows.append((key[0], key[1], LABEL_NAMES.index(row["diagnosis"]), int(row["subtype"])))
    return rows


def read_caps(root: str | Path) -> Cohort:
    """Read a ClinicaDL shepplogan CAPS folder (tensors loaded with ``weights_only=True``)."""
    images, rows = read_caps_tensors(Path(root), tensor_relpath, dims=2)
    labels = np.array([r[2] for r in rows], np.int8)
    subtypes = np.array([r[3] for r in rows], np.int8)
    return Cohort(images, labels, subtypes, participant_ids=[r[0] for r in rows])


def read_caps_tensors(
    root: Path, tensor_path: Callable[[str, str], Path], dims: int
) -> tuple[np.ndarray, list[tuple[str, str, int, int]]]:
    """The stacked ``[1, N, ...]`` float32 tensors (``dims`` spatial axes of one size N) of the
    participants of ``root``'s TSV at ``tensor_path(pid, session)``, and the TSV's rows."""
    import torch  # start-up: cohort generation and .npz I/O never load torch

    rows = read_tsv(root / TSV_NAME)
    arrays, size = [], None
    for pid, ses, _, _ in rows:
        path = root / tensor_path(pid, ses)
        if not path.exists() and ses in OTHER_SESSION:  # ClinicaDL 0.x and 1.x spellings
            path = root / tensor_path(pid, OTHER_SESSION[ses])
        if not path.exists():
            msg = f"missing tensor for {pid} {ses}: {root / tensor_path(pid, ses)}"
            raise InvalidArgument(msg)
        try:
            t = torch.load(path, weights_only=True, map_location="cpu")
        except Exception as exc:
            msg = f"unreadable tensor {path}: {exc}"
            raise InvalidArgument(msg) from exc
        ok = (
            isinstance(t, torch.Tensor)
            and t.ndim == dims + 1
            and t.shape[0] == 1
            and len(set(t.shape[1:])) == 1
            and t.dtype == torch.float32
        )
        if ok and size is None:
            size = int(t.shape[1])
        if not ok or t.shape[1] != size:
            got = f"{tuple(t.shape)} {t.dtype}" if isinstance(t, torch.Tensor) else type(t).__name__
            axes = ", ".join([str(size or "N"), *["N"] * (dims - 1)])
            msg = f"malformed tensor {path}: expected float32 [1, {axes}], got {got}"
            raise InvalidArgument(msg)
        arrays.append(t.numpy())
    if not arrays:
        msg = f"{root / TSV_NAME} lists no images"
        raise InvalidArgument(msg)
    return np.stack(arrays), rows
