"""Everything `run` would refuse, found at once before anything runs.

`validate`, `render`, `run --dry-run`, `run` and `data` call `checked_recipe` first: the schema
(every error, not the first), the files the recipe names (datasets, identity rows, replay prompts,
probes) and the first malformed row of each, hub dataset ids the mix cannot read, swift flags
swift would reject, an empty mix, and a default system prompt that names the old identity
(model_meta.prompt_problems). Each problem is one line, `WHERE: field: message`, WHERE being
`file:line` of the field in the recipe (or the `extends` parent that set it) or `--set`.

Cheap by design: no torch, no swift, no network, and a dataset is read only as far as its first
PREFIX_ROWS rows (or PREFIX_BYTES): a malformed row further in is found when `data` draws it.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
from pathlib import Path
from typing import Callable, Optional, Union

from . import RESOURCES
from .errors import SelfcogError
from .recipe import BUILTIN_PREFIX, Recipe
from .field_checks import field_problems
from .model_meta import id_problem
from .recipe_files import PATH_RULE, Missing, Problem, RecipeProblems, dotted, load
from .rows import resolve_path
from .row_checks import DATA_SUFFIXES, PREFIX_ROWS, RowCheck, rows_problem  # noqa: F401 (PREFIX_ROWS: tests)

# owner/name with no file suffix: how hub dataset ids look (AI-ModelScope/alpaca-gpt4-data-zh).
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(#\d+)?$")
_COUNT = re.compile(r"^(.+)#(\d+)$")
HUB_IDENTITY = "swift/self-cognition"
NAME_MAX = 255  # bytes in one file or folder name (ext4, xfs, btrfs, APFS)

Locate = Callable[[tuple], str]


# Stand-ins for required sections the schema refused, so the others can still be checked.
STAND_INS = {"model": {"id": "stand-in"},
             "identity": {"name": {"zh": "-", "en": "-"}, "author": {"zh": "-", "en": "-"}}}


def checked_recipe(path: Union[str, Path], sets: tuple[str, ...] = ()) -> Recipe:
    """Load a recipe and check everything `run` would refuse.

    Args:
        path: The recipe's YAML file.
        sets: `key.path=value` overrides.

    Returns:
        The validated recipe.

    Raises:
        RecipeProblems: every problem found, one a line (`WHERE: field: message`).
    """
    problems, recipe = problems_of(path, sets)
    if problems:
        raise RecipeProblems(problems)
    return recipe


def problems_of(path: Union[str, Path], sets: tuple[str, ...] = ()) -> tuple[list[Problem], Optional[Recipe]]:
    """Every problem of a recipe file (empty when `run` would start), and the recipe when valid.

    When the schema refuses some sections, the files and flags of the sections it accepted are
    still checked, so one pass lists everything.
    """
    try:
        loaded = load(path, sets)
    except RecipeProblems as exc:
        return exc.problems, None
    if loaded.recipe is not None:
        return recipe_problems(loaded.recipe, loaded.where, loaded.written), loaded.recipe
    pruned = _pruned(loaded.data, [p.loc for p in loaded.problems if p.loc])
    if pruned is not None:  # the recipe less the fields at fault: the rest is checked field by field
        faulty = [p.loc for p in loaded.problems if p.loc]
        sound = not any(loc[0] in ("model", "identity") for loc in faulty)
        sections = {key for key, value in loaded.data.items() if key not in STAND_INS or isinstance(value, dict)}
        found = [p for p in recipe_problems(pruned, loaded.where, loaded.written, only=sections, prompts=sound)
                 if not any(p.loc[:len(loc)] == loc for loc in faulty)]
        return loaded.problems + found, None
    faulty = {p.loc[0] for p in loaded.problems if p.loc}
    kept = {key: value for key, value in loaded.data.items() if key not in faulty}
    try:  # the sound sections, with stand-ins for required ones the schema refused
        partial = Recipe.model_validate({**kept, **{k: v for k, v in STAND_INS.items() if k not in kept}})
    except ValueError:
        return loaded.problems, None
    return loaded.problems + recipe_problems(partial, loaded.where, loaded.written, only=set(kept) - faulty), None


def _pruned(data: dict, faulty: list[tuple]) -> Optional[Recipe]:
    """The recipe without the fields the schema refused (their defaults instead; stand-ins for a
    required section), or None when it still does not validate (e.g. a required field in a list)."""
    pruned = copy.deepcopy(data)
    for loc in faulty:
        parent = pruned
        for key in loc[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else (
                parent[key] if isinstance(parent, list) and isinstance(key, int) and key < len(parent) else None)
        if isinstance(parent, dict):
            parent.pop(loc[-1], None)
    for key, value in STAND_INS.items():
        if not isinstance(pruned.get(key), dict):  # missing or not a section: its checks are skipped
            pruned[key] = value
    try:
        return Recipe.model_validate(pruned)
    except ValueError:
        return None


def out_problem(recipe_file: Union[str, Path], recipe: Recipe, out: str) -> Optional[str]:
    """Why `data --out FILE` would destroy a file the recipe reads (a dataset, the recipe), or None."""
    if Path(out).suffix.lower() != ".jsonl":
        return f"--out {out}: the mix is JSON lines; name a .jsonl file"
    clash = _read_file(recipe, Path(out), [Path(recipe_file)])
    return f"--out {out}: is {clash}, which the recipe reads; name a new file" if clash else None


def _read_file(recipe: Recipe, target: Path, more: list[Path] = ()) -> Optional[Path]:
    """The file the recipe reads that `target` is, if any."""
    d, ev, target = recipe.data, recipe.evaluate, target.expanduser().resolve()
    inputs = [*more] + [resolve_path(s.path) for s in d.datasets] + [
        Path(p).expanduser() for p in (d.identity_file, d.replay and d.replay.prompts, ev.probes) if p]
    return next((p for p in inputs if p.exists() and p.resolve() == target), None)


def require(recipe: Recipe) -> None:
    """The same checks for a recipe built in Python (no file lines to name).

    Raises:
        RecipeProblems: every problem found.
    """
    problems = recipe_problems(recipe)
    if problems:
        raise RecipeProblems(problems)


def recipe_problems(recipe: Recipe, where: Locate = lambda loc: "recipe", written: Optional[dict] = None,
                    only: Optional[set[str]] = None, prompts: Optional[bool] = None) -> list[Problem]:
    """What `run` would refuse in a validated recipe, beyond the schema.

    Args:
        recipe: A validated recipe, paths resolved.
        where: `file:line` (or `--set`) of a field, for the messages.
        written: Path values as written in the recipe, by field (for hub ids and messages).
        only: Check only these top-level sections (the ones the schema accepted); None: all.
        prompts: Run the system-prompt guard (default: when `only` is None).
    """
    written = written or {}
    found: list[tuple[tuple, str]] = []
    found += field_problems(recipe)
    found += _data_problems(recipe, written)
    found += _file_problems(recipe, written)
    found += _flag_problems(recipe)
    if only is None and not found:
        found += _render_problems(recipe)
    if prompts if prompts is not None else only is None:
        found += _prompt_problems(recipe)
    return [Problem(where(loc), dotted(loc), message, loc, isinstance(message, Missing)) for loc, message in found
            if only is None or (loc and loc[0] in only)]


# --------------------------------------------------------------------------- data


def _data_problems(recipe: Recipe, written: dict) -> list[tuple[tuple, str]]:
    d, found = recipe.data, []
    for index, spec in enumerate(d.datasets):
        loc = ("data", "datasets", index, "path")
        message = _dataset_problem(spec.path, written.get(loc, spec.path), "datasets")
        if message:
            found.append((loc, message))
    if d.identity_file and d.source == "swift":
        found.append((("data", "identity_file"), "only used with data.source: builtin (swift's hub set has "
                                                 "its own rows); drop one of them"))
    elif d.identity_file:
        message = _dataset_problem(d.identity_file, written.get(("data", "identity_file"), d.identity_file),
                                   "identity_file", recipe.identity if d.self_cognition else None)
        if message:
            found.append((("data", "identity_file"), message))
        elif d.self_cognition:
            found += _language_problems(recipe, ("data", "identity_file"))
    if not d.self_cognition and not d.datasets and not d.replay:
        found.append((("data", "self_cognition"), "nothing to train on: no identity rows (0), no datasets and no "
                                                  "replay; set data.self_cognition (e.g. 500)"))
    return found


def _dataset_problem(path: str, as_written: str, field: str, identity=None) -> Optional[str]:
    """Why a dataset file cannot be mixed, or None; `identity`: its rows are identity rows to fill."""
    if path.startswith(BUILTIN_PREFIX):
        if resolve_path(path).is_file():
            return rows_problem(resolve_path(path), RowCheck(identity))
        known = sorted(p.stem for p in RESOURCES.glob("*.jsonl"))
        return f"unknown builtin dataset {path!r}; known: {', '.join(BUILTIN_PREFIX + k for k in known)}"
    file = resolve_path(path)
    if file.is_file():
        return rows_problem(file, RowCheck(identity))
    counted = _COUNT.match(as_written)
    if counted and _COUNT.match(path) and resolve_path(_COUNT.match(path).group(1)).is_file():
        return f"{as_written}: write the row count as its own field: {{path: {counted.group(1)}, sample: " \
               f"{counted.group(2)}}}"
    hub_id = counted.group(1) if counted else as_written
    if hub_id == HUB_IDENTITY:
        return f"{hub_id} is swift's hub identity set: use data.source: swift with data.self_cognition: N instead"
    if field == "datasets" and _HUB_ID.match(as_written) and Path(hub_id).suffix.lower() not in DATA_SUFFIXES:
        name = hub_id.rsplit("/", 1)[-1]
        return (f"{as_written!r} looks like a hub dataset id, but the mix reads local .jsonl/.json files only; "
                f"download it first (modelscope download --dataset {hub_id} --local_dir data/{name}) and "
                f"give the file's path")
    return _absent(file, as_written)


# --------------------------------------------------------------------------- other files


def _absent(path: Path, as_written: str) -> str:
    """Why a named file is not there: the path it resolved to, and the path rule when it was relative."""
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix.lower() in DATA_SUFFIXES)[:3] or ["rows.jsonl"]
        return f"{path} is a folder; name each file of rows in it, e.g. " + ", ".join(
            f"{{path: {os.path.join(as_written, name)}}}" for name in inside)
    if path.exists():
        return f"{path} is not a file"
    rule = f" ({PATH_RULE})" if not os.path.isabs(os.path.expanduser(as_written)) else ""
    return Missing(f"file not found: {path}{rule}")


def _file_problems(recipe: Recipe, written: dict) -> list[tuple[tuple, str]]:
    found = []
    from .render import data_path

    if _read_file(recipe, Path(data_path(recipe))):  # run writes the mix there, over the file
        found.append((("output_dir",), f"run writes its mix to {data_path(recipe)}, a file this recipe reads; "
                                       "choose another output_dir"))
    message = id_problem(recipe.model.id)
    if message:
        found.append((("model", "id"), message))
    long_part = next((part for part in Path(recipe.output_dir).parts if len(part.encode()) > NAME_MAX), None)
    if long_part:
        found.append((("output_dir",), f"the folder name {long_part[:40]!r}… is {len(long_part.encode())} bytes; "
                                       f"file systems allow {NAME_MAX}: give a shorter output_dir"))
    replay = recipe.data.replay
    if replay is not None:
        from .replay import BUILTIN_POOL, FROM_DATASETS

        loc = ("data", "replay", "prompts")
        if replay.prompts == FROM_DATASETS and not recipe.data.datasets:
            found.append((loc, f"{FROM_DATASETS} asks the questions of data.datasets, which is empty; use "
                               f"{BUILTIN_POOL} or a prompts file"))
        elif replay.prompts.startswith(BUILTIN_PREFIX) and replay.prompts != BUILTIN_POOL:
            found.append((loc, f"unknown builtin pool {replay.prompts!r}; known: {BUILTIN_POOL}"))
        elif replay.prompts not in (FROM_DATASETS, BUILTIN_POOL):
            message = _lines_problem(Path(os.path.expanduser(replay.prompts)), written.get(loc, replay.prompts),
                                     None, _prompt_row)
            if message:
                found.append((loc, message))
    if recipe.evaluate.probes:
        from .probes import parse_probe

        probes = recipe.evaluate.probes
        message = _lines_problem(Path(os.path.expanduser(probes)), written.get(("evaluate", "probes"), probes),
                                 None, parse_probe)
        if message:
            found.append((("evaluate", "probes"), message))
        else:
            found += _language_problems(recipe, ("evaluate", "probes"))
    return found


def _language_problems(recipe: Recipe, loc: tuple) -> list[tuple[tuple, str]]:
    """A language of the identity that your own identity rows or probes lack (read whole: both are small)."""
    try:
        if loc == ("evaluate", "probes"):
            from .probes import load_probes

            load_probes(os.path.expanduser(recipe.evaluate.probes), recipe.languages)
        else:
            from .data import check_identity_languages
            from .rows import RowFile

            rows = RowFile(resolve_path(recipe.data.identity_file))
            try:
                check_identity_languages(recipe, rows)
            finally:
                rows.close()
    except SelfcogError as exc:
        return [(loc, str(exc).removeprefix(f"{dotted(loc)}: "))]
    return []


def _prompt_row(line: str, where: str) -> None:
    """One line of a replay prompts file, read as replay reads it (replay._file_questions)."""
    from .replay import _first_user_turn

    row = json.loads(line)
    if isinstance(row, dict) and any(isinstance(row.get(key), str) for key in ("prompt", "question")):
        return
    try:
        _first_user_turn(row)
    except SelfcogError as exc:
        raise SelfcogError(f"{where}: {exc}; a prompt row is {{\"prompt\": \"...\"}} or a chat row") from None


def _lines_problem(path: Path, as_written: str, parse: Optional[Callable] = None,
                   parse_at: Optional[Callable] = None) -> Optional[str]:
    """A JSONL file of prompts or probes: missing, empty, or its first unreadable line (first PREFIX_ROWS)."""
    if not path.is_file():
        return _absent(path, as_written)
    rows = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                parse(line) if parse else parse_at(line, f"{path}:{number}")
            except ValueError:
                return f"{path}:{number}: malformed JSON"
            except SelfcogError as exc:
                return str(exc)
            rows += 1
            if rows == PREFIX_ROWS:
                break
    return None if rows else f"{path}: empty file"


# --------------------------------------------------------------------------- swift


def _flag_problems(recipe: Recipe) -> list[tuple[tuple, str]]:
    """swift_args flags swift 4.6 rejects (its flag table, swift_flags.json), each with the closest."""
    from .swift_flags import known_flags

    found = []
    for stage, flags in recipe.swift_args.items():
        known = known_flags()[stage]
        for flag in flags:
            if flag not in known:
                close = difflib.get_close_matches(flag, known, n=1)
                found.append((("swift_args", stage, flag), f"swift {stage} has no such flag" +
                              (f"; did you mean {close[0]}?" if close else "")))
    return found


def _render_problems(recipe: Recipe) -> list[tuple[tuple, str]]:
    """An unknown builtin model, then whatever else `render` refuses."""
    from .models.registry import BUILTINS
    from .render import stage_command, stages_for

    name = recipe.model.id[len(BUILTIN_PREFIX):]
    if recipe.model.id.startswith(BUILTIN_PREFIX) and name not in BUILTINS:
        return [(("model", "id"), f"unknown builtin model {name!r}; known: "
                                  f"{', '.join(BUILTIN_PREFIX + known for known in BUILTINS)}")]
    try:
        for stage in stages_for(recipe, "all"):
            stage_command(recipe, stage)
    except SelfcogError as exc:
        return [((), str(exc))]
    return []


def _prompt_problems(recipe: Recipe) -> list[tuple[tuple, str]]:
    """The system-prompt guard (model_meta.prompt_problems): its lines start with the field at fault."""
    from .model_meta import prompt_problems

    found = []
    for line in prompt_problems(recipe):
        field, _, message = line.partition(": ")
        found.append((tuple(field.split(".")), message) if message else ((), line))
    return found
