"""From a recipe to the swift invocations that load its model: the launch environment, the rendered
flags, the infer command aimed at a base, merged or LoRA model, and what a run folder stands for.

Shared by the commands that load a model (`run`, `eval`, `serve`, `data`/`replay`), so that none of
those command modules imports another.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from .errors import SelfcogError
from .recipe import Recipe, is_builtin
from .render import StageCommand, stage_command


@contextmanager
def stage_env(command: StageCommand):
    """The stage's launch environment (offline switches, devices) for the duration of the call."""
    saved = {key: os.environ.get(key) for key, _ in command.env}
    os.environ.update(dict(command.env))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sft_value(recipe: Recipe, flag: str) -> Optional[str]:
    """What the rendered sft command passes for one flag (the base model, the template)."""
    return dict(stage_command(recipe, "sft").args).get(flag)


def with_model(command: StageCommand, model: str) -> StageCommand:
    """The infer command pointed at another model (the base model for the "before" answers)."""
    args = tuple((flag, model if flag == "model" else value) for flag, value in command.args)
    return StageCommand(command.stage, command.env, args)


def prepare_model(recipe: Recipe) -> None:
    """Build a builtin model if needed, and apply the recipe's trust_remote_code policy."""
    from .inference import allow_remote_code

    allow_remote_code(recipe.model.trust_remote_code)
    if is_builtin(recipe.model.id):
        from .models import prepare

        prepare(recipe.model.id.split(":", 1)[1])


def infer_argv_for(recipe: Recipe, model: str) -> list[str]:
    """The rendered infer command aimed at a model folder, or at a LoRA checkpoint on the base."""
    command = stage_command(recipe, "infer")
    if (Path(model) / "adapter_config.json").is_file():
        base = sft_value(recipe, "model")
        return [*with_model(command, base).argv(), "--adapters", model]
    return with_model(command, model).argv()


def resolve_evaluated(model: str) -> str:
    """A run folder stands for the model it produced (merged, else the chosen checkpoint)."""
    from .inference import model_argv

    manifest = Path(model) / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return data.get("merged") or data["checkpoint"]["path"]
    if not Path(model).exists() and (model.startswith((".", "/")) or Path(model).suffix):
        raise SelfcogError(f"{model}: no such model folder")
    model_argv(model)  # a folder that is neither a model nor adapters fails here, with its name
    return model
