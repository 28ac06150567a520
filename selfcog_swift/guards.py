"""Guards against what breaks identity tuning outside the training code.

Names of old identities and where they hide: a default system prompt ("You are Qwen, created by
Alibaba Cloud", SmolLM2's "named SmolLM, trained by Hugging Face"; model_meta finds which one a
run trains with), a merged model whose chat template brings that prompt back, and data mixes
that invite forgetting. Pure Python: no torch, no swift.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Optional

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import RESOURCES
from .errors import SelfcogError
from .recipe import Recipe

# Previous identities of common bases, and the companies behind them: a table of names, kept as
# data (resources/leak_terms.txt, one a line, # comments).
LEAK_TERMS_FILE = RESOURCES / "leak_terms.txt"
DEFAULT_LEAK_TERMS = tuple(line.strip() for line in LEAK_TERMS_FILE.read_text(encoding="utf-8").splitlines()
                           if line.strip() and not line.startswith("#"))
# Stands for the user's turn when rendering a chat template, to find what comes before it.
USER_MARK = "<<selfcog-user-turn>>"
# Mix advice, identity rows to other rows. Above 2:1 the model may forget what it knew: the
# ablation's chosen mix, 400 identity rows to 397 kept replay rows (bench/ablation.json row viii),
# moved drift by +0.5% / +1.1%, and identity rows alone (row v) by +100% / +77%; a 1:1 bound flagged
# the measured-good mix whenever replay dropped a row. Below 1:50 the new identity may not stick.
MAX_IDENTITY_RATIO = 2
MIN_IDENTITY_RATIO = 1 / 50
# Builtin test models with random weights: they know nothing, so no forgetting warnings for them.
RANDOM_WEIGHTS = frozenset({"builtin:tiny", "builtin:tiny-qwen3"})
# MLP module names across families (Llama/Qwen gate/up/down, GPT-style fc1/fc2) and swift's "mlp".
MLP_NAMES = frozenset({"gate_proj", "up_proj", "down_proj", "mlp", "fc1", "fc2"})


def _pattern(term: str) -> re.Pattern:
    # ASCII names match as whole words ("Meta AI" not in "metadata"); CJK names as substrings.
    if term.isascii():
        return re.compile(rf"(?<![A-Za-z]){re.escape(term)}(?![A-Za-z])", re.IGNORECASE)
    return re.compile(re.escape(term))


def identity_strings(recipe: Recipe) -> list[str]:
    """Every form of the new name and author, in every language of the recipe."""
    ident = recipe.identity
    return [*ident.name.forms().values(), *ident.author.forms().values()]


def leak_terms(recipe: Recipe, extra: Iterable[str] = ()) -> list[str]:
    """Old-identity names to look for, minus any that are part of the new identity."""
    own = " ".join(identity_strings(recipe)).lower()
    terms = dict.fromkeys([*DEFAULT_LEAK_TERMS, *recipe.evaluate.leak_terms, *extra])
    return [t for t in terms if t and t.lower() not in own]


def names_found(text: Optional[str], terms: Iterable[str]) -> list[str]:
    """The terms that occur in text."""
    if not text:
        return []
    return [t for t in terms if _pattern(t).search(text)]


def chat_template_of(model_dir: Path) -> Optional[str]:
    """The Jinja chat template shipped in a local model folder, if any."""
    jinja_file = model_dir / "chat_template.jinja"
    if jinja_file.is_file():
        return jinja_file.read_text(encoding="utf-8")
    config = model_dir / "tokenizer_config.json"
    if config.is_file():
        template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        return template if isinstance(template, str) else None
    return None


def default_system_text(template: str) -> str:
    """What a chat template puts before the user's turn when given no system message."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = lambda message: (_ for _ in ()).throw(TemplateError(message))
    try:
        text = env.from_string(template).render(
            messages=[{"role": "user", "content": USER_MARK}], add_generation_prompt=False,
            bos_token="", eos_token="", tools=None, enable_thinking=False)
    except TemplateError:
        return ""
    return text.split(USER_MARK, 1)[0]


def set_default_system(model_dir: Path, system: str) -> None:
    """Make a (merged) model's chat template use `system` when a conversation brings none.

    The template is prefixed, not edited, so it works whatever the template's own default
    branch looks like; plain transformers and vLLM then serve the trained prompt.
    """
    literal = json.dumps(system, ensure_ascii=False)
    prefix = ("{%- if not messages or messages[0]['role'] != 'system' -%}"
              f"{{%- set messages = [{{'role': 'system', 'content': {literal}}}] + messages -%}}"
              "{%- endif -%}\n")
    jinja_file = model_dir / "chat_template.jinja"
    config_file = model_dir / "tokenizer_config.json"
    if jinja_file.is_file():
        template = jinja_file.read_text(encoding="utf-8")
        if not template.startswith(prefix):  # a resumed run may get here twice
            jinja_file.write_text(prefix + template, encoding="utf-8")
        return
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    if not isinstance(config.get("chat_template"), str):
        raise SelfcogError(f"{model_dir}: no chat template to set the default system prompt in")
    if config["chat_template"].startswith(prefix):
        return
    config["chat_template"] = prefix + config["chat_template"]
    config_file.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")


def advice(recipe: Recipe, identity_rows: int, total_rows: int) -> list[str]:
    """Warnings with numbers for mixes and settings that tend to end badly; never silent."""
    notes = []
    other = total_rows - identity_rows
    if identity_rows and other == 0 and (recipe.swift_args.get("sft", {}).get("adapters")
                                         or recipe.swift_args.get("sft", {}).get("resume_from_checkpoint")):
        notes.append("identity-only LoRA on top of adapters already trained on knowledge: the tutorial warns "
                     "this causes catastrophic forgetting; mix the knowledge data into one run instead")
    forgets = recipe.model.id not in RANDOM_WEIGHTS
    ratio = identity_rows / other if identity_rows and other else None
    if ratio is not None and ratio > MAX_IDENTITY_RATIO and forgets:
        notes.append(f"identity rows outnumber the other data {identity_rows}:{other} (above "
                     f"{MAX_IDENTITY_RATIO}:1): the model may forget what it knew; add general or domain rows")
    elif ratio is not None and ratio < MIN_IDENTITY_RATIO:
        notes.append(f"identity share {identity_rows}:{other} is below 1:{round(1 / MIN_IDENTITY_RATIO)}: "
                     "the new identity may not stick")
    elif identity_rows and not other and forgets:
        notes.append(f"{identity_rows} identity rows and no other data: expect forgetting; mix in general rows")
    targets = recipe.tuning.target_modules
    if recipe.tuning.method == "lora" and isinstance(targets, list) and not MLP_NAMES & set(targets):
        notes.append(f"LoRA targets {targets} leave out the MLP layers; swift's advice for identity (knowledge "
                     "editing) is all-linear or mlp")
    return notes
