"""The names of the conformance checks, in the order they run (torch-free).

Kept apart from ``checks.py`` so that xfail declarations can be validated, and test ids
listed, without importing torch.
"""

from __future__ import annotations

CHECK_NAMES: tuple[str, ...] = (
    "check_manifest_schema",
    "check_entry_module_torch_free",
    "check_references_resolve",
    "check_examples_read",
    "check_tokenizer_output",
    "check_padding_invariance",
    "check_eval_deterministic",
    "check_gradients_reach_tokenizer_only",
    "check_state_dict_safetensors_roundtrip",
    "check_reader_rejects_corrupt_file",
    "check_reader_rejects_empty_file",
    "check_reader_refuses_hostile_files",
    "check_tokenizer_moves_with_to",
    "check_tokenizer_runs_on_cuda",
)

XfailSpec = dict  # {"check_name": "reason"} or {"modality": {"check_name": "reason"}}


def xfail_reason(xfail: dict | None, modality: str, check: str) -> str | None:
    """The declared reason ``check`` is a known failure for ``modality``, if any."""
    if not xfail:
        return None
    per_modality = xfail.get(modality)
    if isinstance(per_modality, dict) and check in per_modality:
        return str(per_modality[check])
    value = xfail.get(check)
    return str(value) if isinstance(value, str) else None


def validate_xfail(xfail: dict | None) -> None:
    """Refuse unknown check names, so a typo cannot silently declare nothing."""
    for key, value in (xfail or {}).items():
        names = value.keys() if isinstance(value, dict) else [key]
        if not isinstance(value, (dict, str)):
            raise TypeError(f"xfail[{key!r}] must be a reason string or a dict of check name -> reason, got {value!r}")
        unknown = [n for n in names if n not in CHECK_NAMES]
        if unknown:
            raise ValueError(
                f"xfail names unknown check(s) {', '.join(map(repr, unknown))}; known checks: {', '.join(CHECK_NAMES)}"
            )
