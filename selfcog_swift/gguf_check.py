"""Does the identity survive the trip to GGUF? The exported file loaded back and asked the held-out
identity suites through its own chat template (the one llama.cpp reads from it), beside the merged
folder asked the same way: same prompts, same greedy decoding, scored by evaluate.side_scores.

The file is read by llama-cpp-python where it is installed (llama.cpp itself), else by transformers'
GGUF loader (which dequantizes it to float32; q8_0's rounding stays in the weights).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional, Sequence

BATCH = 16


def _transformers_model(folder: Path, gguf_file: Optional[str]):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(str(folder), **kwargs)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, **kwargs)
    model.eval()
    return tokenizer, model


def _generate(tokenizer, model, conversations: Sequence[list], max_new_tokens: int) -> list[str]:
    """Greedy answers, prompts from the tokenizer's chat template (the file's own), left-padded batches."""
    import torch

    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    prompts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations]
    answers = []
    for start in range(0, len(prompts), BATCH):
        batch = tokenizer(prompts[start:start + BATCH], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        answers += tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
    return [a.strip() for a in answers]


def _llama_cpp_answers(gguf: Path, conversations: Sequence[list], max_new_tokens: int) -> list[str]:
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), n_ctx=2048, seed=0, verbose=False)  # its chat format: the file's template
    replies = [llm.create_chat_completion(messages=list(c), max_tokens=max_new_tokens, temperature=0.0, top_k=1)
               for c in conversations]
    return [(r["choices"][0]["message"]["content"] or "").strip() for r in replies]


def reader() -> str:
    """What reads the GGUF back here: "llama-cpp-python" or "transformers"."""
    return "llama-cpp-python" if importlib.util.find_spec("llama_cpp") else "transformers"


def gguf_answers(gguf: str, conversations: Sequence[list], max_new_tokens: int) -> list[str]:
    """Greedy answers of an exported GGUF to whole conversations, through its own chat template."""
    path = Path(gguf)
    if reader() == "llama-cpp-python":
        return _llama_cpp_answers(path, conversations, max_new_tokens)
    tokenizer, model = _transformers_model(path.parent, path.name)
    return _generate(tokenizer, model, conversations, max_new_tokens)


def folder_answers(folder: str, conversations: Sequence[list], max_new_tokens: int) -> list[str]:
    """The same for a merged model folder, through its chat_template (plain transformers)."""
    tokenizer, model = _transformers_model(Path(folder), None)
    return _generate(tokenizer, model, conversations, max_new_tokens)


def identity_check(gguf: str, merged: str, names: Sequence[str], authors: Sequence[str], max_new_tokens: int = 48,
                   probes=None) -> dict:
    """Identity and leak rates per language of the GGUF and of the merged folder on the held-out
    identity suites, each conversation as Ollama and llama-server send it (no system message: the
    template's default, the trained prompt, goes in; a probe's own system message where it has one).

    Returns:
        {"reader", "probes", "gguf": {lang: {"identity", "leak"}}, "merged": {...}, "answers": [...],
        "same_answers": the share of probes both answered word for word alike}.
    """
    from .evaluate import side_scores
    from .guards import DEFAULT_LEAK_TERMS
    from .probes import IDENTITY_SUITES, load_probes

    probes = [p for p in (probes or load_probes()) if p.suite in IDENTITY_SUITES]
    conversations = [p.conversation(None) for p in probes]
    sides = {"gguf": gguf_answers(gguf, conversations, max_new_tokens),
             "merged": folder_answers(merged, conversations, max_new_tokens)}
    result: dict = {"reader": reader(), "probes": len(probes)}
    for side, answers in sides.items():
        scores = side_scores(probes, answers, list(names), list(authors), list(DEFAULT_LEAK_TERMS))["languages"]
        result[side] = {lang: {m: (rates.get(m) or {}).get("rate") for m in ("identity", "leak")}
                        for lang, rates in scores.items()}
    pairs = zip(probes, sides["gguf"], sides["merged"])
    result["answers"] = [{"id": p.id, "gguf": g, "merged": m} for p, g, m in pairs]
    result["same_answers"] = round(sum(g == m for g, m in zip(sides["gguf"], sides["merged"])) / max(len(probes), 1), 4)
    return result
