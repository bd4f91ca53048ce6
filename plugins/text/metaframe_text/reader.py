"""Reading text: a string, a list of strings, a .txt file, or the text column of a JSONL / CSV file.

The reader only decodes and validates; subword tokenization happens in ``collate`` with one
batched ``encode_batch`` call (HF tokenizers, Rust, parallel), which is where the time goes.
A ``TextSample`` carries the vocabulary settings so that collate needs no options.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from metaframe.ops import require_file
from metaframe_registry import ReadError

from .files import TABLE_EXTENSIONS, decode_bytes, read_records

TEXT_EXTENSIONS = (".txt",)
FILE_EXTENSIONS = TEXT_EXTENSIONS + TABLE_EXTENSIONS


@dataclass(frozen=True)
class TextSample:
    """One text and the vocabulary it will be tokenized with (in collate)."""

    text: str
    vocab: str = "clip"
    context_length: int = 77
    lowercase: bool | None = None
    on_truncate: str = "warn"


def looks_like_path(source: str) -> bool:
    """``auto`` mode: a one-line string ending in a supported extension that names an existing file."""
    return (
        "\n" not in source
        and len(source) < 4096
        and source.lower().endswith(FILE_EXTENSIONS)
        and os.path.isfile(source)
    )


def read_text(
    source: Any,
    vocab: str = "clip",
    context_length: int = 77,
    lowercase: bool | None = None,
    input: Literal["auto", "text", "path"] = "auto",
    split: Literal["file", "lines"] = "file",
    text_column: str = "text",
    encoding: str = "utf-8",
    decode_errors: Literal["strict", "replace"] = "strict",
    on_truncate: Literal["warn", "error"] = "warn",
) -> TextSample | list[TextSample]:
    """A text sample, or a list of them when the source holds several.

    - ``str``: the text itself; with ``input="auto"`` (default) a one-line string ending in
      .txt/.jsonl/.csv/.tsv that names an existing file is read as that file (``input="text"``
      or ``"path"`` decides explicitly). ``pathlib.Path``: always a file.
    - a list / tuple of strings: one sample each.
    - ``.txt``: the whole file is one sample (``split="file"``) or each non-blank line is one
      (``split="lines"``; blank lines are skipped).
    - ``.jsonl`` / ``.csv`` / ``.tsv``: one sample per record, from ``text_column``.

    Undecodable bytes are an error naming the file, byte offset and line; with
    ``decode_errors="replace"`` they become U+FFFD and a warning says how many.
    """
    if input not in ("auto", "text", "path"):
        raise ValueError(f"input={input!r}: expected 'auto', 'text' or 'path'")
    if split not in ("file", "lines"):
        raise ValueError(f"split={split!r}: expected 'file' (one sample per file) or 'lines' (one per line)")
    if on_truncate not in ("warn", "error"):
        raise ValueError(f"on_truncate={on_truncate!r}: expected 'warn' or 'error'")

    def sample(text: str) -> TextSample:
        return TextSample(text, vocab, int(context_length), lowercase, on_truncate)

    if isinstance(source, (list, tuple)):
        for i, item in enumerate(source):
            if not isinstance(item, str):
                raise ReadError(source, f"item {i} is a {type(item).__name__}, expected str")
        return [sample(t) for t in source]
    if isinstance(source, bytes):
        return sample(decode_bytes(source, "<bytes>", encoding, decode_errors))
    is_path = isinstance(source, os.PathLike) or (
        isinstance(source, str) and (input == "path" or (input == "auto" and looks_like_path(source)))
    )
    if isinstance(source, str) and not is_path:
        return sample(source)
    if not is_path:
        raise ReadError(source, "expected a string, a list of strings, bytes or a path to a .txt / .jsonl / .csv file")
    path = require_file(source, what="a text file")  # Modality.read leaves str sources to text
    if path.suffix.lower() in TABLE_EXTENSIONS:
        records = read_records(path, text_column, None, encoding, decode_errors)
        return [sample(text) for text, _ in records]
    text = decode_bytes(path.read_bytes(), path, encoding, decode_errors)
    if not text.strip():
        raise ReadError(source, "file is empty (no text)" if text == "" else "file holds only whitespace")
    if split == "file":
        return sample(text)
    return [sample(line) for line in text.splitlines() if line.strip()]


def read_dataset(
    path: Any,
    text_column: str = "text",
    label_column: str | None = None,
    vocab: str = "clip",
    context_length: int = 77,
    lowercase: bool | None = None,
    encoding: str = "utf-8",
    decode_errors: Literal["strict", "replace"] = "strict",
    on_truncate: Literal["warn", "error"] = "warn",
    split: Literal["file", "lines"] = "lines",
) -> list[tuple[TextSample, Any]]:
    """``(sample, label)`` pairs from a JSONL / CSV / TSV file (label None without ``label_column``).

    A .txt file gives one sample per non-blank line (``split="lines"``), labels None. Labels are
    returned as found (JSON values, CSV strings); mapping them to class ids is the caller's.
    """
    p = require_file(path, what="a .txt / .jsonl / .csv / .tsv file")
    if p.suffix.lower() in TABLE_EXTENSIONS:
        records = read_records(p, text_column, label_column, encoding, decode_errors)
        return [(TextSample(t, vocab, int(context_length), lowercase, on_truncate), y) for t, y in records]
    if label_column is not None:
        raise ReadError(path, f"label_column={label_column!r} needs a .jsonl / .csv / .tsv file, got {p.suffix or 'no extension'}")
    samples = read_text(p, vocab=vocab, context_length=context_length, lowercase=lowercase, split=split,
                        encoding=encoding, decode_errors=decode_errors, on_truncate=on_truncate)
    items = samples if isinstance(samples, list) else [samples]
    return [(s, None) for s in items]

