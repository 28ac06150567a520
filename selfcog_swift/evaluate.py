"""Asking a model questions through swift's own inference pipeline, and showing before/after.

The model is loaded from the same `swift infer` argument list that `render` prints, so the
answers shown are the answers `swift infer` would give.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Optional, Sequence

from .errors import SelfcogError


def load_engine(infer_argv: list[str], max_batch_size: int = 16):
    """Build swift's inference pipeline (model + template) from a `swift infer` argument list.

    Returns:
        swift's SwiftInfer object; its `infer_engine` is a TransformersEngine.
    """
    import torch

    from swift.pipelines.infer.infer import SwiftInfer

    # Greedy decoding of a small model on CPU is dominated by thread hand-offs: one thread
    # was several times faster than two here (see SWIFT46.md, bench/run.py measures it).
    if not torch.cuda.is_available():
        torch.set_num_threads(int(os.environ.get("SELFCOG_GEN_THREADS", "1")))
    return SwiftInfer([*infer_argv, "--max_batch_size", str(max_batch_size), "--stream", "false"])


def generate(pipeline, prompts: Sequence[Sequence[dict]], max_new_tokens: int, batch: bool = True) -> list[str]:
    """Greedy answers to whole conversations (lists of {role, content}), batched by default."""
    from swift.infer_engine import InferRequest, RequestConfig

    config = RequestConfig(max_tokens=max_new_tokens, temperature=0)
    requests = [InferRequest(messages=list(messages)) for messages in prompts]
    engine = pipeline.infer_engine
    if batch:
        responses = engine.infer(requests, request_config=config, use_tqdm=False)
    else:
        responses = [engine.infer([r], request_config=config, use_tqdm=False)[0] for r in requests]
    return [r.choices[0].message.content or "" for r in responses]


def ask(infer_argv: list[str], questions: Sequence[str], max_new_tokens: int,
        system: Optional[str] = None) -> list[str]:
    """Load the model once and answer each question in a fresh single-turn conversation."""
    pipeline = load_engine(infer_argv)
    prefix = [{"role": "system", "content": system}] if system else []
    return generate(pipeline, [[*prefix, {"role": "user", "content": q}] for q in questions], max_new_tokens)


def chat(infer_argv: list[str]) -> None:
    """swift's own interactive chat loop (greedy) on the model."""
    from swift.pipelines import infer_main

    if not os.isatty(0):
        raise SelfcogError("chat needs an interactive terminal; use `ask MODEL QUESTION` in scripts")
    infer_main([*infer_argv, "--stream", "true"])


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for ch in " ".join(text.split()):
        if _width(line + ch) > width:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line or not lines else lines


def before_after_table(questions: Sequence[str], before: Sequence[str], after: Sequence[str],
                       width: int = 48) -> str:
    """A terminal table: question, the base model's answer, the tuned model's answer."""
    rule = "-" * (width * 2 + 7)
    rows = [rule, f"| {'before'.ljust(width)} | {'after'.ljust(width)} |", rule]
    for question, old, new in zip(questions, before, after):
        rows.append(f"<<< {question}")
        left, right = _wrap(old, width), _wrap(new, width)
        for i in range(max(len(left), len(right))):
            a = left[i] if i < len(left) else ""
            b = right[i] if i < len(right) else ""
            rows.append(f"| {a}{' ' * (width - _width(a))} | {b}{' ' * (width - _width(b))} |")
        rows.append(rule)
    return "\n".join(rows)


def model_argv(model: str) -> list[str]:
    """`swift infer` arguments for a merged/full model folder, a LoRA checkpoint, or a hub id."""
    path = Path(model)
    if (path / "adapter_config.json").is_file():
        return ["--adapters", str(path)]
    if path.exists() and not (path / "config.json").is_file():
        raise SelfcogError(f"{model}: not a model folder (no config.json or adapter_config.json)")
    return ["--model", model]
