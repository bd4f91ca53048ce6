"""metaframe-text: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest, Recipe

EXTENSIONS = [".txt", ".jsonl", ".ndjson", ".csv", ".tsv"]


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="text",
        description="text as CLIP byte-level BPE (or WordPiece / any tokenizer.json) subword tokens",
        inputs=["str", "list[str]", "file"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_text.tokenizer:TextTokenizer",
        reader="metaframe_text.reader:read_text",
        collate="metaframe_text.collate:collate_text",
        dataset="metaframe_text.reader:read_dataset",
        examples="metaframe_text.examples:write_examples",
        tokenizer_options={"vocab": "clip", "context_length": 77},
        reader_options={"vocab": "clip", "context_length": 77},
        example_tokenizer_options={"vocab": "clip", "context_length": 16},
        example_reader_options={"vocab": "clip", "context_length": 16},
        info={
            "vocabulary": "CLIP bpe_simple_vocab_16e6 (49,408 entries, MIT, shipped), or a tokenizer.json / vocab.txt path",
            "tokens_per_sample": "variable, at most context_length (77 by default), with a padding mask",
            "tokenization": "HF tokenizers encode_batch in collate; the module embeds ids",
        },
        recipe=Recipe(
            lr=3e-3, pooling="cls+max+mean", batch_size=8,
            note="generated sentences with negation: 0.650 / 0.546 vs 0.505 / 0.492 (chance) built-in (benchmarks/bench_recipes.py, 5 epochs, 200 train / 200 val, seed 0, whisper-tiny.en pre-trained and random; docs/benchmarks.md 'Plugin recipes')",
        ),
    )
