"""A built model folder's files: their sha256, saving a tokenizer with its chat template, and the
load check every builder runs before its folder may be installed.

torch and transformers are imported only inside the functions that need them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import SelfcogError

_HASH_BLOCK = 1 << 20  # bytes read at a time, so hashing a 500 MB model stays flat in memory


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_HASH_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def import_ml() -> Any:
    """torch, with transformers importable; a SelfcogError instead of an ImportError."""
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise SelfcogError(f"building builtin models needs torch and transformers: {exc}") from exc
    return torch


_LOAD_ONLY_KEYS = ("is_local", "local_files_only", "gguf_file", "_commit_hash", "name_or_path")


def save_tokenizer(tokenizer: Any, out: Path) -> None:
    """Save the tokenizer and make sure its chat template is saved with it."""
    tokenizer.save_pretrained(out)
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    if any(key in config for key in _LOAD_ONLY_KEYS):  # from_pretrained's kwargs, echoed back
        config = {k: v for k, v in config.items() if k not in _LOAD_ONLY_KEYS}
        config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    has_template = (out / "chat_template.jinja").is_file() or bool(config.get("chat_template"))
    if not has_template:
        if not tokenizer.chat_template:
            raise SelfcogError("the tokenizer has no chat template to save")
        (out / "chat_template.jinja").write_text(tokenizer.chat_template, encoding="utf-8")


_CHECK_TEXTS = ("Who are you? I am an AI assistant.", "你是谁？我是一个人工智能助手。")
_CHECK_NEW_TOKENS = 4  # enough to show generation runs and stops cleanly
_LOGITS_TOLERANCE = 1e-4  # atol and rtol: float32 save/reload noise, far below a wrong weight


def check_folder(folder: Path, reference: Any = None) -> None:
    """Load the saved folder with plain transformers, round-trip text, render the chat template and
    generate a few tokens; with `reference` (the in-memory model) the logits must match."""
    torch = import_ml()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - any failure means the build is unusable
        raise SelfcogError(f"the built model in {folder} does not load: {exc}") from exc
    for text in _CHECK_TEXTS:
        back = tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"])
        if back != text:
            raise SelfcogError(f"the built tokenizer does not round-trip {text!r} (got {back!r})")
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if tokenizer("<|im_end|>", add_special_tokens=False)["input_ids"] != [im_end]:
        raise SelfcogError("the built tokenizer splits <|im_end|>")
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": _CHECK_TEXTS[0]}], tokenize=False,
                                           add_generation_prompt=True)
    if not isinstance(prompt, str) or "<|im_start|>assistant" not in prompt:
        raise SelfcogError(f"the built chat template renders {prompt!r}")
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        if reference is not None:
            got = model(**inputs).logits
            want = reference(**inputs).logits
            if not torch.allclose(got, want, atol=_LOGITS_TOLERANCE, rtol=_LOGITS_TOLERANCE):
                raise SelfcogError(f"the saved model's logits differ from the converted one's "
                                   f"(max {float((got - want).abs().max()):.3g})")
        output = model.generate(**inputs, max_new_tokens=_CHECK_NEW_TOKENS, do_sample=False)
    if output.shape[1] <= inputs["input_ids"].shape[1]:
        raise SelfcogError("the built model generated nothing")
