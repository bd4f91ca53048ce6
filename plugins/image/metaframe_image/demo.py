"""The image task of ``metaframe demo``: scikit-learn's handwritten digits (real, nothing downloaded)."""

from __future__ import annotations

from typing import Any

from metaframe.demo import DemoTask


def _digits(quick: bool) -> tuple[list[Any], list[Any]]:
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)  # [N, 8, 8] in [0, 1]
    n = 400 if quick else len(images)
    return [images[i] for i in range(n)], [int(t) for t in d.target[:n]]


def task() -> DemoTask:
    return DemoTask(
        modality="image",
        description="sklearn handwritten digits (8x8, real)",
        load=_digits,
        tokenizer={"in_channels": 1, "patch_size": 2, "image_size": 8},
        reader={"size": 8, "channels": 1, "normalize": "none"},
    )
