"""Subword vocabularies through HF ``tokenizers``: CLIP's byte-level BPE, any tokenizer.json, a WordPiece vocab.txt.

CLIP's BPE is built from ``data/bpe_simple_vocab_16e6.txt.gz`` (OpenAI CLIP, MIT licence; the file
open_clip ships) exactly as CLIP's ``SimpleTokenizer`` builds its table: 256 byte symbols, the same
256 with ``</w>``, 48,894 merges, then ``<|startoftext|>`` (49406) and ``<|endoftext|>`` (49407):
49,408 entries. Building it takes about 0.1 s and happens once per process (cached).
"""

from __future__ import annotations

import gzip
import html
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

CLIP = "clip"
CLIP_VOCAB_SIZE = 49408
CLIP_MERGES = 49152 - 256 - 2  # the slice CLIP's SimpleTokenizer takes from the merges file
SOT, EOT = "<|startoftext|>", "<|endoftext|>"
# CLIP's pre-tokenizer pattern (its special-token alternatives left out: as in CLIP's reference
# encode, the literal text "<|endoftext|>" in user input is ordinary text, never the special id).
CLIP_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
# The part of ftfy.fix_text that changes ordinary text: curly quotes and Latin ligatures.
FTFY_TABLE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
    "Ĳ": "IJ", "ĳ": "ij", "Ŀ": "L·", "ŀ": "l·", "ŉ": "ʼn", "Ǆ": "DŽ", "ǅ": "Dž", "ǆ": "dž",
    "Ǉ": "LJ", "ǈ": "Lj", "ǉ": "lj", "Ǌ": "NJ", "ǋ": "Nj", "ǌ": "nj",
    "ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "ſt", "ﬆ": "st",
})


def clip_clean(text: str) -> str:
    """CLIP's ``whitespace_clean(basic_clean(text)).lower()``, with ftfy's quote and ligature fixes.

    Done in Python, not as HF normalizers: str methods are what CLIP's reference uses (same
    whitespace and lowercasing rules) and are several times faster than a chain of normalizers.
    ftfy's mojibake repair and width folding are not applied (ftfy is not a dependency).
    """
    if "&" in text:
        text = html.unescape(html.unescape(text))
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(FTFY_TABLE)
    return " ".join(text.split()).lower()


@dataclass(frozen=True)
class Vocab:
    """A configured HF tokenizer (truncation on) and the facts the embedding table needs."""

    name: str  # "clip" or the resolved path
    tokenizer: Any  # tokenizers.Tokenizer
    vocab_size: int
    context_length: int
    pad_id: int
    prepare: Callable[[str], str] | None = None  # text cleaning done in Python before the Rust tokenizer

    def encode_batch(self, texts: Sequence[str]) -> list[Any]:
        """HF ``Encoding``s for ``texts`` (cleaned first, as the vocabulary requires)."""
        prepared = [self.prepare(t) for t in texts] if self.prepare is not None else list(texts)
        return self.tokenizer.encode_batch(prepared)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP's reversible map from bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clip_merges() -> list[tuple[str, str]]:
    data = resources.files("metaframe_text").joinpath("data", "bpe_simple_vocab_16e6.txt.gz").read_bytes()
    lines = gzip.decompress(data).decode("utf-8").split("\n")
    return [tuple(line.split()) for line in lines[1 : CLIP_MERGES + 1]]  # type: ignore[misc]


def clip_vocab_table(merges: list[tuple[str, str]]) -> dict[str, int]:
    symbols = list(bytes_to_unicode().values())
    table = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [SOT, EOT]
    return {token: i for i, token in enumerate(table)}


def build_clip_tokenizer() -> Any:
    """CLIP's BPE as a HF ``tokenizers.Tokenizer`` (<sot> … <eot>); feed it ``clip_clean``-ed text."""
    from tokenizers import Regex, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import BPE

    merges = clip_merges()
    table = clip_vocab_table(merges)
    tok = Tokenizer(BPE(vocab=table, merges=merges, unk_token=EOT, continuing_subword_prefix="", end_of_word_suffix="</w>", fuse_unk=False))
    tok.normalizer = None  # see clip_clean: the cleaning runs in Python before encode_batch
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SOT} $A {EOT}", special_tokens=[(SOT, table[SOT]), (EOT, table[EOT])]
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def build_wordpiece_tokenizer(path: Path, lowercase: bool) -> Any:
    """A BERT-style WordPiece tokenizer from a ``vocab.txt`` (one token per line)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab: dict[str, int] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        token = line.rstrip("\r\n")
        if token and token not in vocab:
            vocab[token] = i
    for needed in ("[UNK]", "[CLS]", "[SEP]"):
        if needed not in vocab:
            raise ValueError(f"{path}: a WordPiece vocab.txt needs the token {needed} (found {len(vocab)} tokens without it)")
    tok = Tokenizer(WordPiece(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=None, clean_text=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.BertProcessing(("[SEP]", vocab["[SEP]"]), ("[CLS]", vocab["[CLS]"]))
    return tok


@lru_cache(maxsize=16)
def load_vocab(vocab: str = CLIP, context_length: int = 77, lowercase: bool | None = None) -> Vocab:
    """The vocabulary named ``clip`` or by a path to a ``tokenizer.json`` or a WordPiece ``vocab.txt``."""
    if context_length < 2:
        raise ValueError(f"context_length must be at least 2 (room for the start and end tokens), got {context_length}")
    if vocab == CLIP:
        if lowercase is False:
            raise ValueError("vocab='clip' always lowercases (as CLIP does); lowercase=False needs another vocabulary")
        tok, name, pad_id, prepare = build_clip_tokenizer(), CLIP, 0, clip_clean  # CLIP pads with id 0, masked out
    else:
        path = Path(os.path.expanduser(vocab))
        if not path.is_file():
            raise FileNotFoundError(f"vocab {vocab!r}: no such file (expected 'clip', a tokenizer.json or a vocab.txt path)")
        name = str(path.resolve())
        if path.suffix == ".json":
            from tokenizers import Tokenizer

            if lowercase is not None:
                raise ValueError(f"{path}: lowercase= applies to vocab.txt only; a tokenizer.json sets its own normaliser")
            try:
                tok = Tokenizer.from_file(str(path))
            except Exception as exc:  # the Rust side raises a bare Exception
                raise ValueError(f"{path}: not a HF tokenizers tokenizer.json ({exc})") from exc
        else:
            tok = build_wordpiece_tokenizer(path, lowercase=True if lowercase is None else lowercase)
        pad = next((t for t in ("[PAD]", "<pad>", "<|endoftext|>") if tok.token_to_id(t) is not None), None)
        pad_id, prepare = (tok.token_to_id(pad) if pad else 0), None
    tok.no_padding()
    tok.enable_truncation(max_length=context_length)
    return Vocab(name, tok, tok.get_vocab_size(with_added_tokens=True), context_length, pad_id, prepare)
