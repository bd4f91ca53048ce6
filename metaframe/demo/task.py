"""What a plugin's ``demo()`` returns: a small task that ``metaframe demo`` trains for it.

Plain data, no torch: a plugin's manifest names ``demo="metaframe_<name>.demo:task"`` and the
function builds one of these; the data are made (or loaded from a package that ships them)
only when ``load`` is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class DemoTask:
    """One classification task for one modality.

    ``load(quick)`` returns ``(sources, labels)``: sources are whatever the modality's reader
    accepts (arrays, dict rows, ``(waveform, rate)`` pairs, paths), labels one class per
    source; ``quick`` asks for fewer samples (``metaframe demo --quick``). ``tokenizer`` and
    ``reader`` are the options the task trains with (small, fast ones: the demo runs on a CPU).
    """

    modality: str  # the plugin's modality name (the manifest's ``name``)
    description: str  # one line for the table, e.g. "generated tones (low / middle / high pitch)"
    load: Callable[[bool], tuple[list[Any], list[Any]]]  # quick -> (sources, labels)
    tokenizer: dict[str, Any] = field(default_factory=dict)  # tokenizer options
    reader: dict[str, Any] = field(default_factory=dict)  # reader options
