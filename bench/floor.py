"""The least time a finished demo run could have taken here: its FLOPs at this machine's float32
matmul peak, counted from what the run actually did (part of the `demo` bench job).

Training: every trained row's real tokens through the LoRA formula of bench/train_speed.py,
(4·P + 6·R)·T + 12·L·d·T², no padding; plus swift's eval_loss passes (forward only). Evaluation:
each sequence forward once, prompt and answer, at 2·(P − V·d)·T + 4·L·d·T², plus the lm_head
(2·V·d) for every position whose logits are needed: the generated tokens when answering, every
token when scoring NLL. P counts every matmul weight with the tied lm_head (V·d); R the LoRA
weights. The choose stage's answers are not stored: they are counted at the after stage's mean
answer length. A cached `before` costs nothing.
"""

from __future__ import annotations

import json
from pathlib import Path


def _shape(model_dir: str, adapter: Path) -> dict:
    import torch
    from safetensors import safe_open
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    # Every Linear, the lm_head included (a Linear even when tied to the embedding).
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as handle:
        lora = sum(handle.get_slice(k).get_shape()[0] * handle.get_slice(k).get_shape()[1] for k in handle.keys())
    return {"matmul_weights": linear, "lora_weights": lora, "layers": config.num_hidden_layers,
            "hidden": config.hidden_size, "lm_head": config.vocab_size * config.hidden_size}


def _forward(shape: dict, tokens: int, logits: int) -> float:
    body = shape["matmul_weights"] - shape["lm_head"]
    return 2.0 * body * tokens + 4.0 * shape["layers"] * shape["hidden"] * tokens ** 2 + 2.0 * shape["lm_head"] * logits


def demo_floor(out: Path, peak: float) -> dict:
    """FLOPs and seconds at `peak` FLOP/s of the training and the evaluation of the run in `out`."""
    import sys

    from transformers import AutoTokenizer

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sft_probe import flops

    from selfcog_swift.data import batch_rows
    from selfcog_swift.evaluate import validation_probes
    from selfcog_swift.probes import load_probes
    from selfcog_swift.recipe import Recipe
    from selfcog_swift.retention import real_text, text_windows

    state = json.loads((out / ".selfcog" / "state.json").read_text(encoding="utf-8"))
    recipe = Recipe.model_validate(state["recipe"])
    run_dir = Path(state["run_dir"])
    args = json.loads((run_dir / "args.json").read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(args["model"])
    system = [{"role": "system", "content": recipe.model.system}] if recipe.model.system else []

    def tokens(messages: list[dict], prompt: bool = False) -> int:
        messages = messages if messages and messages[0]["role"] == "system" else system + messages
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=prompt)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    shape = _shape(args["model"], Path(state["checkpoint"]["path"]))
    # swift keeps each validation message as a JSON string.
    val_lengths = [tokens([json.loads(m) if isinstance(m, str) else m for m in json.loads(line)["messages"]])
                   for line in (run_dir / "val_dataset.jsonl").read_text(encoding="utf-8").splitlines()]
    # The trained rows are a random draw from the mix: counted at the mix's mean.
    mix = Path(state["data"]["path"]).read_text(encoding="utf-8").splitlines()
    mix_lengths = [tokens(json.loads(line)["messages"]) for line in mix]
    trained = args["max_steps"] * batch_rows(recipe) * args["gradient_accumulation_steps"]
    mean_train = flops(shape, mix_lengths) / len(mix_lengths)
    evals = sum('"eval_loss"' in line for line in (run_dir / "logging.jsonl").read_text().splitlines())
    training = trained * mean_train + evals * sum(_forward(shape, t, t) for t in val_lengths)

    probes = load_probes(recipe.evaluate.probes)
    after = state["after"]
    asked = [[{"role": "user", "content": q}] for q in recipe.evaluate.questions]
    asked += [p.conversation(recipe.model.system) for p in probes]
    answers = after["questions"] + after["probes"]
    answer_tokens = [len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers]
    answering = sum(_forward(shape, tokens(c, True) + a, a) for c, a in zip(asked, answer_tokens))
    drift_items = [(p.conversation(recipe.model.system), a) for p, a in zip(probes, state["before"]["probes"])
                   if p.suite == "general" and a.strip()]
    drift = sum(_forward(shape, t, t) for t in (tokens(c + [{"role": "assistant", "content": a}])
                                                 for c, a in drift_items))
    windows = [w for lang in ("zh", "en") for w in text_windows(tokenizer, real_text(lang))]
    real = sum(_forward(shape, len(w), len(w)) for w in windows)
    mean_answer = sum(answer_tokens) / len(answer_tokens)
    checks, references = validation_probes(recipe, run_dir)
    per_checkpoint = sum(_forward(shape, tokens(p.conversation(recipe.model.system), True) + round(mean_answer),
                                  round(mean_answer)) for p in checks)
    per_checkpoint += sum(_forward(shape, t, t) for t in (tokens(c + [{"role": "assistant", "content": a}])
                                                           for c, a in references))
    choose = per_checkpoint * len(state.get("checkpoint_scores") or [])
    evaluation = answering + drift + real + choose
    return {"demo_floor": {
        "training_tflop": round(training / 1e12, 1), "evaluation_tflop": round(evaluation / 1e12, 1),
        "evaluation_parts_tflop": {"answers": round(answering / 1e12, 2), "drift": round(drift / 1e12, 2),
                                   "real_text": round(real / 1e12, 2), "choose": round(choose / 1e12, 2)},
        "peak_gflops": round(peak / 1e9, 1), "training_seconds": round(training / peak),
        "evaluation_seconds": round(evaluation / peak), "wall_seconds": round((training + evaluation) / peak),
        "evaluation_share": round(evaluation / (training + evaluation), 3)}}
