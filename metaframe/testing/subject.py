"""The modality under test: its manifest, examples, samples and fresh tokenizers.

Built once per modality and shared by every check (reading examples is the slow part);
each check builds its own tokenizer, so no check sees another's state.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from metaframe_registry import MODALITY_GROUP, ModalityManifest, default_registry
from metaframe_registry.resolve import is_reference

from metaframe.encoder import FrozenEncoder
from metaframe.modality import Modality
from metaframe.model import MetaModel
from metaframe.protocols import is_fittable

EMBED_DIM = 32
"""Width of the kit's tiny encoder: every tokenizer is built with this ``embed_dim``."""

_ENCODER: FrozenEncoder | None = None


def tiny_encoder() -> FrozenEncoder:
    """One shared ``FrozenEncoder(embed_dim=32, depth=1, num_heads=2)``, seeded: fast and deterministic."""
    global _ENCODER
    if _ENCODER is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            _ENCODER = FrozenEncoder(embed_dim=EMBED_DIM, depth=1, num_heads=2)
    return _ENCODER


def _installed_entry_point(name: str, distribution: str | None) -> str | None:
    for ep in metadata.entry_points(group=MODALITY_GROUP):
        dist = ep.dist.metadata["Name"] if ep.dist is not None else None
        if ep.name == name and (distribution is None or dist == distribution):
            return ep.value
    return None


@dataclass
class ModalityUnderTest:
    """What every check receives. ``entry_point`` is None for modalities registered at run time."""

    manifest: ModalityManifest
    entry_point: str | None
    embed_dim: int = EMBED_DIM
    _directory: Path | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.manifest.name

    @cached_property
    def modality(self) -> Modality:
        return Modality(self.manifest)

    @property
    def directory(self) -> Path:
        """A scratch directory for this modality (examples, corrupt files), removed at exit."""
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix=f"metaframe-kit-{self.name}-"))
            atexit.register(shutil.rmtree, self._directory, ignore_errors=True)
        return self._directory

    @cached_property
    def sources(self) -> list[Any]:
        if self.manifest.examples is None:
            raise AssertionError(
                f"modality {self.name!r} declares no `examples` in its manifest; the kit needs a function "
                "examples(directory) -> list of at least two small valid inputs"
            )
        folder = self.directory / "examples"
        folder.mkdir(exist_ok=True)
        sources = self.modality.examples(folder)
        if len(sources) < 2:
            raise AssertionError(
                f"{self.manifest.examples} returned {len(sources)} example(s); the kit needs at least two "
                "(of different sizes for variable-length modalities)"
            )
        return sources

    @cached_property
    def samples(self) -> list[Any]:
        """The examples read through the registry route with ``example_reader_options``."""
        return [self.read(source) for source in self.sources]

    def read(self, source: Any) -> Any:
        return self.modality.read(source, **self.manifest.example_reader_options)

    def collate(self, samples: list[Any]) -> Any:
        return self.modality.collate(samples)

    def build_tokenizer(self, seed: int = 0, fit: bool = True) -> nn.Module:
        """A fresh tokenizer with ``example_tokenizer_options``, fitted on the examples when fittable."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            tokenizer = self.modality.build_tokenizer(self.embed_dim, **self.manifest.example_tokenizer_options)
        if fit and is_fittable(tokenizer):
            tokenizer.fit(self.samples)
        return tokenizer.eval()

    def build_model(self, tokenizer: nn.Module) -> MetaModel:
        """The tokenizer composed with the shared tiny encoder (seeded [CLS] and modality embedding)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = MetaModel(tiny_encoder(), tokenizers={self.name: tokenizer})
        return model.eval()


_SUBJECTS: dict[tuple[str, str | None], ModalityUnderTest] = {}


def subject_for(target: str | ModalityManifest | Modality | ModalityUnderTest) -> ModalityUnderTest:
    """The (cached) subject for a modality name, a manifest or a ``Modality`` handle."""
    if isinstance(target, ModalityUnderTest):
        return target
    entry_point: str | None = None
    if isinstance(target, str):
        registry = default_registry()
        manifest = registry.manifest(target)  # raises a readable error for unknown or broken plugins
        for record in registry.modality_records():
            if record.name == target and is_reference(record.value):
                entry_point = record.value
    elif isinstance(target, Modality):
        manifest = target.manifest
    elif isinstance(target, ModalityManifest):
        manifest = target
    else:
        raise TypeError(
            f"expected a modality name, a ModalityManifest or a metaframe.Modality, got {type(target).__name__}"
        )
    if entry_point is None and not isinstance(target, str) and manifest.distribution:
        entry_point = _installed_entry_point(manifest.name, manifest.distribution)
    key = (manifest.model_dump_json(), entry_point)
    if key not in _SUBJECTS:
        _SUBJECTS[key] = ModalityUnderTest(manifest, entry_point)
    return _SUBJECTS[key]
