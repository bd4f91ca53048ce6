"""Named ``TokenBatch.extras`` keys: the contracts between a tokenizer and the heads reading it.

A tokenizer may hand a head per-sample tensors beside its tokens (``TokenBatch.extras``; the
head finds them in ``EncodedBatch.extras[modality]``). The key names are a contract between
two sides that may live in different plugins, so both sides use these constants instead of
string literals, and each constant says its shape, dtype, meaning, who writes and who reads.
``B`` = batch, ``N`` = this modality's tokens, ``C`` = channels. Torch-free (names only).

Every built-in plugin's key is here (tests/test_extras_contract.py runs each writer against
SHAPES / DTYPES). A third-party tokenizer reusing a meaning (e.g. per-sample real lengths)
reuses the key; a meaning only its own tokenizer and head share may be a constant of its own.
"""

from __future__ import annotations

from typing import Final

LENGTHS: Final = "lengths"
"""``[B]`` int64: real (unpadded) steps of each input series. Writers: time_series (step and
patch tokenizers), imu. Readers: none built in; for heads that need the input length."""

REVIN_LOC: Final = "revin_loc"
"""``[B, C]`` float: per-series, per-channel location of the RevIN normalisation
(``metaframe.nn.RevIN``); with REVIN_SCALE it maps normalised values back to the data's units,
``y = y_norm * scale + loc`` (``metaframe.nn.undo_revin``). Present only when the tokenizer
normalised (``normalize="revin"``). Writers: time_series, imu. Reader: time_series ``forecast`` head."""

REVIN_SCALE: Final = "revin_scale"
"""``[B, C]`` float: the RevIN scale paired with REVIN_LOC (always written together)."""

TOKEN_CHANNEL: Final = "token_channel"
"""``[B, N]`` int64: the input channel each token was cut from (channel-independent patch
tokens, ``metaframe.nn.SeriesPatchTokenizer``). Writers: time_series ``mode="patch"``,
imu ``projection="channel"``. Readers: time_series ``forecast`` head (``pooling="channel"``),
imu's tokenizer (masks the channels a window lacks)."""

NODE_MASK: Final = "node_mask"
"""``[B, max nodes]`` bool: True = a real node. The graph tokenizer's first ``max nodes``
tokens are the node slots in node order. Writer: graph. Reader: graph ``node`` head."""

NUM_NODES: Final = "num_nodes"
"""``[B]`` int64: real nodes of each graph. Writer: graph. Readers: none built in."""

NUM_EDGES: Final = "num_edges"
"""``[B]`` int64: real edges of each graph (their tokens follow the node slots). Writer: graph.
Readers: none built in."""

CENTERS: Final = "centers"
"""``[B, N, 3]`` float: xyz of each point-cloud token's group centre (farthest point sample;
rows past a cloud's real centres are padding, masked in ``TokenBatch.mask``). Writer: point_cloud.
Readers: none built in; for heads that place tokens in space (segmentation, detection)."""

CENTER_INDEX: Final = "center_index"
"""``[B, N]`` int64: index into the input points of each token's centre. Writer: point_cloud.
Readers: none built in; to map token outputs back to points."""

MISSING: Final = "missing"
"""``[B, N]`` bool: True where a table cell (one token per fitted column, in column order)
was missing and its token is the learned missing embedding. Writer: tabular. Readers: none built in."""

UNKNOWN: Final = "unknown"
"""``[B, N]`` bool: True where a categorical cell held a value not seen in ``fit`` (mapped to
the unknown token); always False for numeric columns. Writer: tabular. Readers: none built in."""

NUM_FRAMES: Final = "num_frames"
"""``[B]`` int64: real log-Mel filterbank frames of each clip (after cropping to
``target_length``). Writer: audio. Readers: none built in."""

BLOCK_POSITIONS: Final = "block_positions"
"""``[B, N, D]`` float: positions added to this modality's tokens before EVERY frozen block
(``metaframe.block_positions``; zeros elsewhere in the joint sequence), as the official point
cloud model does. A tokenizer writing it leaves them out of its tokens (block 0's input gets
them from the hook). Writer: point_cloud (``add_pos_each_block=True``). Reader: ``MetaModel``."""

SERIES_VALUES: Final = "series_values"
"""``[B, T, C]`` float: the series the tokens were cut from, in the data's units, before any
normalisation (padding steps hold zeros; see LENGTHS). Writers: time_series ``mode="patch"`` and ``"step"``.
Reader: time_series ``informer_decoder`` head (its decoder input is the history's end)."""

SHAPES: Final[dict[str, tuple[str | int, ...]]] = {
    LENGTHS: ("B",),
    REVIN_LOC: ("B", "C"),
    REVIN_SCALE: ("B", "C"),
    TOKEN_CHANNEL: ("B", "N"),
    NODE_MASK: ("B", "nodes"),
    NUM_NODES: ("B",),
    NUM_EDGES: ("B",),
    CENTERS: ("B", "N", 3),
    CENTER_INDEX: ("B", "N"),
    MISSING: ("B", "N"),
    UNKNOWN: ("B", "N"),
    NUM_FRAMES: ("B",),
    BLOCK_POSITIONS: ("B", "N", "D"),
    SERIES_VALUES: ("B", "T", "C"),
}
"""Each key's documented shape, for checks: ``B`` batch, ``N`` tokens, ``C`` input channels,
``nodes`` the largest graph's node count; an int is a fixed size; ``D`` the token width, ``T`` the padded series steps."""

DTYPES: Final[dict[str, str]] = {
    LENGTHS: "int64",
    REVIN_LOC: "float",
    REVIN_SCALE: "float",
    TOKEN_CHANNEL: "int64",
    NODE_MASK: "bool",
    NUM_NODES: "int64",
    NUM_EDGES: "int64",
    CENTERS: "float",
    CENTER_INDEX: "int64",
    MISSING: "bool",
    UNKNOWN: "bool",
    NUM_FRAMES: "int64",
    BLOCK_POSITIONS: "float",
    SERIES_VALUES: "float",
}
"""Each key's documented dtype: ``"float"`` is any floating dtype (it follows the model's)."""

KEYS: Final = tuple(SHAPES)
"""Every key named here (a new constant joins SHAPES and DTYPES)."""

__all__ = [
    "BLOCK_POSITIONS",
    "CENTERS",
    "CENTER_INDEX",
    "DTYPES",
    "KEYS",
    "LENGTHS",
    "MISSING",
    "NODE_MASK",
    "NUM_EDGES",
    "NUM_FRAMES",
    "NUM_NODES",
    "REVIN_LOC",
    "REVIN_SCALE",
    "SERIES_VALUES",
    "SHAPES",
    "TOKEN_CHANNEL",
    "UNKNOWN",
]
