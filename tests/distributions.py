"""Build real installed distributions (a .dist-info with entry points) in a folder.

A folder on sys.path / PYTHONPATH holding ``<name>-<version>.dist-info`` is exactly what pip
leaves behind, so importlib.metadata discovers these the way it finds any installed plugin.
"""

from __future__ import annotations

import textwrap
from pathlib import Path


def make_distribution(
    site: Path,
    dist_name: str,
    version: str,
    entry_points: dict[str, dict[str, str]],
    modules: dict[str, str],
) -> Path:
    """Write package modules and a dist-info declaring ``entry_points`` ({group: {name: value}})."""
    site.mkdir(parents=True, exist_ok=True)
    for relpath, source in modules.items():
        path = site / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    info = site / f"{dist_name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in eps.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    (info / "RECORD").write_text("")
    return info


VALID_MANIFEST = """
from metaframe_registry import ModalityManifest

def manifest():
    return ModalityManifest(
        name="{name}",
        description="a third-party test modality",
        inputs=["tensor"],
        tokenizer="{module}.tok:build",
        reader="{module}.tok:read",{extra}
    )
"""

VALID_TOKENIZER = """
import torch
from torch import nn
from metaframe.tokens import TokenBatch


class Tok(nn.Module):
    def __init__(self, embed_dim, width=4):
        super().__init__()
        self.embed_dim = embed_dim
        self.proj = nn.Linear(width, embed_dim)

    def forward(self, batch):
        return TokenBatch(self.proj(batch))


def build(embed_dim, **options):
    return Tok(embed_dim, **options)


def read(source, **options):
    return torch.as_tensor(source, dtype=torch.float32)
"""


def manifest_source(name: str, module: str, recipe: dict | None = None) -> str:
    """The entry module of a valid third-party modality (``recipe``: its manifest's recipe)."""
    extra = f"\n        recipe={recipe!r}," if recipe is not None else ""
    return VALID_MANIFEST.format(name=name, module=module, extra=extra)


def third_party(
    site: Path, name: str = "sonar", dist: str = "metaframe-sonar", version: str = "1.2.3", recipe: dict | None = None
) -> None:
    module = f"mf_{name}"
    make_distribution(
        site,
        dist,
        version,
        {"metaframe.modalities": {name: f"{module}:manifest"}},
        {
            f"{module}/__init__.py": manifest_source(name, module, recipe),
            f"{module}/tok.py": VALID_TOKENIZER,
        },
    )
