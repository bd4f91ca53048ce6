"""Write tests/data/clip_reference_ids.json: CLIP's reference tokenizer's ids for a set of sentences.

Needs open_clip's ``tokenizer.py`` (CLIP's ``SimpleTokenizer``, with ftfy and regex) importable;
it is not a dependency of the plugin, so this runs once by hand and the ids are committed:

    pip download --no-deps open_clip_torch && unzip -o open_clip_torch-*.whl 'open_clip/*'
    pip install --target /tmp/ref ftfy regex
    PYTHONPATH=/tmp/ref python plugins/text/scripts/clip_reference_ids.py open_clip/tokenizer.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SENTENCES = [
    "a photo of a cat", "A Photo OF   a DOG!!", "It's 3:45pm, I'd've said 12345 dollars.",
    "naïve café résumé über", "emoji 😀 test ✓", "  leading and trailing\t\nspaces  ",
    "don’t you'll we're they've I'm", "日本語のテキスト", "hello-world foo_bar baz.qux", "x" * 100,
    "Straße ǅ ﬁ", "tab\tsep\ttext", "<|endoftext|> inside text", "C++ and C# and F#", "1,000,000.50",
    "Tom &amp; Jerry &lt;3", "İstanbul ΣΊΣΥΦΟΣ", "e\u0301cole",
]


def main() -> None:
    spec = importlib.util.spec_from_file_location("clip_reference_tokenizer", sys.argv[1])
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    ref = module.SimpleTokenizer()
    ids = {s: [49406, *ref.encode(s), 49407] for s in SENTENCES}
    out = Path(__file__).resolve().parents[1] / "tests" / "data" / "clip_reference_ids.json"
    lines = [f"  {json.dumps(s, ensure_ascii=False)}: {json.dumps(v)}" for s, v in ids.items()]
    out.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    print(f"wrote {out} ({len(ids)} sentences)")


if __name__ == "__main__":
    main()
