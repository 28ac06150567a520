"""`selfcog-swift init`: a commented recipe for a model and an identity, that validates and renders.

The model's template and system prompt are resolved offline (model_meta); tuning, learning rate
and steps come from the model's size class (resources/init_sizes.yaml); the text is the Jinja
template resources/init_recipe.yaml.j2, where every user value is a quoted YAML scalar.
No torch, no swift, no network.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Iterable, Optional

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from . import RESOURCES
from .errors import SelfcogError
from .guards import leak_terms, names_found
from .model_meta import SAFE_SYSTEM, ModelMeta, model_name, prompt_problems, resolve, takes_system
from .recipe import BUILTIN_PREFIX, EvaluateSection, Recipe

SIZES_FILE = RESOURCES / "init_sizes.yaml"
TEMPLATE_FILE = RESOURCES / "init_recipe.yaml.j2"
REQUIRED_LANGS = ("zh", "en")
LANG = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")
# A size in a model name: 7B, 0.5B, 135M, 1.8b, 8x7B (not the 2.5 of Qwen2.5, which has no unit).
SIZE = re.compile(r"(?<![A-Za-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)([BM])(?![A-Za-z])", re.IGNORECASE)
EXAMPLE = {"name": 'zh=小黄 --name "en=Xiao Huang"', "author": "zh=魔搭 --author en=ModelScope"}
COMMENT_COLUMN = 31  # where inline comments start, as in recipes/*.yaml
SLUG_CHARS = 48
GATE = ("min_identity_rate", "max_leak_rate", "max_overreach_rate", "max_drift", "max_perplexity_increase")


def yaml_scalar(value: str) -> str:
    """A double-quoted YAML scalar that loads back as exactly `value` (colons, quotes, newlines)."""
    text = yaml.safe_dump(value, default_style='"', allow_unicode=True, width=math.inf)
    return text.removesuffix("\n...\n").rstrip("\n")


def yaml_number(value: float) -> str:
    """A float YAML reads back as one (1.0e-4, not 1e-4, which YAML 1.1 reads as a string)."""
    if float(value).is_integer() and abs(value) < 1e6:
        return str(value)
    return re.sub(r"e([-+])0*(\d)", r"e\1\2", f"{value:.1e}")


def comment_text(value) -> str:
    """One printable line for a comment: a newline or control character is written as its escape."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(value))


def parse_langs(option: str, values: Iterable[str]) -> dict[str, str]:
    """`--name zh=小黄 --name "en=Xiao Huang"` as {zh: 小黄, en: Xiao Huang}, zh and en required.

    Raises:
        SelfcogError: a value without LANG=, a repeated or missing language, an empty name.
    """
    fix = f"write LANG=VALUE, e.g. --{option} {EXAMPLE[option]}"
    pairs: dict[str, str] = {}
    for value in values:
        lang, sep, text = value.partition("=")
        if not sep or not LANG.match(lang.strip()):
            raise SelfcogError(f"--{option} {value!r}: {fix}")
        lang = lang.strip()
        if lang in pairs:
            raise SelfcogError(f"--{option} {lang}= is given twice; {fix}")
        if not text.strip():
            raise SelfcogError(f"--{option} {lang}= is empty; {fix}")
        pairs[lang] = text
    missing = [lang for lang in REQUIRED_LANGS if lang not in pairs]
    if missing:
        raise SelfcogError(f"--{option}: {' and '.join(missing)} missing (a recipe needs zh and en); {fix}")
    return pairs


def _config_size(folder: Path) -> Optional[float]:
    """Parameters (billions) from a local config.json: embeddings plus attention and MLP per layer."""
    try:
        c = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        h, layers, inter, vocab = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"], c["vocab_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    embeddings = vocab * h * (1 if c.get("tie_word_embeddings") else 2)
    return (embeddings + layers * (4 * h * h + 3 * h * inter)) / 1e9


def model_size(model_id: str) -> tuple[Optional[float], str]:
    """The model's size in billions of parameters, and where it was read (None: unknown)."""
    if model_id.startswith(BUILTIN_PREFIX):
        from .models import builtin

        name = builtin(model_id[len(BUILTIN_PREFIX):]).summary
    else:
        folder = Path(model_id).expanduser()
        size = _config_size(folder) if folder.is_dir() else None
        if size is not None:
            return size, f"about {size:.2g}B parameters by {folder}/config.json"
        name = model_id.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    match = SIZE.search(name)
    if not match:
        return None, f"no size in {name!r}"
    experts = int(match.group(1)) if match.group(1) else 1  # Mixtral-8x7B: all experts are loaded
    size = experts * float(match.group(2)) / (1000 if match.group(3).lower() == "m" else 1)
    return size, f"{match.group(0)} in its name"


def size_class(size: Optional[float]) -> dict:
    """The row of init_sizes.yaml for a model of `size` billion parameters."""
    table = yaml.safe_load(SIZES_FILE.read_text(encoding="utf-8"))
    classes = table["classes"]
    row = next((c for c in classes if c["up_to_b"] >= size), classes[-1]) if size is not None else \
        next(c for c in classes if c["name"] == table["unknown_size"])
    return {**row, "replay": table["replay"], "checkpoints": table["checkpoints"], "others": [
        c for c in classes if c is not row]}


def _system(recipe: Recipe) -> tuple[Optional[str], str, ModelMeta]:
    """The system prompt to write out (None: the template takes none), why, and the resolved model
    (refused before an old identity)."""
    problems = [p for p in prompt_problems(recipe) if not p.startswith("model.system:")]
    if problems:  # in init's words: the options that set those fields
        raise SelfcogError(problems[0].replace("model.model_type", "--model-type").replace("model.template",
                                                                                            "--template"))
    meta = resolve(recipe)
    found = names_found(meta.default_system, leak_terms(recipe))
    template = f"swift template {meta.template!r}"
    if not takes_system(meta.template):
        return None, f"system: not set; {template} takes no system prompt (swift refuses one)", meta
    if meta.default_system and not found:
        note = f"the default system prompt of {template}, written out: the merged model serves with it too"
        return meta.default_system, note, meta
    if found:
        note = f"instead of the default system prompt of {template}, which names {found[0]!r}"
    elif meta.template is None:
        note = "trained and served instead of whatever default the template swift picks after download has"
    else:
        note = f"{template} has no default system prompt; this one is trained and served with the merged model"
    chat_names = names_found(meta.chat_default, leak_terms(recipe))
    if chat_names:
        note += f" (the model's own chat template names {chat_names[0]!r})"
    return SAFE_SYSTEM, note, meta


def _template_note(meta: ModelMeta) -> Optional[str]:
    if meta.template_from == "model.template":
        return "given with --template"
    if meta.template_from and meta.template_from.startswith("swift registry"):
        return f"what swift 4.6's registry gives {model_name(meta.model_id)!r}, written out"
    return meta.template_from


def _data_path(path: str, out: Optional[str]) -> str:
    """A --data file as the recipe must name it: relative paths are read from the recipe's folder."""
    if Path(path).expanduser().is_dir():
        raise SelfcogError(f"--data {path}: a folder; give each .jsonl or .json file of rows in it")
    if not Path(path).expanduser().is_file():
        raise SelfcogError(f"--data {path}: no such file")
    if out is None or Path(path).is_absolute():
        return path
    return os.path.relpath(Path(path).resolve(), Path(out).resolve().parent)


def _steps(cls: dict, gpus: int) -> dict:
    grad_acc = max(1, math.ceil(cls["effective_batch"] / (cls["batch_size"] * gpus)))
    replay_sample = cls["self_cognition"] * cls["replay"]["per_identity_row"]
    rows = cls["self_cognition"] + replay_sample
    total = math.ceil(cls["epochs"] * rows * 0.95 / (cls["batch_size"] * gpus * grad_acc))
    save = max(5, 5 * math.ceil(total / cls["checkpoints"] / 5))
    return {"grad_acc": grad_acc, "per_step": grad_acc * cls["batch_size"] * gpus, "replay_sample": replay_sample, "rows": rows, "total_steps": total,
            "save_steps": save, "checkpoints": cls["checkpoints"]}


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["q"] = yaml_scalar
    env.filters["c"] = comment_text
    env.filters["number"] = yaml_number
    env.filters["col"] = lambda line: line.ljust(COMMENT_COLUMN - 3) + " "
    return env


def _slug(text: str) -> str:
    """A folder name from a name: ASCII words, at most SLUG_CHARS (a long name must fit NAME_MAX)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:SLUG_CHARS].strip("-") or "selfcog"


def recipe_text(model_id: str, names: Iterable[str], authors: Iterable[str], datasets: Iterable[str] = (),
                gpus: Optional[int] = None, out: Optional[str] = None, model_type: Optional[str] = None,
                template: Optional[str] = None) -> str:
    """The commented recipe `init` writes, checked: it loads, its prompt passes the guard, it renders.

    Args:
        model_id: Hub id, local folder or builtin:NAME.
        names: `LANG=NAME` values (zh and en required).
        authors: `LANG=AUTHOR` values (zh and en required).
        datasets: Your own data files, mixed in whole.
        gpus: GPUs of this machine to train on (fills `launch`); None leaves launch to swift.
        out: Where the recipe will be written (data paths are made relative to its folder).
        model_type: swift's model_type, for a model swift cannot place by its name (a local folder).
        template: swift's chat template, likewise.

    Raises:
        SelfcogError: a bad --name/--author/--data value, or a model swift would refuse.
    """
    name, author = parse_langs("name", names), parse_langs("author", authors)
    given = {key: value for key, value in (("model_type", model_type), ("template", template)) if value}
    probe = Recipe.model_validate({"model": {"id": model_id, **given}, "identity": {
        "name": {k: name[k] for k in REQUIRED_LANGS}, "author": {k: author[k] for k in REQUIRED_LANGS}}})
    system, system_note, meta = _system(probe)
    size, size_from = model_size(model_id)
    cls = size_class(size)
    context = {
        "model_id": model_id, "model_type": model_type, "template": meta.template, "template_from": _template_note(meta),
        "unresolved": meta.unresolved, "system": system, "system_note": system_note,
        "names": list(name.items()), "authors": list(author.items()), "name_en": name["en"], "author_en": author["en"],
        "size": f"{size:.3g}B" if size is not None else "unknown", "size_from": size_from, "cls": cls,
        "size_unknown": size is None,
        "replay": cls["replay"], "gpus": gpus or 1,
        "gpus_given": gpus is not None, "devices": ",".join(str(i) for i in range(gpus or 1)),
        "datasets": [_data_path(path, out) for path in datasets], "out": out or "recipe.yaml",
        "output_dir": f"output/{_slug(name['en'])}", **_steps(cls, gpus or 1),
        "gate": {key: EvaluateSection.model_fields[key].default for key in GATE},
    }
    try:
        text = _environment().from_string(TEMPLATE_FILE.read_text(encoding="utf-8")).render(**context)
    except TemplateError as exc:
        raise SelfcogError(f"{TEMPLATE_FILE.name}: {exc.__class__.__name__}: {exc}") from None
    _check(text, out)
    return text


def _check(text: str, out: Optional[str]) -> None:
    """What init promises: the text loads as a recipe, passes every check of `validate` and renders.

    Raises:
        SelfcogError: every problem, one a line, each naming the option at fault.
    """
    from .preflight import recipe_problems
    from .render import render

    data = yaml.safe_load(text)
    folder = Path(out).parent if out else Path(".")
    for spec in data["data"].get("datasets") or []:  # as `validate` will read them: from the recipe's folder
        spec["path"] = os.path.normpath(folder / Path(spec["path"]).expanduser())
    recipe = Recipe.model_validate(data)
    problems = recipe_problems(recipe)
    if problems:
        raise SelfcogError("\n".join(f"{_option(p.loc)}: {p.message}" for p in problems))
    render(recipe, "all", "sh", [out or "recipe.yaml"])


def _option(loc: tuple) -> str:
    """The init option that gave a recipe field: identity.name.zh -> --name zh=."""
    if loc[:1] == ("identity",) and len(loc) == 3:
        return f"--{loc[1]} {loc[2]}="
    if loc[:2] == ("data", "datasets"):
        return "--data"
    return "--model" if loc[:1] == ("model",) else ".".join(map(str, loc)) or "init"


def write_new(path: str, text: str) -> None:
    """Write `text` to a new file atomically; an existing file is never replaced.

    Raises:
        SelfcogError: the file exists.
    """
    target = Path(path)
    exists = f"{path}: exists; init never overwrites a file, give another --out"
    if target.exists():
        raise SelfcogError(exists)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, target)  # fails if the name was taken meanwhile: no overwrite, no half-written file
    except FileExistsError:
        raise SelfcogError(exists) from None
    except OSError:  # a file system without hard links: the check above, then a rename
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def init(model_id: str, names: Iterable[str], authors: Iterable[str], datasets: Iterable[str] = (),
         gpus: Optional[int] = None, out: Optional[str] = None, model_type: Optional[str] = None,
         template: Optional[str] = None) -> str:
    """`selfcog-swift init`: the recipe text, written to `out` when given (never over a file).

    Returns:
        The recipe text.
    """
    if out is not None and Path(out).exists():
        raise SelfcogError(f"{out}: exists; init never overwrites a file, give another --out")
    text = recipe_text(model_id, names, authors, datasets, gpus, out, model_type, template)
    if out is not None:
        write_new(out, text)
    return text
