"""Hyperspectral cube files → numpy arrays ``[H, W, bands]`` (and 2-D label maps).

Formats: MATLAB ``.mat`` (scipy.io; the Indian Pines / Pavia files), ``.npy`` / ``.npz``, and
ENVI (``.hdr`` + raw data in bsq / bil / bip interleave, through the ``spectral`` package).
A file holding several arrays is searched for the one named by ``variable``, or for its single
3-D array (2-D for label maps); every problem is a ``ReadError`` naming the file. These
functions are public and also open label maps and ENVI data files that ``Modality.read`` never
sees, so each checks its file with ``metaframe.ops.require_file``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from metaframe.ops import load_npy, require_file
from metaframe_registry import ReadError

MAT_SUFFIXES = (".mat",)
NUMPY_SUFFIXES = (".npy", ".npz")
ENVI_HEADER = ".hdr"
ENVI_DATA_SUFFIXES = (".img", ".raw", ".dat", ".bsq", ".bil", ".bip", "")


def pick_array(arrays: dict[str, Any], path: Path, ndim: int, variable: str | None, what: str) -> np.ndarray:
    """The array called ``variable``, or the only numeric ``ndim``-D array among ``arrays``."""
    numeric = {
        k: v for k, v in arrays.items()
        if not k.startswith("__") and isinstance(v, np.ndarray) and (v.dtype.kind in "biuf")
    }
    shapes = ", ".join(f"{k} {v.shape}" for k, v in numeric.items()) or "none"
    if variable is not None:
        if variable not in numeric:
            raise ReadError(path, f"has no numeric array {variable!r}; arrays: {shapes}")
        array = numeric[variable]
        if array.ndim != ndim:
            raise ReadError(path, f"array {variable!r} has shape {array.shape}, expected {ndim}-D ({what})")
        return array
    found = {k: v for k, v in numeric.items() if v.ndim == ndim}
    if len(found) != 1:
        problem = "no" if not found else "several"
        raise ReadError(path, f"{problem} {ndim}-D arrays ({what}); arrays: {shapes}; name one with variable=")
    return next(iter(found.values()))


def load_mat(path: Path, variable: str | None = None, ndim: int = 3, what: str = "cube [H, W, bands]") -> np.ndarray:
    import scipy.io

    require_file(path, what=f"a {what.split(' [')[0]} file")
    try:
        arrays = scipy.io.loadmat(path)
    except NotImplementedError as exc:  # scipy's answer for MATLAB v7.3 (HDF5) files
        raise ReadError(path, "MATLAB v7.3 (HDF5) file, which scipy.io cannot read; save it with -v7 or as .npy") from exc
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError ... for damaged files
        raise ReadError(path, f"truncated or corrupt MATLAB file ({type(exc).__name__}: {exc})") from exc
    return pick_array(arrays, path, ndim, variable, what)


def load_numpy(path: Path, variable: str | None = None, ndim: int = 3, what: str = "cube [H, W, bands]") -> np.ndarray:
    require_file(path, what=f"a {what.split(' [')[0]} file")
    if path.suffix.lower() == ".npy":  # header checked against the file size before allocating
        array = load_npy(path)
        if array.ndim != ndim or array.dtype.kind not in "biuf":
            raise ReadError(path, f"holds a {array.dtype} array of shape {array.shape}, expected a numeric {what}")
        return array
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            arrays = {"array": loaded}
        else:
            with loaded:
                arrays = {k: loaded[k] for k in loaded.files}
    except Exception as exc:  # ValueError / EOFError / BadZipFile / OSError for damaged files
        raise ReadError(path, f"truncated or corrupt {path.suffix} file ({type(exc).__name__}: {exc})") from exc
    if path.suffix.lower() == ".npy":
        array = arrays["array"]
        if array.ndim != ndim or array.dtype.kind not in "biuf":
            raise ReadError(path, f"holds a {array.dtype} array of shape {array.shape}, expected a numeric {what}")
        return array
    return pick_array(arrays, path, ndim, variable, what)


def envi_pair(path: Path) -> tuple[Path, Path | None]:
    """(header, data file) of an ENVI image given either one; the data file may be unknown (None)."""
    if path.suffix.lower() == ENVI_HEADER:
        header = path
        for suffix in ENVI_DATA_SUFFIXES:
            candidate = path.with_suffix(suffix)
            if candidate != header and candidate.is_file():
                return header, candidate
        return header, None
    for header in (Path(os.fspath(path) + ENVI_HEADER), path.with_suffix(ENVI_HEADER)):
        if header.is_file():
            return header, path
    raise ReadError(path, f"no ENVI header found beside it (looked for {path.name}.hdr and {path.stem}.hdr)")


def load_envi(path: Path) -> np.ndarray:
    """An ENVI image (any interleave, byte order, header offset) as ``[lines, samples, bands]``."""
    from spectral.io import envi

    require_file(path, what="a cube file")
    header, data = envi_pair(path)
    require_file(header, what="an ENVI header")
    if data is None:
        raise ReadError(header, f"ENVI data file not found beside the header (tried {', '.join(s or '(no suffix)' for s in ENVI_DATA_SUFFIXES)})")
    require_file(data, what="an ENVI data file")
    try:
        image = envi.open(os.fspath(header), os.fspath(data))
    except Exception as exc:  # spectral's header errors (missing 'ENVI', missing lines/bands, ...)
        raise ReadError(header, f"invalid ENVI header ({type(exc).__name__}: {exc})") from exc
    expected = image.offset + image.nrows * image.ncols * image.nbands * image.sample_size
    actual = data.stat().st_size
    if actual < expected:
        raise ReadError(
            data,
            f"truncated ENVI data: header says {image.nrows} lines x {image.ncols} samples x {image.nbands} bands "
            f"of {image.dtype} ({expected} bytes with offset), file has {actual} bytes",
        )
    try:
        return np.array(image.open_memmap(interleave="bip"))
    except Exception as exc:
        raise ReadError(data, f"cannot read ENVI data ({type(exc).__name__}: {exc})") from exc


def load_cube_file(path: str | os.PathLike[str], variable: str | None = None) -> np.ndarray:
    """Dispatch on the suffix: ``.mat``, ``.npy`` / ``.npz``, else ENVI (header or data file)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in MAT_SUFFIXES:
        return load_mat(p, variable)
    if suffix in NUMPY_SUFFIXES:
        return load_numpy(p, variable)
    return load_envi(p)


def load_label_file(path: str | os.PathLike[str], variable: str | None = None) -> np.ndarray:
    """A 2-D label map ``[H, W]`` from ``.mat`` / ``.npy`` / ``.npz`` (0 = unlabelled)."""
    p = Path(path)
    suffix = p.suffix.lower()
    what = "label map [H, W]"
    if suffix in MAT_SUFFIXES:
        return load_mat(p, variable, ndim=2, what=what)
    if suffix in NUMPY_SUFFIXES:
        return load_numpy(p, variable, ndim=2, what=what)
    raise ReadError(path, f"label maps are read from .mat, .npy or .npz files, got {suffix or 'no suffix'!r}")
