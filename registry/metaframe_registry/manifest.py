"""The plugin contract: what a modality plugin declares, validated at discovery.

A manifest is plain metadata; code is named by "module:attr" strings and imported only
when a tokenizer is built or a file is read, so listing plugins never imports torch.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .names import NAME_PATTERN
from .recipe import Recipe
from .resolve import is_reference

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})


class ModalityManifest(BaseModel):
    """What a modality plugin provides.

    Callables named here, and what metaframe expects of them:

    - ``tokenizer(embed_dim: int, **options) -> torch.nn.Module`` whose ``forward(batch)``
      returns a ``metaframe.TokenBatch`` of width ``embed_dim``;
    - ``reader(source, **reader_options) -> sample`` for a path or an in-memory object;
      raises ``metaframe_registry.ReadError`` naming the source for bad input;
    - ``collate(samples: list) -> batch`` (default: stack tensors, refuse mixed shapes);
    - ``dataset(path, **options) -> Sequence[(sample, target)]`` for sources holding many samples;
    - ``examples(directory: pathlib.Path) -> list[source]``: at least two small valid inputs
      (of different sizes for variable-length modalities), written into ``directory`` or made
      in memory; the conformance kit runs on them;
    - ``demo() -> metaframe.demo.DemoTask``: a small generated task ``metaframe demo`` runs.

    ``recipe`` (a ``metaframe_registry.Recipe``, or a dict of its fields) holds the training
    values the plugin recommends; the engine uses them where a config is silent.
    """

    # defer_build: the schema is built on first validation, not on import (faster listing)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    schema_version: int = Field(SCHEMA_VERSION, description="version of this plugin contract")
    name: str = Field(pattern=NAME_PATTERN, description="canonical modality name, e.g. 'point_cloud'")
    description: str = Field(min_length=1)
    distribution: str | None = Field(None, description="filled in by discovery when omitted")
    version: str | None = Field(None, description="filled in by discovery when omitted")
    inputs: list[str] = Field(default_factory=list, description="input kinds, e.g. ['file', 'array', 'tensor']")
    extensions: list[str] = Field(default_factory=list, description="file extensions read, e.g. ['.png', '.jpg']")
    tokenizer: str
    reader: str
    collate: str | None = None
    dataset: str | None = None
    examples: str | None = None
    demo: str | None = Field(
        None, description="'module:attr' of a function returning the plugin's `metaframe demo` task (see docs/demo.md)"
    )
    tokenizer_options: dict[str, Any] = Field(default_factory=dict)
    reader_options: dict[str, Any] = Field(default_factory=dict)
    example_tokenizer_options: dict[str, Any] = Field(
        default_factory=dict, description="small, fast tokenizer options used with `examples` by the conformance kit"
    )
    example_reader_options: dict[str, Any] = Field(
        default_factory=dict, description="reader options used with `examples` by the conformance kit"
    )
    info: dict[str, Any] = Field(default_factory=dict, description="free JSON facts shown by list-modalities --format json")
    recipe: Recipe = Field(
        default_factory=Recipe,
        description="recommended training values (lr, epochs, batch size, pooling, tokenizer options) that "
        "`metaframe train` uses where a config leaves a field out",
    )

    @field_validator("schema_version")
    @classmethod
    def _supported_schema(cls, value: int) -> int:
        if value not in SUPPORTED_SCHEMA_VERSIONS:
            raise ValueError(
                f"schema_version {value} is not supported by this metaframe-registry "
                f"(supported: {sorted(SUPPORTED_SCHEMA_VERSIONS)}); upgrade metaframe or the plugin"
            )
        return value

    @field_validator("tokenizer", "reader", "collate", "dataset", "examples", "demo")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        if value is not None and not is_reference(value):
            raise ValueError(f"{value!r} is not a 'module:attr' reference (expected e.g. 'metaframe_image.tokenizer:build')")
        return value

    @field_validator("extensions")
    @classmethod
    def _extensions(cls, value: list[str]) -> list[str]:
        for ext in value:
            if not ext.startswith("."):
                raise ValueError(f"extension {ext!r} must start with a dot, e.g. '.png'")
        return [ext.lower() for ext in value]

    def references(self) -> dict[str, str]:
        """The "module:attr" fields that are set, by field name."""
        fields = ("tokenizer", "reader", "collate", "dataset", "examples", "demo")
        return {f: getattr(self, f) for f in fields if getattr(self, f) is not None}
