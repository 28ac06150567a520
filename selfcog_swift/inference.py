"""Asking a model through swift's own inference pipeline: load once, generate in batches.

The model is loaded from the same `swift infer` argument list that `render` prints, so the
answers here are the answers `swift infer` would give.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

from .errors import SelfcogError

# Bytes read from each end of a weight file for the model fingerprint (hashing 500 MB each run
# would cost seconds; size plus both ends tells apart any two checkpoints in practice).
FINGERPRINT_BYTES = 1 << 20
# Prompts per generate call. Measured here (SmolLM2-135M, 32 probes, 64 new tokens, 2 threads):
# 8 → 35 s, 16 → 27 s, 32 → 20 s; larger batches gain nothing more (bench/run.py measures it).
BATCH_SIZE = 32

_ORIGINAL_RESOLVE = None
_REMOTE_CODE = {"allowed": False}


def remote_code_allowed() -> bool:
    """The policy last set by allow_remote_code (torchrun ranks get it through sft_rank)."""
    return _REMOTE_CODE["allowed"]


def allow_remote_code(allow: bool) -> None:
    """Let a model folder's own Python code run only when the recipe's model.trust_remote_code says so.

    swift asks transformers with trust_remote_code=True in several places (model lookup, its
    ModelLoader), so the policy is applied where transformers decides: its Auto classes'
    resolve_trust_remote_code.
    """
    global _ORIGINAL_RESOLVE
    import importlib

    from swift.model.register import ModelLoader
    from transformers import dynamic_module_utils

    ModelLoader.default_trust_remote_code = allow
    _REMOTE_CODE["allowed"] = allow
    _ORIGINAL_RESOLVE = _ORIGINAL_RESOLVE or dynamic_module_utils.resolve_trust_remote_code

    def resolve(trust_remote_code, *args, **kwargs):
        return _ORIGINAL_RESOLVE(trust_remote_code if allow else False, *args, **kwargs)

    for name in ("configuration_auto", "auto_factory", "tokenization_auto", "processing_auto",
                 "feature_extraction_auto", "image_processing_auto"):
        module = importlib.import_module(f"transformers.models.auto.{name}")
        if hasattr(module, "resolve_trust_remote_code"):
            module.resolve_trust_remote_code = resolve if not allow else _ORIGINAL_RESOLVE


def load_engine(infer_argv: list[str], max_batch_size: int = BATCH_SIZE):
    """Build swift's inference pipeline (model + template) from a `swift infer` argument list.

    Returns:
        swift's SwiftInfer object; its `infer_engine` is a TransformersEngine.
    """
    from swift.pipelines.infer.infer import SwiftInfer

    return SwiftInfer([*infer_argv, "--max_batch_size", str(max_batch_size), "--stream", "false"])


def swap_adapter(pipeline, checkpoint: str) -> bool:
    """Put another checkpoint of the same run into a loaded engine: only the LoRA weights change,
    the base stays loaded. False (nothing changed) when the engine holds no adapters of the same
    configuration, so the caller loads afresh."""
    import json

    from peft import PeftModel, set_peft_model_state_dict
    from safetensors.torch import load_file

    model = pipeline.infer_engine.model
    folder = Path(checkpoint)
    weights, config = folder / "adapter_model.safetensors", folder / "adapter_config.json"
    if not (isinstance(model, PeftModel) and weights.is_file() and config.is_file()):
        return False
    loaded = model.peft_config["default"].to_dict()
    wanted = json.loads(config.read_text(encoding="utf-8"))
    if any(_comparable(loaded.get(k)) != _comparable(wanted.get(k)) for k in ("r", "lora_alpha", "target_modules",
                                                                             "modules_to_save", "use_dora")):
        return False
    state = load_file(str(weights))
    result = set_peft_model_state_dict(model, state, adapter_name="default")
    if result.unexpected_keys:
        raise SelfcogError(f"{weights}: weights that do not fit the loaded adapter: {result.unexpected_keys[:3]}")
    return True


def _comparable(value):
    return sorted(value) if isinstance(value, (list, set, tuple)) else value


def by_length(lengths: Sequence[int], size: int) -> list[list[int]]:
    """Indices in batches of `size`, similar lengths together: a batch is padded to its longest
    member. Callers put each result back at its index, so the order asked is kept."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[start:start + size] for start in range(0, len(order), size)]


def prompt_chars(messages: Sequence[dict]) -> int:
    """A conversation's length in characters: what prompts are batched by."""
    return sum(len(m["content"] or "") for m in messages)


def generate(pipeline, prompts: Sequence[Sequence[dict]], max_new_tokens: int, batch: bool = True,
             sampling: Optional[dict] = None, progress: Optional[Callable[[int], None]] = None) -> list[str]:
    """Answers to whole conversations (lists of {role, content}), batched by default; greedy unless
    `sampling` sets temperature, top_p, repetition_penalty or seed. `progress(n)` after each batch."""
    from swift.infer_engine import InferRequest, RequestConfig

    config = RequestConfig(**{"max_tokens": max_new_tokens, "temperature": 0, **(sampling or {})})
    requests = [InferRequest(messages=list(messages)) for messages in prompts]
    engine = pipeline.infer_engine
    lengths = [prompt_chars(messages) for messages in prompts]
    answers: list = [None] * len(requests)
    for chunk in by_length(lengths, BATCH_SIZE if batch else 1):
        for index, reply in zip(chunk, engine.infer([requests[i] for i in chunk], request_config=config,
                                                   use_tqdm=False)):
            answers[index] = answer_text(reply.choices[0].message.content or "")
        if progress:
            progress(len(chunk))
    return answers


def answer_text(content: str) -> str:
    """The answer proper: a thinking model's leading <think>…</think> block (empty in non-thinking
    mode, as swift's qwen3 template returns it) is not part of what the model says."""
    head = content.lstrip()
    if head.startswith("<think>") and "</think>" in head:
        return head.split("</think>", 1)[1].strip()
    return content


def ask(infer_argv: list[str], questions: Sequence[str], max_new_tokens: int,
        system: Optional[str] = None) -> list[str]:
    """Load the model once and answer each question in a fresh single-turn conversation."""
    allow_remote_code(False)
    pipeline = load_engine(infer_argv)
    prefix = [{"role": "system", "content": system}] if system else []
    return generate(pipeline, [[*prefix, {"role": "user", "content": q}] for q in questions], max_new_tokens)


def chat(infer_argv: list[str]) -> None:
    """swift's own interactive chat loop (greedy) on the model."""
    from swift.pipelines import infer_main

    if not os.isatty(0):
        raise SelfcogError("chat needs an interactive terminal; use `ask MODEL QUESTION` in scripts")
    allow_remote_code(False)
    infer_main([*infer_argv, "--stream", "true"])


def model_argv(model: str) -> list[str]:
    """`swift infer` arguments for a merged/full model folder, a LoRA checkpoint, or a hub id."""
    path = Path(model)
    if (path / "adapter_config.json").is_file():
        return ["--adapters", str(path)]
    if path.exists() and not (path / "config.json").is_file():
        raise SelfcogError(f"{model}: not a model folder (no config.json or adapter_config.json)")
    return ["--model", model]


def model_fingerprint(model: str) -> str:
    """A hash of a model folder's config and weight files (size and both ends), or of a hub id."""
    folder = Path(model)
    digest = hashlib.sha256()
    if not folder.is_dir():
        digest.update(model.encode("utf-8"))
        return digest.hexdigest()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(path.name.encode("utf-8"))
        if path.suffix in (".json", ".jinja", ".txt", ".model"):
            digest.update(path.read_bytes())
            continue
        size = path.stat().st_size
        digest.update(str(size).encode())
        with path.open("rb") as handle:
            digest.update(handle.read(FINGERPRINT_BYTES))
            handle.seek(max(size - FINGERPRINT_BYTES, 0))
            digest.update(handle.read(FINGERPRINT_BYTES))
    return digest.hexdigest()
