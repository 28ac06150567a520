"""A recipe's model resolved offline to what swift trains it with: model_type, template, the
template's default system prompt, and the default the model's own chat template adds.

swift 4.6 picks these from its registry by the model's name, without a download; this module
replays that from `swift_models.json` (tools/make_swift_models.py writes it from the installed
swift; a test fails when it is stale) so `validate` and `render` never `import swift`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from .guards import chat_template_of, default_system_text, leak_terms, names_found
from .recipe import BUILTIN_PREFIX, Recipe
from .recipe_files import Missing

TABLE_FILE = Path(__file__).resolve().parent / "swift_models.json"
SAFE_SYSTEM = "You are a helpful assistant."
FIX = f"set model.system, e.g. model.system: {SAFE_SYSTEM}"
HUB_MODEL = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")  # ORG/NAME


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(TABLE_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ModelMeta:
    """What swift will train a recipe's model with, and where each value came from.

    Attributes:
        model_id: The recipe's model.id.
        model_type: swift's model_type, or None when it cannot be told offline.
        model_type_from: Where model_type came from (model.model_type, the registry, args.json, config.json).
        template: swift's chat template, or None when it cannot be told offline.
        template_from: Where the template came from.
        default_system: The template's default system prompt (None: the template has none).
        chat_default: What the model's own chat template puts before the first user turn when given
            no system message ("" when it adds nothing), or None when no chat template is on disk.
        chat_from: The folder or table that chat template was read from.
        folder: The local model folder, if the model is one.
        unresolved: Why the template cannot be told offline (None when it can).
        refused: What swift will certainly refuse about the model section, one line each.
    """

    model_id: str
    model_type: Optional[str]
    model_type_from: Optional[str]
    template: Optional[str]
    template_from: Optional[str]
    default_system: Optional[str]
    chat_default: Optional[str]
    chat_from: Optional[str]
    folder: Optional[Path]
    unresolved: Optional[str]
    refused: tuple[str, ...] = ()


def model_name(model_id: str) -> str:
    """The name swift matches in its registry: the id's last part, lower-cased; hub cache paths
    (`models--Org--Name/snapshots/…`) and ModelScope's `___` for `.` are undone as swift does."""
    path = model_id.replace("\\", "/").rstrip("/")
    match = re.search("/models--(?:.+?--)?(.+?)/snapshots/", path) or re.search(
        "/models/(?:.+?--)?(.+?)/snapshots/", path)
    name = match.group(1) if match else path.rsplit("/", 1)[-1].replace("___", ".")
    return name.lower()


def registry_entry(model_id: str) -> Optional[tuple[str, Optional[str]]]:
    """(model_type, template) swift's registry gives a hub id or folder by its name, or None."""
    entry = _table()["models"].get(model_name(model_id))
    return (entry[0], entry[1]) if entry else None


def template_default(template: str) -> Optional[str]:
    """swift template's default system prompt (None: none, or not a swift 4.6 template)."""
    return _table()["templates"].get(template)


def is_template(template: str) -> bool:
    return template in _table()["templates"]


def takes_system(template: Optional[str]) -> bool:
    """Whether swift's template accepts a system prompt (swift asserts on `--system` otherwise)."""
    return template not in _table()["no_system"]


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _child(parent: Path, name: str) -> Optional[Path]:
    """parent/name, matched without regard to case as hub ids are (qwen/… on ModelScope, Qwen/… on HF)."""
    if not parent.is_dir():
        return None
    return next((p for p in parent.iterdir() if p.name.lower() == name.lower()), None)


def _hub_folder(model_id: str, revision: Optional[str]) -> Optional[Path]:
    """A hub model already in the ModelScope or Hugging Face cache (no download), if any: ModelScope
    writes `.` in names as `___`; the HF cache keeps one snapshot per commit, named by refs/<revision>."""
    if model_id.count("/") != 1:
        return None
    org, name = model_id.split("/")
    ms = Path(os.environ.get("MODELSCOPE_CACHE") or Path.home() / ".cache" / "modelscope" / "hub")
    for root in (ms / "models", ms):
        org_dir = _child(root, org)
        folder = org_dir and (_child(org_dir, name.replace(".", "___")) or _child(org_dir, name))
        if folder and folder.is_dir():
            return folder
    hf_home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    repo = _child(Path(os.environ.get("HF_HUB_CACHE") or hf_home / "hub"), f"models--{org}--{name}")
    if repo is None:
        return None
    ref = repo / "refs" / (revision or "main")
    commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else revision
    if commit and (repo / "snapshots" / commit).is_dir():
        return repo / "snapshots" / commit
    snapshots = sorted((repo / "snapshots").glob("*"), key=lambda p: p.stat().st_mtime)
    return snapshots[-1] if snapshots and not revision else None


def _builtin(recipe: Recipe) -> ModelMeta:
    from .models import builtin, builtin_dir, is_prepared

    name = recipe.model.id[len(BUILTIN_PREFIX):]
    spec = builtin(name)
    model_type, template = recipe.model.model_type or spec.model_type, recipe.model.template or spec.template
    folder = builtin_dir(name)
    chat = chat_template_of(folder) if is_prepared(name) else None
    chat_default, chat_from = ((default_system_text(chat), str(folder)) if chat else
                               (_table()["builtins"].get(name), f"{recipe.model.id}'s chat template"))
    source = "model.model_type" if recipe.model.model_type else recipe.model.id
    refused = () if is_template(template) else (f"model.template: {template!r} is not a swift 4.6 template "
                                                "(e.g. qwen, chatml, llama3_2)",)
    return ModelMeta(recipe.model.id, model_type, source, template,
                     "model.template" if recipe.model.template else recipe.model.id,
                     template_default(template), chat_default, chat_from, folder, None, refused)


def _folder_model_type(folder: Path, args: dict) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """swift's order for a folder the registry does not name: args.json, then config.json's architecture."""
    if args.get("model_type"):
        return args["model_type"], f"{folder}/args.json", None
    architectures = _read_json(folder / "config.json").get("architectures")
    if not (isinstance(architectures, list) and architectures and isinstance(architectures[0], str)):
        architectures = ["null"]  # what swift matches a config without one to
    types = _table()["architectures"].get(architectures[0], [])
    if len(types) == 1:
        return types[0], f"{folder}/config.json ({architectures[0]})", None
    if not types:  # swift goes on with its placeholder template, which has no system prompt
        return None, f"{folder}/config.json ({architectures[0]}: not in swift's registry)", None
    return None, None, (f"model.model_type: swift cannot tell the model_type of {folder} from its name or "
                        f"config.json ({architectures[0]}: {', '.join(types)}); set model.model_type and "
                        "model.template")


def _template(recipe: Recipe, folder: Optional[Path], model_type: Optional[str],
              entry: Optional[tuple[str, Optional[str]]]) -> tuple[Optional[str], Optional[str]]:
    m = recipe.model
    args = _read_json(folder / "args.json") if folder else {}
    if m.template:
        return m.template, "model.template"
    if args.get("template"):
        return args["template"], f"{folder}/args.json"
    if entry and model_type == entry[0]:
        return entry[1], f"swift registry ({model_name(m.id)})"
    if model_type:
        return _table()["model_types"].get(model_type), f"swift's template for model_type {model_type}"
    return ("dummy", "swift's placeholder for an unknown model type") if folder else (None, None)


def resolve(recipe: Recipe) -> ModelMeta:
    """Resolve the recipe's model the way swift 4.6 will, offline and without importing swift.

    Order, as swift's: model.model_type / model.template when given; a local folder's args.json
    (template); swift's registry by the model's name (hub ids and folders alike); a folder's
    args.json / config.json (model_type); the one template swift has for that model_type.

    Args:
        recipe: The recipe; only its model section is read, plus files in a local model folder
            (or in the ModelScope / Hugging Face cache, for a hub model already downloaded).

    Returns:
        The resolved ModelMeta. `unresolved` says why the template is unknown, and `refused` holds
        the swift refusals that are certain offline (an unknown template, several candidates).
    """
    m = recipe.model
    if m.id.startswith(BUILTIN_PREFIX):
        return _builtin(recipe)
    local = Path(m.id).expanduser()
    folder = local if local.is_dir() else None
    entry = registry_entry(m.id)
    refused = []
    if m.model_type:
        model_type, type_from = m.model_type, "model.model_type"
        if m.model_type not in _table()["model_types"]:
            refused.append(f"model.model_type: {m.model_type!r} is not a swift 4.6 model_type (e.g. qwen2, llama)")
    elif entry:
        model_type, type_from = entry[0], f"swift registry ({model_name(m.id)})"
    elif folder:
        model_type, type_from, why = _folder_model_type(folder, _read_json(folder / "args.json"))
        refused += [why] if why else []
    else:
        model_type, type_from = None, None
    template, template_from = _template(recipe, folder, model_type, entry)
    unresolved = None
    if template is not None and not is_template(template):
        origin = "" if template_from == "model.template" else f" (from {template_from})"
        refused.append(f"model.template: {template!r}{origin} is not a swift 4.6 template (e.g. qwen, chatml, llama3_2)")
    elif template is None and model_type in _table()["model_types"] and not refused:
        refused.append(f"model.template: swift has several templates for model_type {model_type!r} and cannot "
                       "pick one; set model.template")
    elif template is None and not refused:
        unresolved = f"swift 4.6's registry does not list {m.id!r}, so its template is known only after a download"
        if m.id.startswith((".", "/", "~")):
            unresolved = f"{m.id} is no folder here, and swift 4.6's registry does not list its name"
    chat_folder = folder or _hub_folder(m.id, m.revision)
    chat = chat_template_of(chat_folder) if chat_folder else None
    return ModelMeta(m.id, model_type, type_from, template, template_from,
                     template_default(template) if template else None,
                     default_system_text(chat) if chat else None, str(chat_folder) if chat else None,
                     folder, unresolved, tuple(refused))


def id_problem(model_id: str) -> Optional[str]:
    """Why a model.id is neither a folder here nor a hub id swift can download (ORG/NAME), with the id
    it should be; a `Missing` message when it may be a folder on the machine that runs the scripts."""
    model = Path(model_id).expanduser()
    if model_id.startswith(BUILTIN_PREFIX) or model.is_dir() or HUB_MODEL.match(model_id):
        return None
    if model_id.startswith((".", "/", "~")):  # a hub id never starts so: swift would fail after the data stage
        return Missing(f"no model folder at {model.absolute()}; model.id is handed to swift as written, so a "
                       "relative folder is read from the working directory")
    if "://" in model_id:  # https://huggingface.co/Qwen/X/tree/main, https://modelscope.cn/models/qwen/X
        parts = [p for p in urlsplit(model_id).path.split("/") if p and p != "models"]
        parts = parts[:next((i for i, p in enumerate(parts) if p in ("tree", "resolve", "blob", "files")), None)]
        return f"a web address; write the hub id, model.id: {'/'.join(parts[-2:]) or 'ORG/NAME'}"
    hub = re.match(r"^([A-Za-z0-9][\w.-]*/[\w.-]+?)(/*)([@:]\S+)?$", model_id)
    if hub and hub.group(3):
        return f"write the revision as its own field: model.id: {hub.group(1)}, model.revision: {hub.group(3)[1:]}"
    if hub:
        return f"write the hub id without the trailing '/': model.id: {hub.group(1)}"
    return Missing(f"{model_id!r} is no folder here and no hub id (ORG/NAME, e.g. Qwen/Qwen2.5-7B-Instruct)")


def _quote(text: str, limit: int = 80) -> str:
    """A prompt as a one-line JSON string, long ones cut (the message stays one line)."""
    return json.dumps(text if len(text) <= limit else text[:limit].rstrip() + " …", ensure_ascii=False)


def prompt_problems(recipe: Recipe) -> list[str]:
    """Why swift would refuse the model section, or the system prompt the model is trained or
    served with would keep an old identity.

    Args:
        recipe: The recipe to check (model.system wins over every default).

    Returns:
        One-line problems, each starting with the field at fault (`model.system: …`); empty when
        the prompt is safe. The caller adds where the recipe came from.
    """
    terms = leak_terms(recipe)
    m = recipe.model
    meta = resolve(recipe)
    problems = list(meta.refused)
    placeholder = meta.template == "dummy" and not m.template  # swift's stand-in for a model it cannot place
    if placeholder and not meta.refused:
        # No chat format: the rows would train as plain text.
        why = f" ({meta.model_type_from})" if meta.model_type_from else ""
        problems.append(f"model.template: swift knows neither the name nor the architecture of {m.id}{why} "
                        "and would train it with its placeholder template 'dummy', "
                        "which has no chat format; set model.template to the model's format (e.g. chatml)")
    elif not placeholder and m.system is not None and meta.template and not takes_system(meta.template):
        problems.append(f"model.system: swift template {meta.template!r} takes no system prompt (swift refuses "
                        "--system with it); remove model.system")
        return problems
    if m.system is not None:
        found = names_found(m.system, terms)
        return problems + [f"model.system: names {found[0]!r}, an identity the model should lose; write a system "
                           f"prompt without it, e.g. model.system: {SAFE_SYSTEM}"] if found else problems
    if meta.unresolved:
        # Without a download nothing tells which prompt swift will train with: one line fixes it.
        problems.append(f"model.system: {meta.unresolved}; {FIX} (or set model.template)")
    found = names_found(meta.default_system, terms)
    if found:
        problems.append(f"model.system: swift template {meta.template!r} trains with the default system prompt "
                        f"{_quote(meta.default_system)} which names {found[0]!r}; {FIX}")
    found = names_found(meta.chat_default, terms)
    if found:
        problems.append(f"model.system: the model's own chat template ({meta.chat_from}) adds a default system "
                        f"prompt naming {found[0]!r} when served without one, and the merged model keeps it; {FIX}")
    return problems
