"""CLIP's BPE as CLIP builds it: 49,408 entries, the reference ids, cleaning; other vocabularies by path."""

from __future__ import annotations

import gzip
import json
from importlib import resources

import pytest

import metaframe

SOT, EOT = 49406, 49407


def reference_ids() -> dict[str, int]:
    """CLIP SimpleTokenizer's table, rebuilt here from the shipped merges file: bytes, bytes+</w>, merges, specials."""
    raw = resources.files("metaframe_text").joinpath("data", "bpe_simple_vocab_16e6.txt.gz").read_bytes()
    merges = gzip.decompress(raw).decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    table = {chr(c): c - 33 for c in range(ord("!"), ord("~") + 1)}  # printable ASCII bytes come first
    table.update({chr(c) + "</w>": 256 + c - 33 for c in range(ord("!"), ord("~") + 1)})
    table.update({"".join(m.split()): 512 + i for i, m in enumerate(merges)})
    return table


def ids(texts, **options):
    text = metaframe.get_modality("text")
    batch = text.collate(text.read(list(texts), **options))
    return [row[m].tolist() for row, m in zip(batch.input_ids, batch.mask)]


def test_clip_vocabulary_has_49408_entries_and_the_special_tokens():
    from metaframe_text.vocab import load_vocab

    vocab = load_vocab("clip")
    assert vocab.vocab_size == 49408
    assert vocab.tokenizer.token_to_id("<|startoftext|>") == SOT
    assert vocab.tokenizer.token_to_id("<|endoftext|>") == EOT
    assert metaframe.get_modality("text").build_tokenizer(embed_dim=8).token_embed.num_embeddings == 49408


def test_whole_words_get_the_ids_of_their_merge_in_the_vocab_file():
    table = reference_ids()
    words = ["photo", "of", "cat", "dog", "running", "diagram"]
    expected = [SOT] + [table[w + "</w>"] for w in words] + [EOT]
    assert ids([" ".join(words)]) == [expected]
    assert ids(["a photo of a cat"]) == [[SOT, 320, 1125, 539, 320, 2368, EOT]]  # CLIP's well-known ids


def test_text_is_lowercased_and_whitespace_cleaned_like_clip():
    plain = ids(["a photo of a cat"])[0]
    assert ids(["  A\tPHOTO  of\n a   Cat "])[0] == plain
    # curly quotes and HTML entities are cleaned as CLIP's basic_clean (ftfy + html.unescape) does
    assert ids(["don\u2019t"])[0] == ids(["don't"])[0]
    assert ids(["tom &amp; jerry"])[0] == ids(["tom & jerry"])[0]
    # each digit is its own word; "'s" is split off as its own word
    table = reference_ids()
    assert ids(["42"])[0] == [SOT, table["4</w>"], table["2</w>"], EOT] == [SOT, 275, 273, EOT]
    assert ids(["cat's"])[0] == [SOT, table["cat</w>"], table["'s</w>"], EOT]


def test_special_token_text_in_input_is_not_a_special_id():
    row = ids(["<|endoftext|> hello"])[0]
    assert row[0] == SOT and row[-1] == EOT and EOT not in row[1:-1]


def test_wordpiece_vocab_txt_by_path(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "##s", "sat"]) + "\n")
    got = ids(["The cats sat on"], vocab=str(vocab))
    assert got == [[2, 4, 5, 6, 7, 1, 3]]  # [CLS] the cat ##s sat [UNK] [SEP]
    tok = metaframe.get_modality("text").build_tokenizer(embed_dim=8, vocab=str(vocab))
    assert tok.vocab_size == 8


def test_wordpiece_without_special_tokens_is_refused(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("the\ncat\n")
    with pytest.raises(ValueError, match=r"\[UNK\]"):
        ids(["the cat"], vocab=str(vocab))


def test_any_tokenizer_json_by_path(tmp_path):
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel

    hf = Tokenizer(WordLevel({"<pad>": 0, "<unk>": 1, "hello": 2, "world": 3}, unk_token="<unk>"))
    hf.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    hf.save(str(path))
    assert ids(["hello there world"], vocab=str(path)) == [[2, 1, 3]]
    tok = metaframe.get_modality("text").build_tokenizer(embed_dim=8, vocab=str(path))
    assert tok.vocab_size == 4


def test_bad_tokenizer_json_and_missing_vocab_name_the_file(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({"not": "a tokenizer"}))
    with pytest.raises(ValueError, match="tokenizer.json"):
        ids(["x"], vocab=str(path))
    with pytest.raises(FileNotFoundError, match="nope.json"):
        ids(["x"], vocab=str(tmp_path / "nope.json"))


def test_ids_equal_clips_reference_tokenizer_on_tricky_sentences():
    """Ids written by scripts/clip_reference_ids.py from CLIP's own SimpleTokenizer (with ftfy)."""
    from pathlib import Path

    reference = json.loads((Path(__file__).parent / "data" / "clip_reference_ids.json").read_text(encoding="utf-8"))
    assert len(reference) >= 18
    got = ids(list(reference), context_length=200)
    mismatched = [s for s, row in zip(reference, got) if row != reference[s]]
    assert not mismatched
