"""Hostile files for a manifest's ``extensions``: what a reader meets outside the happy path.

Issue 12 swept hundreds of bad inputs over every listed format and found readers that let
``BadZipFile``, ``UnicodeDecodeError``, ``MemoryError`` or a plain ``ValueError`` escape, or
allocated what a header claimed. This module generates that sweep for any plugin (torch-free,
standard library only, every file under ``MAX_BYTES``), so third-party plugins get it too.

Cases, per extension:

- ``empty``: 0 bytes (``Modality.read`` refuses it before the reader runs);
- ``truncated``: the first half of a valid example with that extension (the plugin's
  ``examples``, else a generic one from ``VALID``; skipped when there is neither);
- ``random-bytes``: 4 KiB of seeded random bytes;
- ``png-bytes`` (``wav-bytes`` for ``.png``) and ``text``: another format's content under
  this extension;
- ``header-only``: the first 16 bytes of that valid file (when it is over 64 bytes);
- ``huge-claim``: a well-formed header claiming an absurd size (10^12 pixels, samples or
  points) over a few bytes of data, for the formats with a generic header (``HUGE_CLAIMS``);
- ``non-finite``: well-formed numbers with a NaN, +inf and -inf among them, for ``.npy``,
  ``.npz`` and plain-number text (``.csv`` / ``.tsv`` with a header, ``.txt`` / ``.xyz`` /
  ``.pts``): the reader refuses them, or fills them by the missing-value rule it documents,
  and never returns a non-finite sample;
- text formats (``TEXT_FORMATS``): ``long-line`` (one 512 KiB field, over the ``csv``
  module's field limit), ``utf16-text`` (a UTF-16 table with its byte-order mark);
  ``deep-nesting`` for JSON and GML (5000 levels), ``entity-expansion`` for GraphML (the
  "billion laughs").
"""

from __future__ import annotations

import io
import struct
import wave
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Callable, Iterable, Mapping

MAX_BYTES = 1 << 20
"""No generated file (or companion) is larger than this: 1 MiB."""

RANDOM_BYTES = 4096
HUGE = 10**12
"""The element count a huge-claim header asks for: more than any machine can allocate."""


@dataclass(frozen=True)
class HostileFile:
    """One generated input: ``case`` under ``extension``; ``companions`` are files beside it (suffix -> bytes)."""

    extension: str
    case: str
    content: bytes
    companions: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.case}{self.extension}"

    def write(self, folder: Path) -> Path:
        """Write the file (and its companions) into ``folder/<extension>/`` and return its path."""
        target = folder / (self.extension.lstrip(".") or "no-extension")
        target.mkdir(parents=True, exist_ok=True)
        path = target / self.filename
        path.write_bytes(self.content)
        for suffix, content in self.companions.items():
            path.with_suffix(suffix).write_bytes(content)
        return path


# -- small valid files of other formats (the "wrong content" cases) ---------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int = 8, height: int = 8, pixels: bytes | None = None) -> bytes:
    """An 8-bit greyscale PNG; ``pixels`` defaults to a gradient (the IDAT may hold fewer rows than claimed)."""
    if pixels is None:
        pixels = b"".join(b"\x00" + bytes((x * 32 + y) % 256 for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(pixels))
        + _png_chunk(b"IEND", b"")
    )


def wav_bytes(frames: int = 160, rate: int = 16000) -> bytes:
    """A mono 16-bit PCM WAV of a ramp (10 ms at 16 kHz)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", (i * 200) % 32768) for i in range(frames)))
    return buffer.getvalue()


def npy_bytes(rows: int = 4, columns: int = 3, values: Iterable[float] | None = None) -> bytes:
    """A version-1.0 ``.npy`` of float32 ``[rows, columns]`` (``values``, else 0, 1, 2, ...), written without numpy."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}".encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    data = struct.pack(f"<{rows * columns}f", *(range(rows * columns) if values is None else values))
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


NON_FINITE_VALUES = [0.0, 1.0, 2.0, 3.0, float("nan"), 5.0, float("inf"), 7.0, 8.0, 9.0, 10.0, float("-inf")]
"""The ``non-finite`` case's 4 x 3 values: a NaN, a +inf and a -inf among finite ones."""


def _non_finite(extension: str) -> bytes | None:
    """Well-formed numbers with NaN / inf among them, for the formats that hold plain numbers."""
    if extension == ".npy":
        return npy_bytes(values=NON_FINITE_VALUES)
    if extension == ".npz":
        return npz_bytes(npy_bytes(values=NON_FINITE_VALUES))
    rows = [NON_FINITE_VALUES[i : i + 3] for i in range(0, 12, 3)]
    if extension in (".csv", ".tsv"):
        sep = "," if extension == ".csv" else "\t"
        return ("\n".join([sep.join("abc"), *(sep.join(map(str, r)) for r in rows)]) + "\n").encode()
    if extension in (".txt", ".xyz", ".pts"):
        return ("\n".join(" ".join(map(str, r)) for r in rows) + "\n").encode()
    return None


def npz_bytes(member: bytes | None = None) -> bytes:
    """A ``.npz`` (a zip) holding ``arr_0.npy``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("arr_0.npy", npy_bytes() if member is None else member)
    return buffer.getvalue()


VALID: dict[str, Callable[[], bytes]] = {".npy": npy_bytes, ".npz": npz_bytes, ".wav": wav_bytes, ".png": png_bytes}
"""Small valid files of generic formats: the ``truncated`` case uses one when ``examples`` wrote none."""


TEXT = b"this is plain text, not the format the extension names\nsecond line: 1, 2, three\n"


# -- huge-claim headers -------------------------------------------------------------------------


def _npy_huge() -> bytes:
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({HUGE}, 3), }}".encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\x00" * 48


def _npz_huge() -> bytes:
    return npz_bytes(_npy_huge())


def _wav_huge() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    data = b"\x00\x01" * 32
    return (
        b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", 0xFFFFFFE0) + data
    )


def _png_huge() -> bytes:
    return png_bytes(1_000_000, 1_000_000, pixels=b"\x00" * 64)


def _jpeg_huge() -> bytes:
    sof = struct.pack(">BHHB", 8, 65535, 65535, 1) + bytes((1, 0x11, 0))
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\x00" * 64 + b"\xff\xd9"


def _bmp_huge() -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, 1_000_000, 1_000_000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    pixels = b"\x00" * 64
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info)) + info + pixels


def _gif_huge() -> bytes:
    screen = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x08" + b"\x04\x00\x01\x02\x03" + b"\x00"
    return screen + image + b"\x3b"


def _tiff_huge() -> bytes:
    entries = [  # (tag, type, count, value): SHORT = 3, LONG = 4
        (256, 4, 1, 1_000_000), (257, 4, 1, 1_000_000), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
        (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, 1_000_000), (279, 4, 1, 64),
    ]
    data_offset = 8 + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = data_offset if tag == 273 else value
        ifd += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\x00" * 64


def _dicom_huge() -> bytes:
    def element(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
            return struct.pack("<HH", group, elem) + vr + b"\x00\x00" + struct.pack("<I", len(value)) + value
        return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value

    syntax = element(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1\x00")
    meta = element(0x0002, 0x0000, b"UL", struct.pack("<I", len(syntax))) + syntax
    us = lambda v: struct.pack("<H", v)  # noqa: E731 - an unsigned short value
    body = b"".join([
        element(0x0028, 0x0002, b"US", us(1)),
        element(0x0028, 0x0004, b"CS", b"MONOCHROME2 "),
        element(0x0028, 0x0010, b"US", us(65535)),
        element(0x0028, 0x0011, b"US", us(65535)),
        element(0x0028, 0x0100, b"US", us(16)),
        element(0x0028, 0x0101, b"US", us(16)),
        element(0x0028, 0x0102, b"US", us(15)),
        element(0x0028, 0x0103, b"US", us(0)),
        element(0x7FE0, 0x0010, b"OW", b"\x00" * 64),
    ])
    return b"\x00" * 128 + b"DICM" + meta + body


def _mat_huge() -> bytes:
    text = b"MATLAB 5.0 MAT-file, written by the metaframe kit: a huge-claim header"
    header = text.ljust(116, b" ") + b"\x00" * 8 + struct.pack("<H", 0x0100) + b"IM"
    flags = struct.pack("<II", 6, 8) + struct.pack("<II", 6, 0)  # miUINT32: mxDOUBLE_CLASS
    dims = struct.pack("<II", 5, 12) + struct.pack("<iii", 100_000, 100_000, 100_000) + b"\x00" * 4
    name = struct.pack("<II", 1, 1) + b"x" + b"\x00" * 7
    real = struct.pack("<II", 9, 64) + b"\x00" * 64  # miDOUBLE: 8 values for 10^15 claimed
    body = flags + dims + name + real
    return header + struct.pack("<II", 14, len(body)) + body


def _ply_huge() -> bytes:
    return (
        f"ply\nformat ascii 1.0\nelement vertex {HUGE}\nproperty float x\nproperty float y\nproperty float z\n"
        "end_header\n0 0 0\n1 1 1\n"
    ).encode()


def _pcd_huge() -> bytes:
    return (
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n"
        f"WIDTH {HUGE}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {HUGE}\nDATA binary\n"
    ).encode() + b"\x00" * 24


def _off_huge() -> bytes:
    return f"OFF\n{HUGE} 0 0\n0 0 0\n1 1 1\n".encode()


def _envi_huge() -> tuple[bytes, dict[str, bytes]]:
    header = (
        "ENVI\nsamples = 100000\nlines = 100000\nbands = 100000\nheader offset = 0\n"
        "file type = ENVI Standard\ndata type = 4\ninterleave = bsq\nbyte order = 0\n"
    ).encode()
    return header, {".img": b"\x00" * 64}


def _edge_list_huge() -> bytes:
    return f"0 1\n1 {HUGE}\n".encode()


HugeClaim = Callable[[], "bytes | tuple[bytes, dict[str, bytes]]"]

HUGE_CLAIMS: dict[str, HugeClaim] = {
    ".npy": _npy_huge,
    ".npz": _npz_huge,
    ".wav": _wav_huge,
    ".png": _png_huge,
    ".jpg": _jpeg_huge,
    ".jpeg": _jpeg_huge,
    ".bmp": _bmp_huge,
    ".gif": _gif_huge,
    ".tif": _tiff_huge,
    ".tiff": _tiff_huge,
    ".dcm": _dicom_huge,
    ".dicom": _dicom_huge,
    ".mat": _mat_huge,
    ".ply": _ply_huge,
    ".pcd": _pcd_huge,
    ".off": _off_huge,
    ".hdr": _envi_huge,
    ".edgelist": _edge_list_huge,
    ".edges": _edge_list_huge,
}
"""Extension -> a header that claims ~10^12 elements (pixels, samples, points, node ids) over a few bytes."""


# -- text-format cases ---------------------------------------------------------------------------

TEXT_FORMATS = frozenset(
    {".txt", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".xyz", ".pts", ".off", ".edgelist", ".edges", ".gml", ".graphml", ".hdr"}
)
"""Extensions of line-oriented text formats: they also get ``long-line`` and ``utf16-text``."""

NESTING = 5000
"""Depth of the ``deep-nesting`` case: past Python's recursion limit, well within a C stack."""


def _deep_nesting(extension: str) -> bytes | None:
    if extension in (".json", ".jsonl", ".ndjson"):
        return b"[" * NESTING + b"]" * NESTING + b"\n"
    if extension == ".gml":
        return b"graph [\n" + b"a [\n" * NESTING + b"]\n" * NESTING + b"]\n"
    return None


def _entity_expansion() -> bytes:
    """The "billion laughs": ten nested entities, each ten of the one before, in a few hundred bytes."""
    entities = ['<!ENTITY e0 "lol">'] + [f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10)]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE graphml [\n' + "\n".join(entities) + "\n]>\n"
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'
        '<node id="&e9;"/></graph></graphml>\n'
    ).encode()


def _text_cases(extension: str) -> list[HostileFile]:
    cases = []
    if extension in TEXT_FORMATS:
        cases.append(HostileFile(extension, "long-line", b"1" * (MAX_BYTES // 2)))  # one 512 KiB field, no newline
        cases.append(HostileFile(extension, "utf16-text", "x,y\n1,2\n3,4\n".encode("utf-16")))
    nested = _deep_nesting(extension)
    if nested is not None:
        cases.append(HostileFile(extension, "deep-nesting", nested))
    if extension == ".graphml":
        cases.append(HostileFile(extension, "entity-expansion", _entity_expansion()))
    return cases


# -- the generator ------------------------------------------------------------------------------


def _seed(extension: str, seed: int) -> int:
    return zlib.crc32(extension.encode()) ^ seed


def hostile_files(
    extensions: Iterable[str], examples: Mapping[str, bytes] | None = None, *, seed: int = 0
) -> list[HostileFile]:
    """The hostile cases for each extension; ``examples`` maps an extension to a valid file's bytes.

    Deterministic for a given ``seed``; every file is at most ``MAX_BYTES``.
    """
    examples = {ext.lower(): content for ext, content in (examples or {}).items()}
    files: list[HostileFile] = []
    for extension in dict.fromkeys(extensions):
        key = extension.lower()
        cases: list[HostileFile] = [HostileFile(extension, "empty", b"")]
        valid = examples.get(key)
        if valid is None and key in VALID:
            valid = VALID[key]()
        if valid is not None and len(valid) >= 2:
            cases.append(HostileFile(extension, "truncated", valid[: min(len(valid) // 2, MAX_BYTES)]))
        if valid is not None and len(valid) > 64:
            cases.append(HostileFile(extension, "header-only", valid[:16]))
        cases.append(HostileFile(extension, "random-bytes", Random(_seed(key, seed)).randbytes(RANDOM_BYTES)))
        if key == ".png":
            cases.append(HostileFile(extension, "wav-bytes", wav_bytes()))
        else:
            cases.append(HostileFile(extension, "png-bytes", png_bytes()))
        cases.append(HostileFile(extension, "text", TEXT))
        if key in HUGE_CLAIMS:
            made = HUGE_CLAIMS[key]()
            content, companions = made if isinstance(made, tuple) else (made, {})
            cases.append(HostileFile(extension, "huge-claim", content, companions))
        non_finite = _non_finite(key)
        if non_finite is not None:
            cases.append(HostileFile(extension, "non-finite", non_finite))
        cases.extend(_text_cases(key))
        for case in cases:
            sizes = [len(case.content), *map(len, case.companions.values())]
            if max(sizes) > MAX_BYTES:  # pragma: no cover - a guard on this module's own cases
                raise AssertionError(f"hostile case {case.filename} is {max(sizes)} bytes, over MAX_BYTES={MAX_BYTES}")
        files.extend(cases)
    return files
