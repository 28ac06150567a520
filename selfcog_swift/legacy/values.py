"""A swift command's arguments as flags, and their values as numbers, booleans or text."""

from __future__ import annotations

import math
import re

from .shell import Reporter

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# Longer integers are refused as numbers: far beyond any count, and well inside Python's
# 4300-digit limit on int(str).
MAX_INT_DIGITS = 300
_INT = re.compile(rf"[+-]?\d{{1,{MAX_INT_DIGITS}}}")
_KINDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
UNLIMITED = -1  # swift's "no limit" for a count: --max_steps, --save_total_limit, dataset#N

Flag = tuple[str, list[str], int]  # (name without `--`, values, line)


def split_flags(args: list[tuple[str, int]], stage: str, notes: Reporter) -> list[Flag]:
    """`--flag v1 v2 --flag2=v` → [(name, values, line)]."""
    flags: list = []
    for text, line in args:
        if text.startswith("--") and len(text) > 2:
            name, eq, value = text[2:].partition("=")
            flags.append((name.replace("-", "_"), [value] if eq else [], line))
        elif flags:
            flags[-1][1].append(text)
        else:
            notes.fail(line, f"unexpected argument {text!r} before any flag (swift {stage})")
    return flags


def number(text: str, whole: bool = False):
    """An int, or a finite float unless `whole`, written plainly in `text`; None otherwise."""
    if _INT.fullmatch(text):
        return int(text)
    value = float(text) if not whole and _NUMBER.fullmatch(text) else math.nan
    return value if math.isfinite(value) else None


def scalar(values: list[str]):
    """A swift_args value: no value → true; one → number, bool or text; several → a list."""
    def one(text: str):
        found = number(text)
        return found if found is not None else {"true": True, "false": False}.get(text.lower(), text)
    return True if not values else one(values[0]) if len(values) == 1 else [one(v) for v in values]


def typed(flag: Flag, kind: type, notes: Reporter):
    """The flag's one value as `kind` (a bare bool flag is true); anything else is an error."""
    name, values, line = flag
    if kind is bool and not values:
        return True
    if len(values) != 1:
        notes.fail(line, f"--{name} takes one value, got {len(values)}")
    if kind is str:
        return values[0]
    result = _BOOLS.get(values[0].lower()) if kind is bool else number(values[0], whole=kind is int)
    if result is None:
        notes.fail(line, f"--{name} {values[0]!r}: expected {_KINDS[kind]}")
    return result
