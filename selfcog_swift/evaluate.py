"""Asking a model questions through swift's own inference pipeline, and showing before/after.

The model is loaded from the same `swift infer` argument list that `render` prints, so the
answers shown are the answers `swift infer` would give.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from .errors import SelfcogError

RESOURCES = Path(__file__).resolve().parent / "resources"


_ORIGINAL_RESOLVE = None


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
    _ORIGINAL_RESOLVE = _ORIGINAL_RESOLVE or dynamic_module_utils.resolve_trust_remote_code

    def resolve(trust_remote_code, *args, **kwargs):
        return _ORIGINAL_RESOLVE(trust_remote_code if allow else False, *args, **kwargs)

    for name in ("configuration_auto", "auto_factory", "tokenization_auto", "processing_auto",
                 "feature_extraction_auto", "image_processing_auto"):
        module = importlib.import_module(f"transformers.models.auto.{name}")
        if hasattr(module, "resolve_trust_remote_code"):
            module.resolve_trust_remote_code = resolve if not allow else _ORIGINAL_RESOLVE


def load_engine(infer_argv: list[str], max_batch_size: int = 16):
    """Build swift's inference pipeline (model + template) from a `swift infer` argument list.

    Returns:
        swift's SwiftInfer object; its `infer_engine` is a TransformersEngine.
    """
    from swift.pipelines.infer.infer import SwiftInfer

    return SwiftInfer([*infer_argv, "--max_batch_size", str(max_batch_size), "--stream", "false"])


def generate(pipeline, prompts: Sequence[Sequence[dict]], max_new_tokens: int, batch: bool = True) -> list[str]:
    """Greedy answers to whole conversations (lists of {role, content}), batched by default."""
    from swift.infer_engine import InferRequest, RequestConfig

    config = RequestConfig(max_tokens=max_new_tokens, temperature=0)
    requests = [InferRequest(messages=list(messages)) for messages in prompts]
    engine = pipeline.infer_engine
    # Batched generation on 2 CPU threads: 8.7 s vs 12.9 s on 1 thread for 32 SmolLM2 probes here.
    if batch:
        responses = engine.infer(requests, request_config=config, use_tqdm=False)
    else:
        responses = [engine.infer([r], request_config=config, use_tqdm=False)[0] for r in requests]
    return [answer_text(r.choices[0].message.content or "") for r in responses]


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


# --------------------------------------------------------------------------- probes and scores

ASKS = ("name", "author", "both", "none")


@dataclass(frozen=True)
class Probe:
    question: str
    lang: str
    asks: str
    reference: Optional[str] = None


def load_probes(path: Optional[str] = None) -> list[Probe]:
    """Read probes (`{"question", "lang", "asks", "reference"?}` per line); errors name file:line."""
    source = Path(path) if path else RESOURCES / "probes.jsonl"
    if not source.is_file():
        raise SelfcogError(f"{source}: probe file not found")
    probes = []
    with source.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                probes.append(_probe(line, f"{source}:{number}"))
    if not probes:
        raise SelfcogError(f"{source}: no probes")
    return probes


def _probe(line: str, where: str) -> Probe:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SelfcogError(f"{where}: malformed JSON: {str(exc)[:80]}") from None
    if not isinstance(row, dict):
        raise SelfcogError(f"{where}: expected an object with question, lang, asks")
    question, lang, asks = row.get("question"), row.get("lang"), row.get("asks")
    if not isinstance(question, str) or not question.strip():
        raise SelfcogError(f"{where}: question: must be a non-empty string")
    if lang not in ("zh", "en"):
        raise SelfcogError(f"{where}: lang: must be zh or en, got {lang!r}")
    if asks not in ASKS:
        raise SelfcogError(f"{where}: asks: must be one of {', '.join(ASKS)}, got {asks!r}")
    reference = row.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise SelfcogError(f"{where}: reference: must be a string")
    return Probe(question, lang, asks, reference)


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _has_any(answer: str, forms: Sequence[str]) -> bool:
    flat = _norm(answer)
    return any(_norm(form) in flat for form in forms if form)


def _is_cjk(text: str) -> bool:
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return cjk * 3 >= latin and cjk > 0


def _rates(flags: Sequence[tuple[str, bool]]) -> dict:
    def share(lang=None):
        chosen = [ok for lg, ok in flags if lang in (None, lg)]
        return round(sum(chosen) / len(chosen), 4) if chosen else None

    return {"zh": share("zh"), "en": share("en"), "all": share()}


def score(probes: Sequence[Probe], answers: Sequence[str], names: Sequence[str], authors: Sequence[str],
          leak: Sequence[str]) -> dict:
    """identity, leak, overreach, language-consistency and reference-hit rates for one model's answers."""
    from .guards import names_found

    identity, leaks, overreach, language, hits = [], [], [], [], []
    for probe, answer in zip(probes, answers):
        if probe.asks == "none":
            overreach.append((probe.lang, _has_any(answer, [*names, *authors])))
            if probe.reference:
                hits.append((probe.lang, _has_any(answer, [probe.reference])))
            continue
        ok = (probe.asks == "author" or _has_any(answer, names)) and \
             (probe.asks == "name" or _has_any(answer, authors))
        identity.append((probe.lang, ok))
        leaks.append((probe.lang, bool(names_found(answer, leak))))
        language.append((probe.lang, _is_cjk(answer) == (probe.lang == "zh")))
    return {"identity_rate": _rates(identity), "leak_rate": _rates(leaks), "overreach_rate": _rates(overreach),
            "language_consistency": _rates(language), "reference_hit": _rates(hits)["all"]}


def previous_identities(before_answers: Sequence[str], template_text: str = "") -> list[str]:
    """Names the base model gives itself ("I am X", "named X", "我是X") in its answers or template."""
    found = []
    patterns = [r"\b(?:I am|I'm|named|called)\s+([A-Z][\w.-]{2,})", r"(?:trained|developed|created|made) by\s+"
                r"([A-Z][\w.-]+(?: [A-Z][\w.-]+)?)", r"我是([\u4e00-\u9fffA-Za-z0-9]{2,6}?)(?:，|,|。|！|的|$)"]
    generic = {"The", "This", "An", "AI", "Assistant", "Here", "Happy", "Glad", "Thrilled", "Sorry", "Not",
               "Just", "Always", "Able", "Unable", "Sure", "Really", "Your", "One", "Trained", "Interested",
               "人工智能", "一个人工", "人工智能助", "一名人工", "一个", "助手", "AI助手", "语言模型"}
    for text in [*before_answers, template_text]:
        for pattern in patterns:
            for match in re.finditer(pattern, text or ""):
                name = match.group(1).strip(" .")
                if name not in generic and not name.lower().startswith(("a ", "an ")):
                    found.append(name)
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------- retention (NLL)


def heldout_general(path: Optional[Path] = None) -> list[tuple[str, str]]:
    """(question, reference answer) pairs never trained on, for the NLL of reference answers."""
    source = path or RESOURCES / "general_heldout.jsonl"
    with source.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [(row["question"], row["answer"]) for row in rows]


def mean_nll(pipeline, pairs: Sequence[tuple[str, str]], system: Optional[str] = None) -> float:
    """Mean per-token negative log-likelihood of each reference answer, averaged over rows.

    Encoded with swift's own template in train mode, so the tokens scored are exactly the
    answer tokens swift would train on.
    """
    import torch

    template, model = pipeline.template, pipeline.infer_engine.model
    template.set_mode("train")
    prefix = [{"role": "system", "content": system}] if system else []
    losses = []
    try:
        for question, answer in pairs:
            encoded = template.encode({"messages": [*prefix, {"role": "user", "content": question},
                                                    {"role": "assistant", "content": answer}]})
            ids = torch.tensor([encoded["input_ids"]], device=model.device)
            labels = torch.tensor([encoded["labels"]], device=model.device)
            with torch.no_grad():
                logits = model(input_ids=ids).logits.float()
            target = labels[:, 1:]
            mask = target != -100
            logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
            picked = logprobs.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            losses.append(float(-(picked[mask]).mean()))
    finally:
        template.set_mode("transformers")
    return sum(losses) / len(losses)


# --------------------------------------------------------------------------- whole evaluations


def examine(infer_argv: list[str], questions: Sequence[str], probes: Sequence[Probe],
            heldout: Sequence[tuple[str, str]], max_new_tokens: int, system: Optional[str]) -> dict:
    """Load a model once: answers to the display questions and the probes, and the reference NLL."""
    import gc

    pipeline = load_engine(infer_argv)
    prefix = [{"role": "system", "content": system}] if system else []
    prompts = [[*prefix, {"role": "user", "content": q}] for q in [*questions, *(p.question for p in probes)]]
    answers = generate(pipeline, prompts, max_new_tokens)
    nll = mean_nll(pipeline, heldout, system) if heldout else None
    del pipeline
    gc.collect()
    return {"questions": answers[:len(questions)], "probes": answers[len(questions):], "nll": nll}


def compare(recipe, probes: Sequence[Probe], before: dict, after: dict, template_text: str = "") -> dict:
    """The scored comparison `eval --json` prints: after-model rates, retention, every answer."""
    from .guards import leak_terms

    ident = recipe.identity
    names, authors = [ident.name.zh, ident.name.en], [ident.author.zh, ident.author.en]
    leak = leak_terms(recipe, previous_identities(before["probes"], template_text))
    old = score(probes, before["probes"], names, authors, leak)
    new = score(probes, after["probes"], names, authors, leak)
    nll_before, nll_after = before["nll"], after["nll"]
    change = (nll_after - nll_before) / nll_before if nll_before and nll_after is not None else None
    return {
        "identity_rate": new["identity_rate"], "leak_rate": new["leak_rate"],
        "overreach_rate": new["overreach_rate"], "language_consistency": new["language_consistency"],
        "retention": {"reference_hit_before": old["reference_hit"], "reference_hit_after": new["reference_hit"],
                      "nll_before": _round(nll_before), "nll_after": _round(nll_after),
                      "nll_change": _round(change)},
        "before": {key: old[key] for key in ("identity_rate", "leak_rate", "overreach_rate", "language_consistency")},
        "leak_terms": leak,
        "answers": [{"question": p.question, "lang": p.lang, "asks": p.asks, "before": b, "after": a}
                    for p, b, a in zip(probes, before["probes"], after["probes"])],
    }


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 4)


def gate(recipe, result: dict) -> list[str]:
    """Why a run fails its recipe's bar (empty when it passes)."""
    failures = []
    rate = result["identity_rate"]["all"]
    if rate is not None and rate < recipe.evaluate.min_identity_rate:
        failures.append(f"identity rate {rate:.2f} is below the recipe's {recipe.evaluate.min_identity_rate:.2f}")
    change = result["retention"]["nll_change"]
    if change is not None and change > recipe.evaluate.max_nll_increase:
        failures.append(f"reference NLL rose {change:+.1%}, more than the recipe's "
                        f"{recipe.evaluate.max_nll_increase:+.1%}")
    return failures


def summary_lines(result: dict) -> list[str]:
    """A few terminal lines with the scores."""
    def trio(rates: dict) -> str:
        return " ".join(f"{k}={'-' if v is None else f'{v:.2f}'}" for k, v in rates.items())

    ret = result["retention"]
    change = "-" if ret["nll_change"] is None else f"{ret['nll_change']:+.1%}"
    return [f"identity rate  before: {trio(result['before']['identity_rate'])}   after: {trio(result['identity_rate'])}",
            f"leak rate      after: {trio(result['leak_rate'])}",
            f"overreach rate after: {trio(result['overreach_rate'])}",
            f"retention      reference hits {ret['reference_hit_before']} -> {ret['reference_hit_after']}, "
            f"NLL {ret['nll_before']} -> {ret['nll_after']} ({change})"]


def validation_probes(recipe, run_dir: Path, limit: int = 16) -> list[Probe]:
    """Single-turn questions from swift's validation split (never the held-out probes): identity
    rows (the answer names the model) as asks=both, the others as asks=none, `limit` of each."""
    path = run_dir / "val_dataset.jsonl"
    if not path.is_file():
        return []
    ident = recipe.identity
    names = [ident.name.zh, ident.name.en]
    identity, general = [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            # swift stores each message of its validation split as a JSON string.
            messages = [json.loads(m) if isinstance(m, str) else m for m in json.loads(line).get("messages", [])]
            turns = [m for m in messages if m.get("role") != "system"]
            if len(turns) != 2 or turns[0]["role"] != "user":
                continue
            lang = "zh" if _is_cjk(turns[0]["content"]) else "en"
            if _has_any(turns[1]["content"], names):
                identity.append(Probe(turns[0]["content"], lang, "both"))
            else:
                general.append(Probe(turns[0]["content"], lang, "none"))
    return identity[:limit] + general[:limit]


def choose_by_identity(recipe, run_dir: Path, argv_for) -> tuple[list[dict], Optional[dict]]:
    """Score every saved checkpoint; the rule: highest identity rate minus overreach rate on the
    validation split's questions, then lowest reference NLL (retention), then the later step.

    Returns:
        (scores per checkpoint, the choice as {"path", "reason", "source"}; None when nothing to score).
    """
    from .checkpoints import list_checkpoints

    probes = validation_probes(recipe, run_dir)
    found = list_checkpoints(run_dir)
    if not any(p.asks == "both" for p in probes) or not found:
        return [], None
    ident = recipe.identity
    heldout = heldout_general()[:20]
    scored = []
    for step, checkpoint in enumerate(found):
        result = examine(argv_for(checkpoint), [], probes, heldout, recipe.evaluate.max_new_tokens, None)
        rates = score(probes, result["probes"], [ident.name.zh, ident.name.en], [ident.author.zh, ident.author.en], [])
        scored.append({"path": str(checkpoint), "identity_rate": rates["identity_rate"]["all"],
                       "overreach_rate": rates["overreach_rate"]["all"] or 0.0, "nll": _round(result["nll"]),
                       "order": step})
    best = max(scored, key=lambda s: (s["identity_rate"] - s["overreach_rate"], -(s["nll"] or 0), s["order"]))
    counts = f"{sum(p.asks == 'both' for p in probes)} identity and {sum(p.asks == 'none' for p in probes)} general"
    reason = (f"best identity rate minus overreach ({best['identity_rate']:.2f} - {best['overreach_rate']:.2f}) on "
              f"{counts} validation questions, reference NLL {best['nll']} (of {len(scored)} checkpoints: "
              + ", ".join(f"{Path(s['path']).name} {s['identity_rate']:.2f}/{s['overreach_rate']:.2f}/{s['nll']}"
                          for s in scored) + ")")
    return scored, {"path": best["path"], "reason": reason, "source": "identity"}
