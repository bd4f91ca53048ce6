"""A handle on one installed modality: read, collate and build its tokenizer.

Every modality — built-in or third-party — is reached through this one class, built from
the manifest that discovery found; the plugin's code is imported on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from metaframe_registry import ConfigError, MetaframeError, ReadError, resolve

from .ops.files import require_file

if TYPE_CHECKING:
    import torch

    from metaframe_registry import ModalityManifest

# What each optional capability is for, in MissingCapabilityError messages.
CAPABILITIES: dict[str, str] = {
    "tokenizer": "tokenizer",
    "reader": "reader",
    "collate": "collate function",
    "dataset": "dataset reader (for a file holding many samples)",
    "examples": "example inputs",
    "demo": "`metaframe demo` task",
}


class CollateError(MetaframeError, ValueError):
    """Samples that cannot form one batch (mixed shapes the modality does not pad, ...)."""


class TokenizerOptionsError(ConfigError, TypeError):
    """Tokenizer options the plugin's factory refuses (unknown name, bad value)."""


class MissingCapabilityError(ConfigError):
    """A modality asked for something its manifest does not declare (``dataset`` for image, ...).

    ``modality`` and ``field`` name what was asked; the message lists what the manifest offers.
    """

    def __init__(self, manifest: ModalityManifest, field: str) -> None:
        self.modality = manifest.name
        self.field = field
        offered = ", ".join(manifest.references()) or "nothing"
        super().__init__(
            f"modality {manifest.name!r} ({manifest.distribution or '?'} {manifest.version or '?'}) has no "
            f"{CAPABILITIES.get(field, field)}: its manifest declares no `{field}`; it declares: {offered}"
        )


class Modality:
    def __init__(self, manifest: ModalityManifest) -> None:
        self.manifest = manifest

    @property
    def name(self) -> str:
        return self.manifest.name

    def __repr__(self) -> str:
        return f"Modality({self.name!r} from {self.manifest.distribution} {self.manifest.version})"

    def _resolve(self, field: str) -> Callable[..., Any]:
        reference = getattr(self.manifest, field)
        if reference is None:
            raise MissingCapabilityError(self.manifest, field)
        return resolve(reference)

    def read(self, source: Any, **options: Any) -> Any:
        """Read one sample from a path or an in-memory object (reader options override the manifest's).

        A source that names a file (a ``pathlib.Path``, or — unless the manifest's ``inputs`` lists
        ``"str"`` — a string ending in one of its ``extensions``) is checked here, once for every plugin: missing, a directory (unless the
        manifest's ``inputs`` lists ``"folder"``) or empty is a ``ReadError`` before the reader runs.
        """
        reader = self._resolve("reader")
        merged = {**self.manifest.reader_options, **options}
        self._check_file(source)
        try:
            return reader(source, **merged)
        except ReadError:
            raise
        except FileNotFoundError as exc:
            raise ReadError(source, f"file not found ({exc.strerror or exc})") from exc
        except IsADirectoryError as exc:
            raise ReadError(source, "is a directory, expected a file") from exc

    def _check_file(self, source: Any) -> None:
        if isinstance(source, str):
            if "str" in self.manifest.inputs:  # a string may be the sample itself (text)
                return
            if not source.lower().endswith(tuple(self.manifest.extensions)) or len(source) > 4096 or "\n" in source:
                return
        elif not isinstance(source, os.PathLike):
            return
        require_file(source, allow_dir="folder" in self.manifest.inputs)

    def collate(self, samples: Sequence[Any]) -> Any:
        """Batch samples; a refusal (mixed shapes, ...) is a CollateError naming the modality."""
        if self.manifest.collate is None:
            from .collate import default_collate as collate
        else:
            collate = self._resolve("collate")
        try:
            return collate(list(samples))
        except MetaframeError:
            raise
        except ValueError as exc:
            raise CollateError(f"modality {self.name!r}: cannot batch these samples: {exc}") from exc

    def load(self, sources: Iterable[Any], **options: Any) -> Any:
        """Read several sources and collate them into one batch."""
        return self.collate([self.read(s, **options) for s in sources])

    def build_tokenizer(self, embed_dim: int, **options: Any) -> torch.nn.Module:
        """Build the tokenizer with the manifest's default options, overridden by ``options``."""
        factory = self._resolve("tokenizer")
        merged = {**self.manifest.tokenizer_options, **options}
        try:
            tokenizer = factory(embed_dim=embed_dim, **merged)
        except MetaframeError:
            raise
        except (TypeError, ValueError) as exc:
            raise TokenizerOptionsError(
                f"modality {self.name!r}: cannot build its tokenizer ({self.manifest.tokenizer}) with options "
                f"{merged}: {exc}"
            ) from exc
        got = getattr(tokenizer, "embed_dim", None)
        if got != embed_dim:
            raise TypeError(
                f"tokenizer of modality {self.name!r} ({self.manifest.tokenizer}) reports embed_dim={got!r}, "
                f"expected {embed_dim}"
            )
        return tokenizer

    def dataset(self, path: str | Path, **options: Any) -> Sequence[tuple[Any, Any]]:
        """The plugin's dataset reader: ``(sample, target)`` pairs from one source file."""
        return self._resolve("dataset")(path, **options)

    def examples(self, directory: str | Path) -> list[Any]:
        """Small valid inputs for checks and demos (see ModalityManifest.examples)."""
        return list(self._resolve("examples")(Path(directory)))
