"""`eval`: any model (a run folder, a merged folder, a checkpoint, a hub id) scored against its base
on the held-out suites, outside `run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .invocation import infer_argv_for, prepare_model, resolve_evaluated, sft_value, stage_env
from .errors import SelfcogError
from .recipe import Recipe
from .render import stage_command
from .runstate import Echo


def _loadable(model: str) -> bool:
    parts = model.split("/")
    return Path(model).is_dir() or (len(parts) == 2 and all(parts) and not model.startswith((".", "~")))


def evaluate_model(recipe: Recipe, model: str, base: Optional[str] = None, probes: Optional[str] = None,
                   out: Optional[str] = None, echo: Echo = print) -> dict:
    """Score a tuned model against its base on the held-out suites and retention (`eval`)."""
    from .evaluate import base_answers, compare, examine, gate
    from .probes import load_probes

    target = resolve_evaluated(model)
    loaded = load_probes(probes or recipe.evaluate.probes)
    prepare_model(recipe)
    base_model = base or sft_value(recipe, "model")
    if (Path(target) / "adapter_config.json").is_file() and not _loadable(base_model):
        raise SelfcogError(f"{target}: LoRA adapters without a base model: {base_model} is neither a folder "
                           "nor a hub id; pass --base")
    system, tokens = recipe.model.system, recipe.evaluate.max_new_tokens
    with stage_env(stage_command(recipe, "infer")):
        before, _ = base_answers(base_model, infer_argv_for(recipe, base_model), [], loaded, system, tokens)
        after = examine(infer_argv_for(recipe, target), [], loaded, system, tokens, before["probes"])
    result = compare(recipe, loaded, before, after)
    result["gate"] = gate(recipe, result)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "eval.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return result
