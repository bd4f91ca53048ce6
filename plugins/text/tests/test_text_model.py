"""The text tokenizer through the registry and a MetaModel: truncation counted, padding invariance, gradients."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import metaframe
from metaframe_text.collate import TextTruncationWarning

SOT, EOT = 49406, 49407


@pytest.fixture(scope="module")
def text():
    return metaframe.get_modality("text")


def tiny_model(tokenizer):
    torch.manual_seed(0)
    encoder = metaframe.FrozenEncoder(embed_dim=32, depth=2, num_heads=2)
    head = metaframe.build_head("classification", embed_dim=32, num_classes=3, pooling="mean")
    return metaframe.MetaModel(encoder, {"text": tokenizer}, {"label": head}).eval()


def test_long_texts_are_truncated_keeping_the_end_token_and_counted(text):
    samples = text.read(["short one", "word " * 50, "more words " * 40], context_length=16)
    with pytest.warns(TextTruncationWarning, match=r"2 of 3 texts were longer than the context length \(16 tokens\)"):
        batch = text.collate(samples)
    assert batch.num_truncated == 2
    assert batch.input_ids.shape == (3, 16)
    assert batch.mask.sum(1).tolist() == [4, 16, 16]
    assert batch.input_ids[1, 0] == SOT and batch.input_ids[1, 15] == EOT
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert text.collate(text.read(["exactly fits"], context_length=16)).num_truncated == 0
    with pytest.raises(ValueError, match="1 of 1 texts"):
        text.collate(text.read(["word " * 50], context_length=16, on_truncate="error"))


def test_a_text_exactly_at_the_context_length_is_not_counted(text):
    n = 14  # 14 words of one token each + start + end = 16
    batch = text.collate(text.read(["cat " * n], context_length=16))
    assert batch.mask.sum().item() == 16 and batch.num_truncated == 0


def test_padding_invariance_short_alone_vs_with_a_long_one(text):
    tokenizer = text.build_tokenizer(embed_dim=32, context_length=32)
    model = tiny_model(tokenizer)
    short, long = "a cat", "a very long sentence about a small dog running in the park all day " * 2
    with torch.no_grad():
        alone = model.encode({"text": text.collate(text.read([short], context_length=32))})
        for order, i in (([short, long], 0), ([long, short], 1)):
            batch = text.collate(text.read(order, context_length=32))
            assert batch.mask[i].sum() == 4
            both = model.encode({"text": batch})
            real = both.mask[i]
            torch.testing.assert_close(both.tokens[i][real], alone.tokens[0][alone.mask[0]], atol=1e-5, rtol=1e-4)
            out_alone = model.heads["label"](alone)
            torch.testing.assert_close(model.heads["label"](both)[i], out_alone[0], atol=1e-5, rtol=1e-4)


def test_gradient_reaches_the_embeddings_through_the_frozen_encoder(text):
    tokenizer = text.build_tokenizer(embed_dim=32, context_length=16)
    model = tiny_model(tokenizer).train()
    batch = text.collate(text.read(["a photo of a cat", "a dog"], context_length=16))
    loss = torch.nn.functional.cross_entropy(model({"text": batch})["label"], torch.tensor([0, 2]))
    loss.backward()
    grad = tokenizer.token_embed.weight.grad
    assert grad is not None and grad[1125].abs().sum() > 0  # "photo</w>" was used
    assert grad[2368].abs().sum() > 0 and grad[49000].abs().sum() == 0  # "cat</w>" used, an unused id not
    assert tokenizer.pos_embed.grad[:6].abs().sum() > 0
    assert all(p.grad is None for p in model.encoder.parameters())


def test_tokenizer_accepts_ids_and_mask_and_refuses_mismatches(text):
    tokenizer = text.build_tokenizer(embed_dim=8, context_length=16)
    ids = torch.tensor([[SOT, 320, EOT, 0]])
    mask = torch.tensor([[True, True, True, False]])
    a = tokenizer((ids, mask))
    b = tokenizer({"input_ids": ids, "attention_mask": mask.long()})
    torch.testing.assert_close(a.tokens, b.tokens)
    assert a.tokens[0, 3].abs().sum() == 0 and a.mask.tolist() == mask.tolist()
    with pytest.raises(ValueError, match="exceed the context length 16"):
        tokenizer(torch.zeros(1, 20, dtype=torch.long))
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 49408\)"):
        tokenizer(torch.tensor([[50000]]))
    other = text.collate(text.read(["x"], context_length=16))
    other.vocab_size = 30522
    with pytest.raises(ValueError, match="vocabulary of 30522 entries"):
        tokenizer(other)
    with pytest.raises(ValueError, match="different vocabularies"):
        text.collate([text.read("a", context_length=16), text.read("b", context_length=32)])


def test_reading_a_file_of_lines_batches_them(text, tmp_path):
    path = tmp_path / "captions.txt"
    path.write_text("a cat\na dog on a mat\n\nbirds\n")
    batch = text.collate([text.read(path, split="lines")])
    assert len(batch) == 3
    tokenizer = text.build_tokenizer(embed_dim=8)
    out = tokenizer(batch)
    assert out.tokens.shape == (3, batch.input_ids.shape[1], 8)
    assert out.mask.sum(1).tolist() == [4, 7, 3]


def test_cli_lists_the_text_modality_and_encodes_files(tmp_path):
    exe = [sys.executable, "-m", "metaframe"]
    listed = subprocess.run([*exe, "list-modalities", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert '"text"' in listed.stdout and "49,408" in listed.stdout
    (tmp_path / "a.txt").write_text("a photo of a cat\n")
    (tmp_path / "b.txt").write_text("a much longer text about a dog in a field\n")
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9\n")
    out = tmp_path / "emb.npy"
    encoder = tmp_path / "enc.safetensors"
    metaframe.FrozenEncoder(embed_dim=32, depth=1, num_heads=2).save(encoder)
    proc = subprocess.run(
        [*exe, "encode", "text", "--encoder", str(encoder), str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), str(tmp_path / "bad.txt"),
         "--out", str(out), "-q", "--skip-errors"],
        capture_output=True, text=True, timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1, proc.stderr  # one file could not be read
    assert np.load(out).shape == (2, 32)
    assert "bad.txt: not valid utf-8 at byte 3 (line 1)" in proc.stderr


def test_encode_a_manifest_of_text_cells_as_the_texts_themselves(tmp_path):
    import json

    texts = ["a photo of a cat", "a much longer text about a dog in a field", "birds"]
    manifest = tmp_path / "captions.jsonl"
    manifest.write_text("".join(json.dumps({"caption": t, "label": 0}) + "\n" for t in texts))
    encoder = metaframe.FrozenEncoder(embed_dim=32, depth=1, num_heads=2)

    def encode(inputs, **options):
        torch.manual_seed(0)  # the same fresh tokenizer each call
        return metaframe.encode("text", inputs, encoder=encoder, batch_size=2, num_workers=0, quiet=True, **options)

    cells = encode([manifest], column="caption")
    torch.testing.assert_close(cells.embeddings, encode(texts).embeddings)
    assert cells.sources == [f"{manifest}:{line}" for line in (1, 2, 3)]
