"""The ``timm`` backend: the frozen trunk of any timm model whose trunk is a ``blocks`` sequence.

ViT, DeiT, CLIP ViTs (``vit_base_patch16_clip_224.laion2b`` is the LAION-2B CLIP B/16 the
official Meta-Transformer encoder comes from), EVA without rotary positions, ... The model's
patch embedding, positions, [CLS] and head are dropped (tokenizers and MetaModel own those);
its input norm (``norm_pre``, CLIP's ln_pre) is kept and frozen.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .encoder_checkpoint import CheckpointError


def load_timm(
    model_name: str,
    *,
    pretrained: bool = True,
    checkpoint: str | Path | None = None,
    seed: int = 0,
    random_init: bool = False,
    **create_options: Any,
) -> "FrozenEncoder":  # noqa: F821 - imported lazily below
    """Build ``model_name`` with timm and keep its blocks and input norm, frozen.

    ``checkpoint``: a local weights file of that model (.safetensors / .pth / .bin), loaded
    through timm's own filter so nothing is fetched. ``pretrained=False`` (or ``random_init``)
    and no checkpoint: the architecture, randomly initialised with ``seed``.
    """
    import timm

    from .encoder import FrozenEncoder

    if random_init:
        pretrained, checkpoint = False, None
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise CheckpointError(f"{checkpoint}: no such file (encoder.checkpoint for timm model {model_name!r})")
    if not timm.is_model(model_name.split(".")[0]):
        close = timm.list_models(f"*{model_name.split('.')[0].split('_')[0]}*")[:8]
        raise CheckpointError(
            f"timm has no model {model_name!r}" + (f"; similar names: {', '.join(close)}" if close else "")
        )
    kwargs = dict(create_options)
    if checkpoint is not None:
        kwargs["pretrained_cfg_overlay"] = {"file": str(checkpoint)}
    fetch = pretrained or checkpoint is not None
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = timm.create_model(model_name, pretrained=fetch, num_classes=0, **kwargs)
    except Exception as exc:  # noqa: BLE001 - timm / huggingface_hub / torch.hub raise many kinds
        if checkpoint is not None:
            raise CheckpointError(f"{checkpoint}: timm could not load it into {model_name!r} ({type(exc).__name__}: {exc})") from exc
        if fetch:
            raise CheckpointError(
                f"timm could not fetch pretrained weights for {model_name!r} ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); offline, pass a local file of this model "
                "as checkpoint (Python: FrozenEncoder.from_timm(name, checkpoint=FILE); config: encoder.checkpoint)"
            ) from exc
        raise
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, (nn.Sequential, nn.ModuleList)) or len(blocks) == 0:
        raise CheckpointError(
            f"timm model {model_name!r} ({type(model).__name__}) has no 'blocks' sequence of transformer blocks "
            "acting on one token sequence; metaframe's frozen encoder needs one (ViT, DeiT, CLIP ViT, EVA, ...)"
        )
    first = blocks[0]
    params = inspect.signature(first.forward).parameters
    required = [n for n, p in params.items() if n != "x" and p.default is inspect.Parameter.empty]
    if "attn_mask" not in params or required:
        raise CheckpointError(
            f"timm model {model_name!r}: its blocks ({type(first).__name__}.forward{inspect.signature(first.forward)}) "
            "do not take a key-padding attn_mask alone; variable-length tokens could not be masked"
        )
    embed_dim = int(getattr(model, "embed_dim", 0) or model.num_features)
    attn = getattr(first, "attn", None)
    num_heads = int(getattr(attn, "num_heads", 0))
    if not num_heads:
        raise CheckpointError(f"timm model {model_name!r}: cannot read the head count from {type(first).__name__}.attn")
    fc1 = getattr(getattr(first, "mlp", None), "fc1", None)
    mlp_ratio = fc1.out_features / embed_dim if isinstance(fc1, nn.Linear) else 4.0
    norm_eps = float(getattr(getattr(first, "norm1", None), "eps", 1e-6))
    norm_pre = getattr(model, "norm_pre", None)
    tag = model_name if checkpoint is None else f"{model_name} ({Path(checkpoint).name})"
    return FrozenEncoder(
        embed_dim,
        len(blocks),
        num_heads,
        mlp_ratio,
        preset=f"timm:{model_name}",
        norm_eps=norm_eps,
        blocks=list(blocks),
        norm_pre=None if isinstance(norm_pre, nn.Identity) else norm_pre,
        backend="timm",
        source=tag if fetch else f"{model_name} random(seed={seed})",
    )
