"""Reading a recipe from its files: YAML, `extends`, `--set`, relative paths, and where each field
was written, so that every problem names `file:line` (or `--set`) and the field at fault.

The path rule: a relative path written in a recipe file is read from that file's folder (as
docker-compose and kustomize do), a value given with `--set` from the working directory. It holds
for every path selfcog-swift reads itself: `extends`, `output_dir`, `data.datasets[].path`,
`data.identity_file`, `data.replay.prompts` and `evaluate.probes`. Paths are resolved here, once,
when the recipe is loaded, and kept relative to the working directory when they lie under it, so
rendered scripts stay short. Values handed to swift as they are (`model.id`, `launch.deepspeed`,
`launch.fsdp`, `swift_args`) are read by swift, from the working directory.

No torch, no swift, no network.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from pydantic import ValidationError

from .errors import SelfcogError
from .recipe import BUILTIN_PREFIX, Recipe

PATH_RULE = "relative paths in a recipe file are read from that file's folder, --set values from the working directory"
SET = "--set"
# Path fields selfcog-swift reads itself; `*` stands for every index of a list.
PATH_FIELDS = (("output_dir",), ("data", "identity_file"), ("data", "datasets", "*", "path"),
               ("data", "replay", "prompts"), ("evaluate", "probes"))
# data.replay.prompts values that name no file.
NOT_FILES = ("dataset",)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a recipe: `WHERE: field: message`, WHERE being `file:line` or `--set`."""

    where: str
    field: str
    message: str
    loc: tuple = ()  # the field as a path of keys, for code; `field` is how a person writes it
    missing: bool = False  # a file absent on this machine (it may exist where the scripts run)

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}" if self.field else f"{self.where}: {self.message}"


class Missing(str):
    """A problem message about a file absent here: `render` warns (the scripts may run elsewhere)."""


class RecipeProblems(SelfcogError):
    """Every problem found in a recipe; the message holds one problem a line (the CLI prints each)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def dotted(loc: tuple) -> str:
    """A field path as a person writes it: data.datasets[0].path."""
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


# --------------------------------------------------------------------------- files


def _read_yaml(path: Path) -> tuple[dict, Optional[yaml.Node]]:
    def fail(where: str, message: str):
        raise RecipeProblems([Problem(where, "", message)]) from None

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(str(path), "recipe file not found")
    except (OSError, UnicodeDecodeError) as exc:
        fail(str(path), f"cannot read recipe: {exc}")
    try:
        data, node = yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        fail(f"{path}:{mark.line + 1}" if mark else str(path), f"malformed YAML: {problem}")
    except ValueError as exc:  # e.g. PyYAML's own limits on odd input
        fail(str(path), f"malformed YAML: {exc}")
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        fail(str(path), f"a recipe must be a mapping of sections, got {type(data).__name__}")
    return data, node


def _deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def near(base: Path, value: str) -> str:
    """`value` read from the folder `base`, as short as it stays correct (normalised, relative
    when `base` was)."""
    return os.path.normpath(base / value)


def _load_tree(path: Path, seen: tuple[Path, ...]) -> tuple[dict, list[tuple[Path, Optional[yaml.Node]]]]:
    """A recipe and its `extends` chain: merged data and (file, node) from child to root."""
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise RecipeProblems([Problem(str(path), "extends", f"forms a cycle: {chain}")])
    data, node = _read_yaml(path)
    parent = data.get("extends")
    if parent is None:
        return data, [(path, node)]
    where = Locator([(path, node)], []).where(("extends",))
    if not isinstance(parent, str) or not parent:
        raise RecipeProblems([Problem(where, "extends", "must be a file path")])
    parent_path = Path(near(path.parent, os.path.expanduser(parent)))
    if not parent_path.is_file():
        raise RecipeProblems([Problem(where, "extends", f"file not found: {parent_path} ({PATH_RULE})")])
    parent_data, nodes = _load_tree(parent_path, (*seen, resolved))
    parent_data.pop("extends", None)
    return _deep_merge(parent_data, data), [(path, node), *nodes]


def parse_set(assignment: str) -> tuple[list[str], Any]:
    """Parse `a.b=value` (`a.list[0].b=value` or `a.list.0.b=value` for a list item); the value is
    read as a YAML scalar (1e-4, true, [a, b]), but as the text it is where YAML would make a
    mapping of `Xiao: Huang`, a list of `- a` or cut `X #1` at a comment."""
    key, sep, raw = assignment.partition("=")
    key = re.sub(r"\[(\d+)\]", r".\1", key.strip())
    if not sep or not key or any(not part for part in key.split(".")):
        raise SelfcogError(f"--set {assignment!r}: expected key.path=value")
    text = raw.strip()
    try:
        value = yaml.safe_load(raw) if text else ""
    except yaml.YAMLError:
        value = text
    if (isinstance(value, dict) and not text.startswith("{")) or (isinstance(value, list) and not text.startswith(
            "[")) or (isinstance(value, str) and "#" in text and value != text and not text.startswith(("'", '"'))):
        value = text
    return key.split("."), value


def _apply_set(data: dict, assignment: str) -> tuple:
    keys, value = parse_set(assignment)
    target: Any = data
    for depth, key in enumerate(keys):
        where = ".".join(map(str, keys[:depth]))
        if isinstance(target, list) and not (key.isdigit() and int(key) < len(target)):
            raise SelfcogError(f"--set {assignment!r}: {where} has {len(target)} items, numbered from 0")
        if isinstance(target, list):
            key = keys[depth] = int(key)
        if depth == len(keys) - 1:
            target[key] = value
            break
        child = target[key] if isinstance(target, list) else target.get(key)
        if child is None:
            child = target[key] = {}
        if not isinstance(child, (dict, list)):
            raise SelfcogError(f"--set {assignment!r}: {'.'.join(map(str, keys[: depth + 1]))} is not a section")
        target = child
    return tuple(map(str, keys))


def _duplicate_keys(path: Path, node: Optional[yaml.Node], loc: tuple) -> list[Problem]:
    """Keys written twice in one mapping: YAML keeps the last silently, so the first is lost."""
    found: list[Problem] = []
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicate_keys(path, item, (*loc, index))
    if not isinstance(node, yaml.MappingNode):
        return found
    first: dict = {}
    for key, value in node.value:
        name = getattr(key, "value", None)
        if name in first:
            found.append(Problem(f"{path}:{key.start_mark.line + 1}", dotted((*loc, name)),
                                 f"written twice (first at line {first[name]}); YAML keeps only this one, so "
                                 "merge the two"))
        else:
            first[name] = key.start_mark.line + 1
        found += _duplicate_keys(path, value, (*loc, name))
    return found


# --------------------------------------------------------------------------- where a field was written


def _child(node: Optional[yaml.Node], key) -> Optional[tuple[int, yaml.Node]]:
    """(1-based line, value node) of one key or index under a YAML node."""
    if isinstance(node, yaml.MappingNode):
        match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(key)), None)
        return (match[0].start_mark.line + 1, match[1]) if match else None
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key].start_mark.line + 1, node.value[key]
    return None


@dataclass
class Locator:
    """Which file (and line) or `--set` gave each field of the merged recipe."""

    files: list[tuple[Path, Optional[yaml.Node]]]
    set_keys: list[tuple]

    def _from_set(self, loc: tuple) -> bool:
        return any(tuple(map(str, loc[:len(keys)])) == keys for keys in self.set_keys)

    def owner(self, loc: tuple) -> tuple[Optional[Path], Optional[int], int]:
        """(file, line, depth): the file whose value the merge kept for `loc` (or its nearest
        parent), the line of that key, and how many keys of `loc` it holds."""
        alive = [(path, node) for path, node in self.files]
        found: tuple[Optional[Path], Optional[int], int] = (None, None, 0)
        for depth, key in enumerate(loc, 1):
            step = [(path, _child(node, key)) for path, node in alive]
            step = [(path, hit) for path, hit in step if hit is not None]
            if not step:
                break
            path, (line, value) = step[0]  # the child recipe wins the merge
            found = (path, line, depth)
            # Lists and scalars replace the parent's whole; only mappings merge key by key.
            alive = [(path, value)] if not isinstance(value, yaml.MappingNode) else [(p, v) for p, (_, v) in step]
        return found

    def where(self, loc: tuple) -> str:
        """`file:line` of the field (or its nearest written parent), or `--set`."""
        if self._from_set(loc):
            return SET
        path, line, depth = self.owner(loc)
        if depth < len(loc) and any(keys[:len(loc)] == tuple(map(str, loc)) for keys in self.set_keys):
            return SET  # no file writes it, and a --set made it (e.g. --set nonexistent.key=1)
        if path is not None:
            return f"{path}:{line}"
        path, node = self.files[0]
        return f"{path}:{node.start_mark.line + 1}" if node is not None else str(path)

    def folder(self, loc: tuple) -> Optional[Path]:
        """The folder a relative path at `loc` is read from: its file's, or None for `--set`."""
        if self._from_set(loc):
            return None
        path, _, depth = self.owner(loc)
        return path.parent if path is not None and depth == len(loc) else None


def _path_locs(data: dict) -> list[tuple]:
    locs = []
    for pattern in PATH_FIELDS:
        partial = [()]
        for key in pattern:
            nxt = []
            for loc in partial:
                value = _get(data, loc)
                if key == "*":
                    nxt += [(*loc, i) for i in range(len(value))] if isinstance(value, list) else []
                elif isinstance(value, dict) and key in value:
                    nxt.append((*loc, key))
            partial = nxt
        locs += partial
    return locs


def _get(data, loc: tuple):
    for key in loc:
        data = data[key]
    return data


def _set(data, loc: tuple, value) -> None:
    _get(data, loc[:-1])[loc[-1]] = value


def _resolve_paths(data: dict, locator: Locator) -> dict[tuple, str]:
    """Relative paths made relative to the working directory by the path rule; returns the values
    as written, by field."""
    written = {}
    for loc in _path_locs(data):
        value = _get(data, loc)
        if not isinstance(value, str) or not value or value.startswith(BUILTIN_PREFIX) or value in NOT_FILES:
            continue
        written[loc] = value
        folder = locator.folder(loc)
        if folder is not None and not os.path.isabs(os.path.expanduser(value)):
            _set(data, loc, near(folder, value))
    return written


# --------------------------------------------------------------------------- loading


@dataclass
class Loaded:
    """A recipe read from its files: the validated recipe (None when the schema refused it), every
    problem so far, where each field came from, and path values as written."""

    path: Path
    recipe: Optional[Recipe]
    problems: list[Problem]
    locator: Locator
    written: dict[tuple, str] = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # merged, paths resolved: what was validated

    def where(self, loc: tuple) -> str:
        return self.locator.where(loc)


def load(path: Union[str, Path], sets: tuple[str, ...] = ()) -> Loaded:
    """Load, merge (`extends`), override (`--set`), resolve paths and validate, collecting every
    schema problem.

    Raises:
        RecipeProblems: when the files themselves cannot be read (missing, malformed YAML, cycle).
    """
    path = Path(path)
    data, files = _load_tree(path, ())
    problems, set_keys = [], []
    for assignment in sets:
        try:
            set_keys.append(_apply_set(data, assignment))
        except SelfcogError as exc:
            problems.append(Problem(SET, "", str(exc).removeprefix("--set ")))
    locator = Locator(files, set_keys)
    problems += [problem for path, node in files for problem in _duplicate_keys(path, node, ())]
    written = _resolve_paths(data, locator)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        from .schema_errors import schema_problems

        return Loaded(path, None, problems + schema_problems(exc, locator), locator, written, data)
    return Loaded(path, recipe if not problems else None, problems, locator, written, data)


def load_recipe(path: Union[str, Path], sets: tuple[str, ...] = ()) -> Recipe:
    """Load, merge (`extends`), override (`--set`) and validate a recipe.

    Args:
        path: The recipe's YAML file.
        sets: `key.path=value` overrides, applied in order after `extends`.

    Returns:
        The validated recipe, relative paths resolved by the path rule (PATH_RULE).

    Raises:
        RecipeProblems: every problem, one a line, each naming the file and line (or --set) and the field.
    """
    loaded = load(path, sets)
    if loaded.problems:
        raise RecipeProblems(loaded.problems)
    return loaded.recipe
