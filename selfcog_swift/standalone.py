"""`eval`: any model (a run folder, a merged folder, a checkpoint, a hub id) scored against its base
on the held-out suites, outside `run`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .atomic import write_json
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
    """Score a tuned model against its base on the held-out suites and retention (`eval`).

    Args:
        echo: Where progress goes; a quiet console.Console also takes swift's own output into its log.
    """
    from .evaluate import base_answers, compare, examine, gate
    from .probes import load_probes

    target = resolve_evaluated(model)
    # A probe file named here is scored as it is; the recipe's own must hold every language of it.
    loaded = load_probes(probes or recipe.evaluate.probes, None if probes else recipe.languages)
    prepare_model(recipe)
    base_model = base or sft_value(recipe, "model")
    if (Path(target) / "adapter_config.json").is_file() and not _loadable(base_model):
        raise SelfcogError(f"{target}: LoRA adapters without a base model: {base_model} is neither a folder "
                           "nor a hub id; pass --base")
    system, tokens = recipe.model.system, recipe.evaluate.max_new_tokens
    from .console import swift_output

    # swift's model repr and argument dump go to the log, as in `run` (a quiet Console; -v streams them).
    with stage_env(stage_command(recipe, "infer")), swift_output(echo):
        before, _ = base_answers(base_model, infer_argv_for(recipe, base_model), [], loaded, system, tokens, echo)
        after = examine(infer_argv_for(recipe, target), [], loaded, system, tokens, before["probes"], echo=echo)
    result = compare(recipe, loaded, before, after)
    result["gate"] = gate(recipe, result)
    if out:
        write_json(Path(out) / "eval.json", result)
    return result
