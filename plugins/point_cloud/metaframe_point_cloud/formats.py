"""File formats → named columns (``{"x": array, "y": ..., "nx": ..., "red": ...}``).

Each loader returns float or integer 1-D numpy columns of one length, keyed by lower-case
field name; ``reader.py`` picks xyz and the requested features from them. Every problem
becomes a ``ReadError`` naming the file.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from metaframe.ops import check_declared_size, load_npy
from metaframe_registry import ReadError

Columns = dict[str, np.ndarray]

# names given to the columns of headerless tables and arrays, by column count
HEADERLESS: dict[int, list[str]] = {
    3: ["x", "y", "z"],
    4: ["x", "y", "z", "intensity"],
    6: ["x", "y", "z", "nx", "ny", "nz"],  # ModelNet40 resampled .txt convention
    7: ["x", "y", "z", "intensity", "red", "green", "blue"],
    9: ["x", "y", "z", "red", "green", "blue", "nx", "ny", "nz"],
}


def headerless_names(width: int, columns: list[str] | None, source: Any) -> list[str]:
    if columns is not None:
        if len(columns) != width:
            raise ReadError(source, f"has {width} columns but the `columns` option names {len(columns)}: {columns}")
        return [c.lower() for c in columns]
    if width < 3:
        raise ReadError(source, f"has {width} columns per point, expected at least 3 (x, y, z)")
    return HEADERLESS.get(width, ["x", "y", "z", *[f"f{i}" for i in range(3, width)]])


def array_columns(array: np.ndarray, columns: list[str] | None, source: Any) -> Columns:
    if array.ndim != 2:
        raise ReadError(source, f"expected an array [points, 3 + features], got shape {array.shape}")
    if array.dtype.kind not in "fiub":
        raise ReadError(source, f"expected a numeric array, got dtype {array.dtype}")
    names = headerless_names(array.shape[1], columns, source)
    return {name: array[:, i] for i, name in enumerate(names)}


_PLY_BYTES = {"char": 1, "uchar": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2, "int16": 2, "uint16": 2,
              "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4, "float32": 4, "double": 8, "float64": 8}


def check_ply_header(path: Path) -> None:
    """Refuse a PLY header whose element counts the file cannot hold (10^12 vertices in 1 kB),
    before plyfile allocates arrays for them. Smallest row: the binary sizes of its properties
    (a list: its count alone), or 2 bytes per property in ASCII (a digit and a separator)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(65536)
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        return  # not a PLY header: plyfile reports it
    lines = head[:end].decode("ascii", errors="replace").splitlines()
    ascii_format = any(ln.split()[:2] == ["format", "ascii"] for ln in lines if ln.strip())
    data_bytes = size - (head.find(b"\n", end) + 1 if head.find(b"\n", end) >= 0 else size)
    elements: list[list[Any]] = []  # [name, count, smallest row bytes]
    for ln in lines:
        words = ln.split()
        if words[:1] == ["element"] and len(words) >= 3:
            try:
                elements.append([words[1], int(words[2]), 0])
            except ValueError:
                return  # plyfile reports the malformed count
        elif words[:1] == ["property"] and elements:
            kind = words[2] if words[1:2] == ["list"] and len(words) > 2 else words[1] if len(words) > 1 else ""
            elements[-1][2] += 2 if ascii_format else _PLY_BYTES.get(kind, 1)
    total = 0
    for name, count, row in elements:
        check_declared_size(count, row, data_bytes, path, f"'{name}' elements")
        total += count * max(row, 1)
    check_declared_size(total, 1, data_bytes, path, "bytes of elements")


def load_ply(path: Path, mesh_points: int | None = None, seed: int = 0) -> Columns:
    """PLY vertices (every vertex property), or ``mesh_points`` points sampled on its faces."""
    from plyfile import PlyData, PlyParseError

    try:
        check_ply_header(path)
    except ReadError as exc:
        raise ReadError(path, f"not a valid PLY file: {exc.problem}") from exc
    try:
        ply = PlyData.read(str(path))
    except (PlyParseError, ValueError, EOFError, OSError, IndexError, UnicodeDecodeError, MemoryError) as exc:
        raise ReadError(path, f"not a valid PLY file ({exc})") from exc
    if "vertex" not in ply:
        names = [e.name for e in ply.elements]
        raise ReadError(path, f"PLY file has no 'vertex' element (found: {names})")
    vertex = ply["vertex"].data
    columns = {name.lower(): np.asarray(vertex[name]) for name in vertex.dtype.names or ()}
    if not mesh_points:
        return columns
    if "face" not in ply:
        raise ReadError(path, "mesh_points asks for surface sampling, but the PLY file has no 'face' element")
    faces_data = ply["face"].data
    key = next((k for k in ("vertex_indices", "vertex_index") if k in (faces_data.dtype.names or ())), None)
    if key is None:
        raise ReadError(path, "PLY 'face' element has no vertex_indices property")
    n_vertices = len(vertex)
    triangles: list[list[int]] = []
    for j, ids in enumerate(faces_data[key]):
        ids = [int(i) for i in ids]
        if any(i < 0 or i >= n_vertices for i in ids):
            raise ReadError(path, f"PLY face {j} refers to vertices outside 0..{n_vertices - 1}")
        triangles.extend([ids[0], ids[t], ids[t + 1]] for t in range(1, len(ids) - 1))
    if not triangles:
        raise ReadError(path, "mesh_points asks for surface sampling, but the PLY faces hold no triangles")
    xyz = np.stack([columns["x"], columns["y"], columns["z"]], axis=1).astype(np.float64)
    points = sample_surface(xyz, np.array(triangles), mesh_points, seed)
    return {"x": points[:, 0], "y": points[:, 1], "z": points[:, 2]}


def load_off(path: Path, mesh_points: int | None = None, seed: int = 0) -> Columns:
    """OFF (ModelNet): vertices, or ``mesh_points`` points sampled on the faces by area."""
    text = path.read_text(errors="replace")
    tokens = text.split("\n")
    lines = [ln.split("#", 1)[0].strip() for ln in tokens]
    lines = [ln for ln in lines if ln]
    if not lines or not lines[0].upper().startswith("OFF"):
        raise ReadError(path, "not an OFF file (first line must start with 'OFF')")
    head = lines[0][3:].split()  # ModelNet writes 'OFF490 518 0' on one line
    rest = lines[1:]
    if not head:
        if not rest:
            raise ReadError(path, "OFF file ends before its counts line")
        head, rest = rest[0].split(), rest[1:]
    try:
        n_vertices, n_faces = int(head[0]), int(head[1])
    except (ValueError, IndexError) as exc:
        raise ReadError(path, f"OFF counts line {' '.join(head)!r} is not 'vertices faces edges'") from exc
    if len(rest) < n_vertices:
        raise ReadError(path, f"OFF header declares {n_vertices} vertices, the file holds {len(rest)} lines")
    try:
        vertices = np.array([[float(v) for v in ln.split()[:3]] for ln in rest[:n_vertices]], dtype=np.float64)
    except ValueError as exc:
        raise ReadError(path, f"OFF vertex line is not numeric ({exc})") from exc
    if vertices.shape != (n_vertices, 3):
        raise ReadError(path, "an OFF vertex line has fewer than 3 coordinates")
    if mesh_points:
        if len(rest) - n_vertices < n_faces:
            raise ReadError(path, f"OFF header declares {n_faces} faces, the file holds {len(rest) - n_vertices} face lines")
        faces: list[list[int]] = []
        for ln in rest[n_vertices : n_vertices + n_faces]:
            try:
                parts = [int(p) for p in ln.split()]
            except ValueError as exc:
                raise ReadError(path, f"OFF face line {ln!r} is not integers") from exc
            count, ids = parts[0], parts[1 : 1 + parts[0]]
            if len(ids) != count or any(i < 0 or i >= n_vertices for i in ids):
                raise ReadError(path, f"OFF face {ln!r} refers to vertices outside 0..{n_vertices - 1}")
            faces.extend([ids[0], ids[j], ids[j + 1]] for j in range(1, count - 1))  # fan triangulation
        if not faces:
            raise ReadError(path, "mesh_points asks for surface sampling, but the OFF file has no faces")
        vertices = sample_surface(vertices, np.array(faces), mesh_points, seed)
    return {"x": vertices[:, 0], "y": vertices[:, 1], "z": vertices[:, 2]}


def sample_surface(vertices: np.ndarray, faces: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` points uniform on a triangle mesh's surface (area-weighted, seeded)."""
    rng = np.random.default_rng(seed)
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    total = area.sum()
    probs = area / total if total > 0 else np.full(len(area), 1 / len(area))
    tri = rng.choice(len(faces), size=count, p=probs)
    u, v = rng.random(count), rng.random(count)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    return a[tri] + u[:, None] * (b[tri] - a[tri]) + v[:, None] * (c[tri] - a[tri])


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _table_problem(rows: list[tuple[int, list[str]]]) -> str:
    """The first ragged or non-numeric row, by file line number."""
    width = len(rows[0][1])
    for number, tokens in rows:
        if len(tokens) != width:
            return f"line {number} has {len(tokens)} columns, the first row has {width}"
        bad = next((t for t in tokens if not _is_number(t)), None)
        if bad is not None:
            return f"line {number}: {bad!r} is not a number"
    return "rows could not be parsed as numbers"


def load_table(path: Path, columns: list[str] | None = None) -> Columns:
    """XYZ / TXT / CSV / PTS: one point per line, comma or whitespace separated, optional header."""
    text = path.read_text(errors="replace")
    numbered = [
        (i, ln) for i, ln in enumerate(text.splitlines(), start=1) if ln.strip() and not ln.lstrip().startswith(("#", "//"))
    ]
    if not numbered:
        raise ReadError(path, "file holds no points")
    delimiter = "," if "," in numbered[0][1] else None
    split = (lambda s: [t.strip() for t in s.split(",")]) if delimiter else str.split
    first = split(numbered[0][1])
    header: list[str] | None = None
    if not all(_is_number(t) for t in first):
        header = [t.strip().strip('"').lower() for t in first]
        numbered = numbered[1:]
    elif path.suffix.lower() == ".pts" and len(first) == 1 and len(numbered) > 1 and len(split(numbered[1][1])) > 1:
        numbered = numbered[1:]  # .pts files may start with the point count
    if not numbered:
        raise ReadError(path, "file has a header but no points")
    try:
        data = np.loadtxt(io.StringIO("\n".join(ln for _, ln in numbered)), delimiter=delimiter, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        problem = _table_problem([(i, split(ln)) for i, ln in numbered])
        raise ReadError(path, f"rows must all hold the same number of numeric columns: {problem}") from exc
    if header is not None and len(header) != data.shape[1]:
        raise ReadError(path, f"header names {len(header)} columns, rows hold {data.shape[1]}")
    if header is None:
        return array_columns(data, columns, path)
    return {name: data[:, i] for i, name in enumerate(header)}


def load_numpy(path: Path, key: str | None = None, columns: list[str] | None = None) -> Columns:
    """``.npy`` / ``.npz``; a truncated archive or member (read lazily) is a ``ReadError`` too."""
    try:
        return _load_numpy(path, key, columns)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, MemoryError, KeyError) as exc:
        if isinstance(exc, ReadError):
            raise
        raise ReadError(path, f"not a readable .npy/.npz file ({type(exc).__name__}: {exc})") from exc


def _load_numpy(path: Path, key: str | None, columns: list[str] | None) -> Columns:
    with path.open("rb") as f:
        plain = f.read(6) == b"\x93NUMPY"
    # a plain .npy goes through the core loader, which refuses a header claiming 10^12 points
    loaded = load_npy(path) if plain else np.load(path, allow_pickle=False)
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            if key is None:
                key = next((k for k in ("points", "xyz", "pos", "data") if k in names), names[0] if len(names) == 1 else None)
            if key is None or key not in names:
                raise ReadError(path, f"choose the array with the `key` option; the archive holds {names}")
            array = loaded[key]
            if "normals" in names and key != "normals" and columns is None and array.ndim == 2 and array.shape[1] == 3:
                array = np.concatenate([array, loaded["normals"]], axis=1)
    else:
        array = loaded
    return array_columns(np.asarray(array), columns, path)


_PCD_TYPES = {("F", 4): "f4", ("F", 8): "f8", ("U", 1): "u1", ("U", 2): "u2", ("U", 4): "u4", ("U", 8): "u8",
              ("I", 1): "i1", ("I", 2): "i2", ("I", 4): "i4", ("I", 8): "i8"}


def load_pcd(path: Path) -> Columns:
    """PCD v0.7 (Point Cloud Library), ASCII and binary; packed ``rgb`` becomes red/green/blue."""
    raw = path.read_bytes()
    header: dict[str, list[str]] = {}
    offset = 0
    while True:
        end = raw.find(b"\n", offset)
        if end < 0:
            raise ReadError(path, "PCD header has no DATA line")
        line = raw[offset:end].decode("ascii", errors="replace").strip()
        offset = end + 1
        if not line or line.startswith("#"):
            continue
        key, *values = line.split()
        header[key.upper()] = values
        if key.upper() == "DATA":
            break
    for required in ("FIELDS", "SIZE", "TYPE"):
        if required not in header:
            raise ReadError(path, f"PCD header lacks {required}")
    fields = [f.lower() for f in header["FIELDS"]]
    sizes, types = header["SIZE"], header["TYPE"]
    counts = header.get("COUNT", ["1"] * len(fields))
    if not len(fields) == len(sizes) == len(types) == len(counts):
        raise ReadError(path, f"PCD header: FIELDS, SIZE, TYPE and COUNT differ in length ({len(fields)}, {len(sizes)}, {len(types)}, {len(counts)})")
    try:
        n_points = int(header["POINTS"][0]) if "POINTS" in header else int(header["WIDTH"][0]) * int(header["HEIGHT"][0])
        dtype_fields = []
        for name, size, kind, count in zip(fields, sizes, types, counts):
            if int(count) < 1:
                raise ValueError(f"COUNT {count} for field {name!r}, expected >= 1")
            base = _PCD_TYPES[(kind.upper(), int(size))]
            dtype_fields.append((name, base, (int(count),)) if int(count) > 1 else (name, base))
    except (KeyError, ValueError, IndexError) as exc:
        raise ReadError(path, f"PCD header has an unsupported or malformed field description ({exc})") from exc
    dtype = np.dtype(dtype_fields)
    mode = header["DATA"][0].lower() if header["DATA"] else ""
    if n_points < 0:
        raise ReadError(path, f"PCD header declares {n_points} points, expected a count >= 0")
    if mode == "ascii":
        check_declared_size(n_points, 2 * len(fields), len(raw) - offset, path, "points")
        text = raw[offset:].decode("ascii", errors="replace")
        rows = [ln for ln in text.splitlines() if ln.strip()]
        width = sum(int(c) for c in counts)
        try:
            flat = np.loadtxt(io.StringIO("\n".join(rows)), dtype=np.float64, ndmin=2) if rows else np.zeros((0, width))
        except ValueError as exc:
            raise ReadError(path, f"PCD ascii data: {str(exc).split(';')[0]}") from exc
        if flat.shape[1] != width or flat.shape[0] != n_points:
            raise ReadError(path, f"PCD header declares {n_points} points of {width} values, data holds {flat.shape[0]} rows of {flat.shape[1]}")
        data = np.zeros(n_points, dtype=dtype)
        col = 0
        for name, count in zip(fields, counts):
            c = int(count)
            values = flat[:, col : col + c]
            if dtype[name].base == np.float32 and name in ("rgb", "rgba"):
                values = values.astype(np.float32)
            data[name] = (values[:, 0] if c == 1 else values).astype(dtype[name].base)
            col += c
    elif mode == "binary":
        need = n_points * dtype.itemsize  # checked against the bytes before frombuffer allocates
        if len(raw) - offset < need:
            raise ReadError(path, f"PCD binary data is truncated: {len(raw) - offset} bytes, header declares {need}")
        data = np.frombuffer(raw, dtype=dtype, count=n_points, offset=offset)
    elif mode == "binary_compressed":
        raise ReadError(path, "PCD 'binary_compressed' data is not supported; save it as ascii or binary (pcl_convert_pcd_ascii_binary)")
    else:
        raise ReadError(path, f"PCD DATA mode {mode!r} is not ascii, binary or binary_compressed")
    columns: Columns = {}
    for name in fields:
        if name == "_":
            continue
        if name in ("rgb", "rgba"):
            packed = np.ascontiguousarray(data[name]).view(np.uint32)
            columns["red"] = ((packed >> 16) & 255).astype(np.uint8)
            columns["green"] = ((packed >> 8) & 255).astype(np.uint8)
            columns["blue"] = (packed & 255).astype(np.uint8)
        elif data[name].ndim == 1:
            columns[name] = np.asarray(data[name])
    return columns


def load_file(path: str | os.PathLike[str], *, columns: list[str] | None, key: str | None, mesh_points: int | None, seed: int) -> Columns:
    p = Path(path)  # missing / directory / empty: checked by Modality.read, or by the dataset (metaframe.ops.require_file)
    suffix = p.suffix.lower()
    if suffix == ".ply":
        return load_ply(p, mesh_points, seed)
    if suffix == ".off":
        return load_off(p, mesh_points, seed)
    if suffix in (".xyz", ".txt", ".csv", ".pts"):
        return load_table(p, columns)
    if suffix in (".npy", ".npz"):
        return load_numpy(p, key, columns)
    if suffix == ".pcd":
        return load_pcd(p)
    raise ReadError(p, f"unknown point-cloud extension {suffix!r} (expected .ply, .off, .xyz, .txt, .csv, .pts, .npy, .npz or .pcd)")
