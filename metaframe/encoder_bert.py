"""The ``bert`` backend: the frozen post-LN blocks of a BERT-family model from a local folder.

BERT, MiniLM, sentence-transformers encoders (all-MiniLM-L6-v2, ...), RoBERTa and ELECTRA
share one block: ``x = LN(x + Attn(x)); x = LN(x + FFN(x))`` with separate q / k / v
projections. Their word, position and token-type embeddings are dropped (a tokenizer owns
what its tokens are and where they sit); the embeddings' LayerNorm is kept, frozen, as the
encoder's input norm, so the first block sees inputs on the scale it was trained on. This is
the "frozen pretrained language model as a universal encoder" route (Lu et al., 2021).

The folder is what Hugging Face ``save_pretrained`` writes (``config.json`` and
``model.safetensors`` or ``pytorch_model.bin``). ``transformers`` is not needed at run time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .encoder_checkpoint import CheckpointError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
PREFIXES = ("bert.", "roberta.", "electra.", "model.", "encoder_model.")
ACTIVATIONS = {
    "gelu": lambda: nn.GELU(),
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "gelu_pytorch_tanh": lambda: nn.GELU(approximate="tanh"),
    "relu": lambda: nn.ReLU(),
    "silu": lambda: nn.SiLU(),
    "swish": lambda: nn.SiLU(),
}


class PostLNBlock(nn.Module):
    """One BERT layer: attention and feed-forward, each followed by residual + LayerNorm."""

    def __init__(self, dim: int, num_heads: int, hidden: int, eps: float, act: str = "gelu") -> None:
        super().__init__()
        if act not in ACTIVATIONS:
            raise ValueError(f"hidden_act {act!r} is not supported; supported: {', '.join(ACTIVATIONS)}")
        self.num_heads = num_heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.attn_out = nn.Linear(dim, dim)
        self.attn_norm = nn.LayerNorm(dim, eps=eps)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = ACTIVATIONS[act]()
        self.fc2 = nn.Linear(hidden, dim)
        self.out_norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``attn_mask``: bool, broadcastable to ``[B, heads, N, N]``, True = may attend."""
        b, n, d = x.shape
        h = self.num_heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, h, d // h).transpose(1, 2)

        a = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=attn_mask)
        x = self.attn_norm(x + self.attn_out(a.transpose(1, 2).reshape(b, n, d)))
        return self.out_norm(x + self.fc2(self.act(self.fc1(x))))


# Hugging Face key (below ``encoder.layer.{i}.``) -> PostLNBlock key
LAYER_KEYS = {
    "attention.self.query": "query",
    "attention.self.key": "key",
    "attention.self.value": "value",
    "attention.output.dense": "attn_out",
    "attention.output.LayerNorm": "attn_norm",
    "intermediate.dense": "fc1",
    "output.dense": "fc2",
    "output.LayerNorm": "out_norm",
}


def _weights_file(path: Path) -> tuple[Path, Path]:
    """(config.json, weights) of a folder, or of a weights file with config.json beside it."""
    if path.is_dir():
        folder = path
        found = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
        if not found:
            raise CheckpointError(f"{path}: no {' or '.join(WEIGHT_FILES)} in this folder (a Hugging Face model folder)")
        weights = found[0]
    elif path.is_file():
        folder, weights = path.parent, path
    else:
        raise CheckpointError(f"{path}: no such file or folder (encoder options.path of the bert backend)")
    config = folder / "config.json"
    if not config.is_file():
        raise CheckpointError(f"{config}: missing; a BERT-family folder needs the config.json written with its weights")
    return config, weights


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: expected a JSON object, found {type(config).__name__}")
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"):
        if not isinstance(config.get(key), int) or config[key] <= 0:
            raise CheckpointError(f"{path}: {key} must be a positive integer, found {config.get(key)!r}")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise CheckpointError(
            f"{path}: hidden_size {config['hidden_size']} is not divisible by num_attention_heads "
            f"{config['num_attention_heads']}"
        )
    if config.get("hidden_act", "gelu") not in ACTIVATIONS:
        raise CheckpointError(
            f"{path}: hidden_act {config.get('hidden_act')!r} is not supported; supported: {', '.join(ACTIVATIONS)}"
        )
    position = config.get("position_embedding_type", "absolute")
    if position != "absolute":
        raise CheckpointError(
            f"{path}: position_embedding_type {position!r} puts positions inside attention; only 'absolute' "
            "(dropped here: tokenizers own positions) can be used"
        )
    return config


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - safetensors / pickle raise many kinds on a bad file
        raise CheckpointError(f"{path}: cannot read the weights ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors")
    return state


def _strip_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in PREFIXES:
        if any(k.startswith(prefix + "encoder.layer.") for k in state):
            return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
    return state


def _block_state(state: dict[str, torch.Tensor], depth: int, where: Path) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    def get(key: str) -> torch.Tensor:
        for alias in (key, key.replace(".weight", ".gamma"), key.replace(".bias", ".beta")):
            if alias in state:
                return state[alias]
        raise CheckpointError(f"{where}: missing tensor {key!r} (is this a BERT-family model?)")

    blocks = []
    for i in range(depth):
        blocks.append({
            f"{ours}.{kind}": get(f"encoder.layer.{i}.{theirs}.{kind}")
            for theirs, ours in LAYER_KEYS.items() for kind in ("weight", "bias")
        })
    if any(k.startswith(f"encoder.layer.{depth}.") for k in state):
        raise CheckpointError(f"{where}: the weights hold more than num_hidden_layers={depth} layers")
    norm = {kind: get(f"embeddings.LayerNorm.{kind}") for kind in ("weight", "bias")}
    return blocks, norm


def _init(module: nn.Module, std: float) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=std)
            nn.init.zeros_(m.bias)


def load_bert(
    path: str | Path,
    *,
    random_init: bool = False,
    seed: int = 0,
    name: str | None = None,
) -> "FrozenEncoder":  # noqa: F821 - imported lazily below
    """The blocks of the BERT-family model in ``path`` (a folder, or its weights file), frozen.

    ``random_init``: the same shape (width, depth, heads, activation, eps) randomly initialised
    as BERT initialises (normal, std ``initializer_range``) with ``seed``: the control for the
    pre-trained weights.
    """
    from .encoder import FrozenEncoder

    path = Path(path)
    config_path, weights_path = _weights_file(path)
    config = _read_config(config_path)
    dim, depth, heads = config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]
    hidden, act = config["intermediate_size"], config.get("hidden_act", "gelu")
    eps = float(config.get("layer_norm_eps", 1e-12))
    label = name or path.name
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        blocks = [PostLNBlock(dim, heads, hidden, eps, act) for _ in range(depth)]
        norm_pre = nn.LayerNorm(dim, eps=eps)
        for block in blocks:
            _init(block, float(config.get("initializer_range", 0.02)))
    if not random_init:
        state = _strip_prefix(_read_state(weights_path))
        block_states, norm_state = _block_state(state, depth, weights_path)
        for i, (block, bstate) in enumerate(zip(blocks, block_states)):
            try:
                block.load_state_dict({k: v.float() for k, v in bstate.items()}, strict=True)
            except RuntimeError as exc:
                raise CheckpointError(f"{weights_path}: layer {i} does not fit config.json ({exc})") from None
        norm_pre.load_state_dict({k: v.float() for k, v in norm_state.items()}, strict=True)
    return FrozenEncoder(
        dim,
        depth,
        heads,
        hidden / dim,
        preset=f"bert:{label}",
        norm_eps=eps,
        blocks=blocks,
        norm_pre=norm_pre,
        backend="bert",
        source=f"random(seed={seed}) shaped like {label}" if random_init else label,
    )

