"""Recipe values the schema takes but a run would trip on, each named by its field: identity
names the identity rows cannot carry, gate rates written as percentages, GPUs torchrun cannot use.

No torch, no swift, no file reads.
"""

from __future__ import annotations

import re

from .recipe import Recipe

RATES = ("min_identity_rate", "max_leak_rate", "max_overreach_rate")  # fractions of answers, 0 to 1
_DEVICE = r"(?:\d+|GPU-[\w-]+|MIG-[\w/-]+)"  # an index or a GPU/MIG UUID, as CUDA_VISIBLE_DEVICES takes them
_DEVICES = re.compile(rf"{_DEVICE}(?:,\s*{_DEVICE})*")


def field_problems(recipe: Recipe) -> list[tuple[tuple, str]]:
    """(field, message) for each value of the recipe a run would trip on."""
    return _identity_problems(recipe) + _rate_problems(recipe) + _launch_problems(recipe)


def _launch_problems(recipe: Recipe) -> list[tuple[tuple, str]]:
    """GPUs written in a form CUDA does not read, or more processes than visible GPUs (torchrun's
    extra ranks would fail on a device that is not there, after replay and data)."""
    devices, procs = recipe.launch.cuda_visible_devices, recipe.launch.nproc_per_node
    if not devices or not devices.strip():  # unset, or "" (no GPU: a CPU run)
        return []
    if not _DEVICES.fullmatch(devices.strip()):
        return [(("launch", "cuda_visible_devices"), f"{devices!r}: write the GPU numbers separated by commas, "
                                                     "e.g. cuda_visible_devices: \"0,1\"")]
    count = len(devices.split(","))
    if procs and procs > count and recipe.launch.ddp_backend != "gloo":
        return [(("launch", "nproc_per_node"), f"{procs} processes, but cuda_visible_devices shows {count} GPU"
                                               f"{'s' if count > 1 else ''}; one process per GPU: nproc_per_node: "
                                               f"{count}")]
    return []


def _rate_problems(recipe: Recipe) -> list[tuple[tuple, str]]:
    """A gate rate above 1 (90 for 90%): the gate would fail every run, after the training."""
    found = []
    for field in RATES:
        value = getattr(recipe.evaluate, field)
        for lang, bound in (value.model_dump().items() if hasattr(value, "model_dump") else [(None, value)]):
            if bound is not None and bound > 1:  # null: that language unbounded
                loc = ("evaluate", field) + ((lang,) if lang else ())
                found.append((loc, f"{bound:g} is above 1: rates are fractions, e.g. {bound / 100:g} for {bound:g}%"))
    return found


def _identity_problems(recipe: Recipe) -> list[tuple[tuple, str]]:
    """Names the identity rows cannot carry: blank, or holding what `data` refuses as a leftover
    placeholder ({{, }}, <NAME>, {AUTHOR}), which it would blame on the built-in rows."""
    from .data import _PLACEHOLDER

    found = []
    for field in ("name", "author"):
        for lang, value in getattr(recipe.identity, field).model_dump().items():
            loc = ("identity", field, lang)
            if not value.strip():
                found.append((loc, f"is blank; write the {field}, e.g. {field}: {{zh: 小黄, en: Xiao Huang}}"))
            elif _PLACEHOLDER.search(value):
                found.append((loc, f"{value!r} holds {_PLACEHOLDER.search(value).group(0)!r}, which the identity "
                                   "rows' template syntax uses; leave it out of the name"))
    return found
