"""A recipe's schema errors as problems a person can act on: one per field at fault, pydantic's
union-branch tags dropped, an unknown key with the closest known one, a plain string where zh/en
is needed with the fix as an example, a YAML boolean or number where text is needed.

No torch, no swift, no network.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Optional

from pydantic import BaseModel, ValidationError

from .recipe import Bilingual, FieldError, Recipe
from .recipe_files import Locator, Problem, dotted

_HAN = re.compile(r"[\u3400-\u9fff]")


def _model_at(loc: tuple) -> Optional[type[BaseModel]]:
    model: Any = Recipe
    for key in loc:
        if isinstance(key, int):
            continue
        spec = getattr(model, "model_fields", {}).get(key)
        if spec is None:
            return None
        candidates = [spec.annotation, *getattr(spec.annotation, "__args__", ())]
        for inner in list(candidates):
            candidates += list(getattr(inner, "__args__", ()))
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return None
    return model


def _field_loc(loc: tuple) -> tuple[tuple, Optional[tuple]]:
    """The error's place without pydantic's union-branch tags (`list[str]`, `PerLanguage`), and
    the union field's place when it had one."""
    kept, union = [], None
    for key in loc:
        model = _model_at(tuple(kept))
        if isinstance(key, str) and (not key.isidentifier() or (
                model is not None and key == model.__name__ and key not in model.model_fields)):
            union = union or tuple(kept)
            continue
        kept.append(key)
    return tuple(kept), union


def _bilingual_hint(loc: tuple, value) -> str:
    name = str(loc[-1])
    if isinstance(value, str) and value:
        pair = f"{{zh: {value}, en: <in English>}}" if _HAN.search(value) else f"{{zh: <中文>, en: {value}}}"
    else:
        pair = "{zh: 小黄, en: Xiao Huang}"
    return f"needs one {name} per language, e.g. {name}: {pair}"


def _as_section(loc: tuple, value: str, listed: bool) -> Optional[str]:
    """A plain string where a section with one required field (a dataset's path) is needed, or a
    list of them, as the section it should be: `{path: rows.jsonl}`, `[{path: rows.jsonl}]`."""
    model = _model_at((*loc, 0) if listed else loc)
    required = [name for name, spec in (model.model_fields.items() if model else ()) if spec.is_required()]
    if len(required) != 1:
        return None
    return f"[{{{required[0]}: {value}}}]" if listed else f"{{{required[0]}: {value}}}"


def _message(error: dict, loc: tuple) -> str:
    if error["type"] == "extra_forbidden":
        owner = _model_at(loc[:-1])
        known = list(owner.model_fields) if owner else []
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        return "unknown key" + (f"; did you mean '{hint[0]}'?" if hint else (f"; known: {', '.join(known)}"
                                                                            if known else ""))
    if error["type"] == "missing":
        return "required field missing"
    if error["type"] == "model_type" and _model_at(loc) is Bilingual:
        return _bilingual_hint(loc, error.get("input"))
    if error["type"] in ("model_type", "list_type") and isinstance(error.get("input"), str):
        example = _as_section(loc, error["input"], listed=error["type"] == "list_type")
        if example:
            key = f"{loc[-1]}: " if isinstance(loc[-1], str) else "- "
            return f"{error['msg']}; write e.g. {key}{example}"
    if error["type"] == "string_type" and isinstance(error.get("input"), (bool, int, float)):
        # YAML reads unquoted no/yes/on/off as booleans and 2024 as a number.
        value = error["input"]
        words = " (no, yes, on, off and true, false are booleans to YAML)" if isinstance(value, bool) else ""
        return f"{error['msg']}; YAML read the unquoted value as {value!r}{words}: quote it"
    return error["msg"]


def schema_problems(exc: ValidationError, locator: Locator) -> list[Problem]:
    """One problem per field at fault; a union field reports the branch that got furthest."""
    chosen: dict[tuple, tuple[int, dict, tuple]] = {}
    for order, error in enumerate(exc.errors()):
        raised = (error.get("ctx") or {}).get("error")
        if isinstance(raised, FieldError):  # a check across sections names its field when raised
            chosen[(order,)] = (0, {"type": "field", "msg": str(raised.message)}, raised.loc)
            continue
        if error["type"] == "extra_forbidden":  # the last key is the one written, whatever its characters
            loc, union = _field_loc(tuple(error["loc"][:-1]))
            loc = (*loc, error["loc"][-1])
        else:
            loc, union = _field_loc(tuple(error["loc"]))
        field_key = ("union", *union) if union is not None else (order,)
        if field_key in chosen and len(chosen[field_key][2]) >= len(loc):
            continue
        chosen[field_key] = (order, error, loc)
    problems = []
    for _, error, loc in sorted(chosen.values(), key=lambda item: item[0]):
        message = error["msg"] if error["type"] == "field" else _message(error, loc)
        problems.append(Problem(locator.where(loc), dotted(loc), message, loc))
    return problems
