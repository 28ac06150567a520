"""Once a `swift sft` line is read: its launch env, the model id, datasets, identity, and the swift
defaults the script relied on written out where the recipe's defaults differ."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..recipe import DataSection
from .flags import flag_map
from .values import UNLIMITED, number

if TYPE_CHECKING:
    from .importer import Importer

# swift 1.x/2.x sft defaults that differ from the recipe's, for fields the script did not set.
SWIFT2_DEFAULTS = {"train.epochs": 1, "train.max_grad_norm": 0.5, "data.val_split": 0.01, "data.self_cognition": 0}
SWIFT2_FULL_LEARNING_RATE = 1e-5  # swift 1.x/2.x's default learning rate for --sft_type full
# swift's default gradient accumulation reaches this total batch: ceil(16 / batch size / world size).
SWIFT_TOTAL_BATCH = 16
RECIPE_SELF_COGNITION = DataSection.model_fields["self_cognition"].default


def finish_sft(imp: Importer, env: dict, line: int, v3: bool) -> None:
    """Launch env, model id, datasets, identity and defaults, once all sft flags are read."""
    known_env = flag_map().env
    for key, value in env.items():
        if key not in known_env:
            imp.warn(line, f"environment {key} is not part of a recipe; set it in your shell if you need it")
            continue
        path, kind = known_env[key]
        whole = number(value.strip(), whole=True)
        if kind is int and whole is None:
            imp.fail(line, f"{key}={value!r}: expected a whole number")
        imp.put(path, whole if kind is int else value, line)
    resolve_model(imp, line, v3)
    finish_datasets(imp)
    missing = [f"--model_{k}" for k in ("name", "author") if k not in imp.recipe["identity"]]
    if missing:
        imp.fail(line, f"the recipe needs identity.name and identity.author; add {' and '.join(missing)} ZH EN")
    fill_defaults(imp, line, v3)
    if imp.recipe["data"].get("self_cognition", RECIPE_SELF_COGNITION):
        imp.warn(imp.lines.get("data.self_cognition", line), "--self_cognition_sample now uses selfcog-swift's "
                 "built-in identity set, filled offline (swift's hub set is data.source: swift)")


def resolve_model(imp: Importer, line: int, v3: bool) -> None:
    """model.id from --model_id_or_path, or the hub id of a known --model_type; model.id first in the recipe."""
    name, mline = imp.model_type or (None, line)
    hub, model = flag_map().hub_ids.get((name or "").lower()), imp.recipe["model"]
    if "id" not in model:
        if hub is None:
            imp.fail(mline, f"--model_type {name}: no hub id known; add --model_id_or_path" if name else
                     "swift sft names no model: add --model_id_or_path or --model_type")
        imp.put("model.id", hub, mline)
        imp.warn(mline, f"--model_type {name}: model.id {hub}")
    elif name and v3:
        imp.put("model.model_type", name, mline)  # swift 3.x model types are 4.6's
    elif name:
        where = f" ({hub} on the hub)" if hub else ""
        imp.warn(mline, f"--model_type {name} is a swift 1.x/2.x name{where}; swift 4.6 detects the type "
                 f"from model.id {model['id']} (set model.model_type only if it cannot)")
    imp.recipe["model"] = {"id": model.pop("id"), **model}


def finish_datasets(imp: Importer) -> None:
    """--train_dataset_sample applies to a single dataset; swift sampled several together, a recipe cannot."""
    if imp.sample and imp.sample[0] != UNLIMITED:
        if len(imp.datasets) == 1 and "sample" not in imp.datasets[0]:
            imp.datasets[0]["sample"] = imp.sample[0]
        elif imp.datasets:
            imp.warn(imp.sample[1], "--train_dataset_sample sampled all datasets together: "
                     "set a sample per entry of data.datasets")
    if imp.datasets:
        imp.recipe["data"]["datasets"] = imp.datasets


def fill_defaults(imp: Importer, line: int, v3: bool) -> None:
    """Write out the swift defaults the script relied on where the recipe's defaults differ."""
    train, launch, filled = imp.recipe["train"], imp.recipe["launch"], {}
    if not v3:  # swift 3.x's defaults are the recipe's
        filled = {p: v for p, v in SWIFT2_DEFAULTS.items() if p not in imp.lines}
        if imp.recipe["tuning"].get("method") == "full" and "train.learning_rate" not in imp.lines:
            filled["train.learning_rate"] = SWIFT2_FULL_LEARNING_RATE
        if "train.eval_steps" in imp.lines and "train.save_steps" not in imp.lines:
            filled["train.save_steps"] = train["eval_steps"]  # swift 1.x/2.x saved at every eval
    if "train.gradient_accumulation" not in imp.lines:
        world = max(1, launch.get("nproc_per_node") or 1) * max(1, launch.get("nnodes") or 1)
        filled["train.gradient_accumulation"] = max(
            1, math.ceil(SWIFT_TOTAL_BATCH / max(1, train.get("batch_size", 1)) / world))
    for path, value in filled.items():
        imp.put(path, value, line)
    if filled:
        imp.warn(line, "wrote out the swift defaults this script relied on: "
                 + ", ".join(f"{p}={v}" for p, v in filled.items()))
