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

from .atomic import read_json
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
    """A run folder stands for the model it produced (merged, else the chosen checkpoint); a builtin
    id (builtin:tiny) for its folder, built as a recipe's would be."""
    from .inference import model_argv

    if is_builtin(model):
        from .models import prepare

        return str(prepare(model.split(":", 1)[1]))
    manifest = Path(model) / "manifest.json"
    if manifest.is_file():
        data = read_json(manifest, "manifest")
        chosen = isinstance(data, dict) and (data.get("merged") or (data.get("checkpoint") or {}).get("path"))
        if not chosen:
            raise SelfcogError(f"{manifest}: names no trained model yet (an unfinished run: --resume it)")
        return chosen
    if not Path(model).exists() and (model.startswith((".", "/")) or Path(model).suffix):
        raise SelfcogError(f"{model}: no such model folder")
    model_argv(model)  # a folder that is neither a model nor adapters fails here, with its name
    return model


# Where swift's model download fails: the hubs' clients and the HTTP stack under them.
HUB_MODULES = ("modelscope", "modelscope_hub", "huggingface_hub", "requests", "urllib3")


@contextmanager
def hub_failures(model: str):
    """A model hub that cannot give `model` (offline, unknown id, no access) becomes one line naming it."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - only hub errors are turned into one line; the rest re-raised
        cause = exc
        while cause is not None and type(cause).__module__.split(".")[0] not in HUB_MODULES:
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise SelfcogError(f"{model}: the model hub cannot give this model ({type(cause).__name__}: {first[:300]}); "
                           "check the id and the network, or pass a local folder") from None
