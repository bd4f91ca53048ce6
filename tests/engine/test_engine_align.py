"""Align runs (``align:``): paired manifests, contrastive training, retrieval, encode / search / zero-shot.

The easy generated task: 8x8 images of four colours paired with a caption naming the colour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

import metaframe
from metaframe_registry import ConfigError

from cli_runner import run_cli
from engine_helpers import run_module

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220), "yellow": (220, 220, 30)}


def write_pairs(root: Path, per_class: int = 8, seed: int = 0) -> Path:
    """``pairs.csv``: one row per image, its caption in the ``text`` column."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = ["image,text"]
    for name, rgb in COLOURS.items():
        for i in range(per_class):
            pixels = np.clip(np.array(rgb) + rng.integers(-25, 25, size=(8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"{name}{i}.png")
            lines.append(f"{name}{i}.png,a photo of something {name}")
    (root / "pairs.csv").write_text("\n".join(lines) + "\n")
    return root / "pairs.csv"


def align_config(train: Path, out: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "modalities": {
            "image": {"tokenizer": {"patch_size": 4, "image_size": 8}, "reader": {"size": 8}},
            "text": {"tokenizer": {"context_length": 16}, "reader": {"context_length": 16}},
        },
        "encoder": {"embed_dim": 32, "depth": 2, "num_heads": 2, "seed": 0},
        "align": {"dim": 16},
        "data": {"train": str(train), "val_fraction": 0.5},
        "epochs": 4,
        "batch_size": 8,
        "optimizer": {"lr": 0.003},
        "device": "cpu",
        "threads": 1,
        "output_dir": str(out),
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One aligned run through the CLI (shared by the tests that use the space)."""
    root = tmp_path_factory.mktemp("align")
    manifest = write_pairs(root / "data", per_class=16)
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(align_config(manifest, root / "run", epochs=10, optimizer={"lr": 0.01})))
    done = run_cli("train", str(path), "-q", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "run", manifest


# -- config and data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"modalities": {"image": {}}}, "align: needs two or more modalities to align, found only 'image'"),
        ({"align": {"anchor": "audio"}}, "align.anchor: 'audio' — not a modality of this config (image, text)"),
        ({"batch_size": 1}, "batch_size: 1 — align needs >= 2"),
        ({"head": {"kind": "classification"}}, "heads: an align run learns one projection per modality"),
        ({"mixup": {"alpha": 0.8}}, "mixup: mixes class targets"),
    ],
)
def test_align_configs_that_cannot_mean_anything_are_one_line_errors(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        metaframe.train(align_config(tmp_path / "x.csv", tmp_path / "run", **change), quiet=True)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "(top level)" not in str(info.value)


def test_recall_as_monitor_needs_an_align_run(tmp_path: Path) -> None:
    from engine_helpers import tiny_config

    with pytest.raises(ConfigError, match="val_mean_recall@1' — retrieval recall is measured by align runs only"):
        metaframe.train(tiny_config(tmp_path, tmp_path / "run", monitor="val_mean_recall@1"), quiet=True)


def test_anchor_binds_each_modality_to_it_and_the_other_pairs_are_measured_as_emergent() -> None:
    from metaframe.contrastive import trained_pairs
    from metaframe.engine.align import space_metrics

    assert trained_pairs(["image", "text", "audio"], None) == [("image", "text"), ("image", "audio"), ("text", "audio")]
    assert trained_pairs(["image", "text", "audio"], "image") == [("image", "text"), ("image", "audio")]
    gen = torch.Generator().manual_seed(0)
    base = torch.nn.functional.normalize(torch.randn(6, 8, generator=gen), dim=1).numpy()
    emb = {"image": base, "text": base.copy(), "audio": -base}  # audio: the worst possible ranking
    emb["text"][5] = np.nan  # row 5 has no text
    metrics = space_metrics(emb, ["image", "text", "audio"], "image", scale=10.0)
    assert metrics["image_text_pairs"] == 5 and metrics["text_to_audio_recall@1"] == 0.0  # emergent, measured
    assert metrics["image_to_text_recall@1"] == 1.0
    # the monitored mean covers the trained (anchor) pairs only: image-text perfect, image-audio 0
    assert metrics["mean_recall@1"] == pytest.approx(0.5)


def test_a_manifest_with_one_modality_or_no_pair_is_refused(tmp_path: Path) -> None:
    write_pairs(tmp_path)
    (tmp_path / "one.csv").write_text("image\nred0.png\nred1.png\n")
    with pytest.raises(ConfigError, match="missing column.s. text"):
        metaframe.train(align_config(tmp_path / "one.csv", tmp_path / "a"), quiet=True)
    (tmp_path / "lonely.jsonl").write_text('{"image": "red0.png"}\n{"text": "hello"}\n{"image": "red1.png", "text": ""}\n')
    with pytest.raises(ConfigError, match="no row pairs two modalities"):
        metaframe.train(align_config(tmp_path / "lonely.jsonl", tmp_path / "b", data={"train": str(tmp_path / "lonely.jsonl"), "val_fraction": 0}), quiet=True)


def test_rows_pair_whatever_they_have(tmp_path: Path) -> None:
    """Missing cells (an empty CSV cell, a key a JSONL record leaves out) drop that modality from the row only."""
    write_pairs(tmp_path, per_class=3)
    rows = [line.split(",") for line in (tmp_path / "pairs.csv").read_text().splitlines()[1:]]
    records = []
    for i, (image, text) in enumerate(rows):
        record = {"image": image, "text": text}
        if i % 4 == 1:
            del record["text"]  # an image without a caption
        records.append(record)
    records.append({"text": "a caption without an image"})
    manifest = tmp_path / "partial.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records))
    config = align_config(manifest, tmp_path / "run", data={"train": str(manifest), "val_fraction": 0}, epochs=1, batch_size=4)
    # 9 rows pair two modalities (3 images lack a caption, one caption lacks an image): batches of 4, 4
    # and a last batch of one pair, with no negative to contrast it with: skipped with a warning
    with pytest.warns(UserWarning, match="no negatives.*skipped"):
        result = metaframe.train(config, quiet=True)
    assert result.steps == 2
    saved = metaframe.load_run(result.run_dir, checkpoint="last")
    assert isinstance(saved, metaframe.AlignedModel) and saved.modalities == ["image", "text"]


def test_a_parquet_manifest_of_image_bytes_and_captions_trains(tmp_path: Path) -> None:
    """Pairs in one Parquet file (PNG bytes in the cells) are read through the same route as a
    class-folder run's: the image plugin takes paths, so each cell is decoded as a file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_pairs(tmp_path, per_class=3)
    rows = [line.split(",") for line in (tmp_path / "pairs.csv").read_text().splitlines()[1:]]
    table = pa.table({"image": [(tmp_path / image).read_bytes() for image, _ in rows], "text": [text for _, text in rows]})
    manifest = tmp_path / "pairs.parquet"
    pq.write_table(table, manifest, row_group_size=4)
    config = align_config(manifest, tmp_path / "run", data={"train": str(manifest), "val_fraction": 0}, epochs=1, batch_size=4)
    result = metaframe.train(config, quiet=True)
    assert result.steps == 3  # 12 pairs in batches of 4


def colour_tuples(per_class: int, seed: int = 0) -> list[dict[str, Any]]:
    """In-memory pairs: an 8x8 RGB array and its caption, as dicts by modality."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, rgb in COLOURS.items():
        for _ in range(per_class):
            pixels = np.clip(np.array(rgb) + rng.integers(-25, 25, size=(8, 8, 3)), 0, 255).astype(np.uint8)
            rows.append({"image": pixels, "text": f"a photo of something {name}"})
    return rows


def in_memory_config(out: Path, **overrides: Any) -> dict[str, Any]:
    config = align_config(out / "unused.csv", out, epochs=1, batch_size=4, **overrides)
    del config["data"]["train"]
    return config


def test_in_memory_tuples_train_and_validate_with_missing_modalities(tmp_path: Path) -> None:
    """``train(train_data=[{modality: sample}, ...])``: a missing key or a None drops that modality from the tuple only."""
    train = colour_tuples(per_class=3)
    train[1] = {"image": train[1]["image"]}  # an image without a caption
    train[2]["text"] = None  # an empty value, like an empty cell
    train.append({"text": "a caption without an image"})
    # 10 of the 13 tuples pair two modalities: batches of 4, 4 and 2
    result = metaframe.train(in_memory_config(tmp_path / "run"), train_data=train, val_data=colour_tuples(2, seed=1), quiet=True)
    assert result.steps == 3
    val = result.history[-1]
    assert val["kind"] == "val" and 0.0 <= val["val_image_to_text_recall@1"] <= 1.0 and "val_text_to_image_recall@5" in val
    assert isinstance(metaframe.load_run(result.run_dir, checkpoint="last"), metaframe.AlignedModel)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ((np.zeros((8, 8, 3), np.uint8), "a caption"), r"train_data\[0\]: found tuple; an align run expects a dict \{modality: source\}"),
        ({"image": np.zeros((8, 8, 3), np.uint8), "caption": "x"}, r"train_data\[0\]: key\(s\) 'caption' — not a modality of this run \(image, text\)"),
    ],
)
def test_an_in_memory_item_that_is_no_tuple_is_a_one_line_error(tmp_path: Path, item: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        metaframe.train(in_memory_config(tmp_path / "run"), train_data=[item] * 4, quiet=True)
    assert "\n" not in str(info.value)


def _photo_fields(dataset: Any) -> dict[str, Any]:
    """The installed image plugin's tokenizer and reader, plus a dataset reader of its own (a third party's)."""
    image = metaframe.get_modality("image").manifest
    keep = ("inputs", "extensions", "tokenizer", "reader", "tokenizer_options", "reader_options")
    return {**{k: getattr(image, k) for k in keep}, "dataset": dataset}


def captioned_photos(path: Any, skip_captions: int = 0) -> list[dict[str, Any]]:
    """A plugin dataset for align runs: one ``.npz`` of images and captions, a dict {modality: source} per tuple."""
    with np.load(path) as data:
        images, captions = data["images"], [str(c) for c in data["captions"]]
    return [{"photo": im, "text": None if i < skip_captions else c} for i, (im, c) in enumerate(zip(images, captions))]


def pairs_as_tuples(path: Any) -> list[tuple[Any, str]]:
    """A (sample, target) dataset: what a training run wants, not an align run."""
    with np.load(path) as data:
        return [(im, str(c)) for im, c in zip(data["images"], data["captions"])]


def write_npz(path: Path, per_class: int) -> Path:
    rows = colour_tuples(per_class)
    np.savez(path, images=np.stack([r["image"] for r in rows]), captions=np.array([r["text"] for r in rows]))
    return path


def photo_config(train: Path, out: Path, **data: Any) -> dict[str, Any]:
    config = align_config(train, out, epochs=1, batch_size=4)
    config["modalities"] = {"photo": config["modalities"]["image"], "text": config["modalities"]["text"]}
    config["data"] = {"train": str(train), "format": "dataset", "val_fraction": 0.5, **data}
    return config


def test_a_plugin_dataset_of_tuples_trains_an_align_run(tmp_path: Path) -> None:
    """``data.format: dataset`` in an align run: the named modality's dataset yields dicts, each source read by its own modality."""
    from metaframe.testing.temporary import temporary_modality

    data = write_npz(tmp_path / "photos.npz", per_class=4)
    with temporary_modality("photo", **_photo_fields(captioned_photos)):
        # photo and text both have a dataset reader: which one yields the tuples must be said
        with pytest.raises(ConfigError, match="data.dataset_modality: required — .*photos.npz is read as a dataset and modalities photo, text"):
            metaframe.train(photo_config(data, tmp_path / "ambiguous"), quiet=True)
        config = photo_config(data, tmp_path / "run", dataset_modality="photo", dataset_options={"skip_captions": 2})
        result = metaframe.train(config, quiet=True)
    # 16 tuples split 8 / 8, then the 2 without a caption leave the pairs: 6 to 8 training pairs, two batches of up to 4
    assert result.steps == 2
    val = result.history[-1]
    assert "val_image_to_text_recall@1" not in val and 0.0 <= val["val_photo_to_text_recall@1"] <= 1.0
    assert val["val_text_to_photo_median_rank"] >= 1


def test_a_plugin_dataset_that_yields_no_tuples_is_a_one_line_error(tmp_path: Path) -> None:
    from metaframe.testing.temporary import temporary_modality

    data = write_npz(tmp_path / "photos.npz", per_class=1)
    with temporary_modality("photo", **_photo_fields(pairs_as_tuples)):
        with pytest.raises(ConfigError) as info:
            metaframe.train(photo_config(data, tmp_path / "run", dataset_modality="photo"), quiet=True)
        message = str(info.value)
        assert message.startswith("data.train: ") and "photos.npz[0] (the 'photo' plugin's dataset): found tuple" in message
        assert "an align run expects a dict {modality: source} per pair or tuple (keys among photo, text)" in message
        assert "\n" not in message
        with pytest.raises(ConfigError, match="data.dataset_modality: 'image' — not a modality of this config .photo, text."):
            metaframe.train(photo_config(data, tmp_path / "run", dataset_modality="image"), quiet=True)
        # data.format auto: a file that is no manifest is read as a dataset of tuples only when asked for
        with pytest.raises(ConfigError, match="not a data format metaframe reads .an align run reads a plugin's dataset of tuples with data.format: dataset"):
            metaframe.train(photo_config(data, tmp_path / "run", format="auto"), quiet=True)
    # the other way round: a dataset of dicts in a run with a head is refused, not unpacked into its first two keys
    with temporary_modality("photo", **_photo_fields(captioned_photos)):
        config = {**photo_config(data, tmp_path / "run"), "modalities": {"photo": photo_config(data, tmp_path)["modalities"]["photo"]}}
        del config["align"]
        with pytest.raises(ConfigError, match=r"photos.npz\[0\] \(the 'photo' plugin's dataset\): found a dict; .* this run expects \(sample, target\) pairs"):
            metaframe.train(config, quiet=True)


# -- training ------------------------------------------------------------------------------------


def test_training_aligns_the_pairs_above_chance(trained: tuple[Path, Path]) -> None:
    run, _ = trained
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in records if r["kind"] == "val"]
    last = val[-1]
    for direction in ("image_to_text", "text_to_image"):
        for k in (1, 5, 10):
            assert f"val_{direction}_recall@{k}" in last
        assert f"val_{direction}_median_rank" in last
    # 32 validation pairs, 8 per colour with identical captions: recall@5 by chance is 5/32
    assert last["val_text_to_image_recall@5"] > 2 * 5 / 32
    assert (run / "curves.png").is_file()
    best = json.loads((run / "checkpoints" / "best.json").read_text())["step"]
    best_record = next(r for r in val if r["step"] == best)
    assert best_record["val_mean_recall@1"] == max(r["val_mean_recall@1"] for r in val)
    # only tokenizers, the [CLS] / modality embeddings, norm, projections and the temperature train
    from safetensors.torch import load_file

    ckpt = run / "checkpoints" / json.loads((run / "checkpoints" / "last.json").read_text())["dir"]
    keys = set(load_file(str(ckpt / "model.safetensors")))
    assert "logit_scale" in keys and {"heads.image.proj.weight", "heads.text.proj.weight"} <= keys
    assert not any(k.startswith("encoder.") for k in keys)


def test_the_frozen_encoder_does_not_change_and_is_shared(tmp_path: Path) -> None:
    manifest = write_pairs(tmp_path / "data", per_class=3)
    config = align_config(manifest, tmp_path / "run", epochs=1, batch_size=4)
    encoder = metaframe.build_encoder("vit", embed_dim=32, depth=2, num_heads=2, seed=0)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    metaframe.train(config, encoder=encoder, quiet=True)
    after = encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    model = metaframe.load_run(tmp_path / "run", encoder=encoder)
    assert model.encoder is encoder


def test_interrupted_align_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    manifest = write_pairs(tmp_path / "data", per_class=4)
    config = align_config(manifest, tmp_path / "stopped", epochs=2, batch_size=4, checkpoint_every=2)

    class Stop(Exception):
        pass

    def stop(event: dict) -> None:
        if event["step"] == 3:
            raise Stop

    with pytest.raises(Stop):
        metaframe.train(config, callback=stop, quiet=True)
    resumed = metaframe.train(config, resume=tmp_path / "stopped", quiet=True)
    straight = metaframe.train({**config, "output_dir": str(tmp_path / "straight")}, quiet=True)
    assert resumed.steps == straight.steps
    a = metaframe.load_run(resumed.run_dir, checkpoint="last").trainable_state_dict()
    b = metaframe.load_run(straight.run_dir, checkpoint="last").trainable_state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)


def test_two_processes_gather_negatives_with_gradients_and_match_one(tmp_path: Path) -> None:
    """torchrun, 2 gloo processes: each sees the global batch as negatives, so the weights are a single process's."""
    manifest = write_pairs(tmp_path / "data", per_class=4)
    config = align_config(manifest, tmp_path / "ddp", epochs=1)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    ddp = run_module(["torchrun", "--standalone", "--nproc-per-node", "2", "-m", "metaframe", "train", str(path), "-q"])
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    torch.set_num_threads(1)
    single = metaframe.train({**config, "output_dir": str(tmp_path / "single")}, quiet=True)
    a = metaframe.load_run(tmp_path / "ddp", checkpoint="last").trainable_state_dict()
    b = metaframe.load_run(single.run_dir, checkpoint="last").trainable_state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)


def test_a_batch_without_negatives_is_skipped_with_a_warning() -> None:
    from metaframe.contrastive import contrastive_loss

    emb = {"image": torch.randn(3, 4), "text": torch.randn(3, 4)}
    present = {"image": torch.tensor([True, True, False]), "text": torch.tensor([True, False, True])}
    loss, used = contrastive_loss(emb, present, torch.tensor(10.0), [("image", "text")])
    assert loss is None and used == {"image-text": 1}  # one shared row: nothing to contrast it with
    present["text"] = torch.tensor([True, True, True])
    loss, used = contrastive_loss(emb, present, torch.tensor(10.0), [("image", "text")])
    assert loss is not None and used == {"image-text": 2}


# -- using the space -----------------------------------------------------------------------------


def test_evaluate_reports_retrieval_per_pair(trained: tuple[Path, Path], tmp_path: Path) -> None:
    run, manifest = trained
    done = run_cli("evaluate", str(run), "--data", str(manifest), "--out", str(tmp_path), "-q")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "image_to_text: R@1" in done.stdout and "median rank" in done.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    pair = report["retrieval"]["pairs"]["image-text"]
    assert pair["pairs"] == 64 and pair["trained"]
    assert pair["text_to_image"]["recall@10"] > 2 * 10 / 64


def test_encode_search_and_zero_shot_through_the_cli(trained: tuple[Path, Path], tmp_path: Path) -> None:
    run, manifest = trained
    images = manifest.parent
    out = tmp_path / "images.safetensors"
    done = run_cli("encode", "image", str(images), "--run", str(run), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads(out.with_suffix(".safetensors.json").read_text())
    assert meta["shape"] == [64, 16] and meta["encoder"]["space"]
    from safetensors.torch import load_file

    vectors = load_file(str(out))["embeddings"]
    torch.testing.assert_close(vectors.norm(dim=1), torch.ones(64))  # normalised, in the shared space

    found = run_cli("search", str(out), "--query", "a photo of something blue", "--modality", "text", "-k", "4", "--json")
    assert found.returncode == 0, found.stderr[-3000:]
    rows = json.loads(found.stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert sum("blue" in Path(r["source"]).name for r in rows) >= 3  # chance: 1 of 4

    shards = tmp_path / "image-shards"  # the folder output of a scaled-out encode searches the same
    done = run_cli("encode", "image", str(images), "--run", str(run), "--out", str(shards), "--shard-size", "16", "-q")
    assert done.returncode == 0, done.stderr[-3000:]
    found_in_shards = run_cli("search", str(shards), "--query", "a photo of something blue", "--modality", "text", "-k", "4", "--json")
    assert found_in_shards.returncode == 0, found_in_shards.stderr[-3000:]
    assert [(r["source"], round(r["score"], 4)) for r in json.loads(found_in_shards.stdout)] == [
        (r["source"], round(r["score"], 4)) for r in rows
    ]

    folder = tmp_path / "labelled"
    for colour in COLOURS:
        (folder / colour).mkdir(parents=True)
        for i in range(4):
            (folder / colour / f"{i}.png").write_bytes((images / f"{colour}{i}.png").read_bytes())
    zs = run_cli("zero-shot", str(run), "--data", str(folder), "--template", "a photo of something {}", "-q",
                 "--out", str(tmp_path / "zs.json"))
    assert zs.returncode == 0, zs.stderr[-3000:]
    report = json.loads((tmp_path / "zs.json").read_text())
    assert report["labels"] == sorted(COLOURS) and report["accuracy"] > 2 * report["chance"]
    one = run_cli("zero-shot", str(run), "--labels", "red,green,blue,yellow", "--template", "a photo of something {}",
                  str(images / "red0.png"), str(images / "blue0.png"))
    assert one.returncode == 0, one.stderr[-3000:]
    assert len(one.stdout.splitlines()) == 2 and one.stdout.split("\t")[0] in COLOURS


def test_python_api_embed_and_zero_shot(trained: tuple[Path, Path]) -> None:
    run, manifest = trained
    texts = metaframe.embed(run, "text", ["a photo of something red", "a photo of something blue"])
    assert texts.shape == (2, 16)
    torch.testing.assert_close(texts.norm(dim=1), torch.ones(2))
    result = metaframe.zero_shot(run, [manifest.parent / "red1.png"], ["red", "blue"], "a photo of something {}")
    assert result.predictions[0] in ("red", "blue") and result.scores.shape == (1, 2)


def test_space_misuse_is_a_one_line_error(trained: tuple[Path, Path], tmp_path: Path) -> None:
    run, manifest = trained
    out = tmp_path / "images.safetensors"
    assert run_cli("encode", "image", str(manifest.parent), "--run", str(run), "--out", str(out), "-q").returncode == 0
    # a query of a modality the run has no tokenizer for
    done = run_cli("search", str(out), "--query", str(manifest), "--modality", "time_series")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "'time_series' — the run" in done.stderr and "it aligns image, text" in done.stderr
    # an index built with another run's space (same frozen encoder, other projections)
    other = tmp_path / "other"
    metaframe.train(align_config(manifest, other, epochs=1, seed=1, data={"train": str(manifest), "val_fraction": 0}), quiet=True)
    done = run_cli("search", str(out), "--query", "a photo of something red", "--modality", "text", "--run", str(other))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "this index was built with the aligned space of run" in done.stderr
    # an index of the bare encoder's output, queried through an aligned run
    plain = tmp_path / "plain.safetensors"
    assert run_cli("encode", "image", str(manifest.parent), "--out", str(plain), "--tokenizer-option", "patch_size=4",
                   "--tokenizer-option", "image_size=8", "--reader-option", "size=8", "--encoder", "random", "-q").returncode in (0, 1)
    done = run_cli("search", str(plain), "--query", "red", "--modality", "text")
    assert done.returncode == 1 and "records no aligned run" in done.stderr
    # export: not built for aligned runs, said in one line
    done = run_cli("export", str(run))
    assert done.returncode == 1 and "an aligned run" in done.stderr and "Traceback" not in done.stderr
    # zero-shot on a run that is not aligned
    with pytest.raises(ConfigError, match="not an aligned run"):
        metaframe.zero_shot(_classification_run(tmp_path, manifest), [manifest.parent / "red0.png"], ["a", "b"])


def _classification_run(tmp_path: Path, manifest: Path) -> Path:
    from engine_helpers import tiny_config, write_image_folders

    folders = write_image_folders(tmp_path / "folders", per_class=4)
    return metaframe.train(tiny_config(folders, tmp_path / "cls", epochs=1), quiet=True).run_dir
