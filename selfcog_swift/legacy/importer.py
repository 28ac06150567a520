"""The importer's state, its notes (`<source>:<line>: …`), and `swift sft` flags onto recipe fields."""

from __future__ import annotations

import difflib
from typing import NoReturn

from ..errors import SelfcogError
from .flags import flag_map
from .special import HANDLERS
from .values import UNLIMITED, Flag, scalar, typed

SECTIONS = ("model", "identity", "data", "tuning", "train", "launch")


def one_line(text: str) -> str:
    return " ".join(str(text).splitlines())


class Importer:
    """Collects recipe fields and warnings while the script's commands are read in order."""

    def __init__(self, source: str):
        self.source, self.warnings = source, []
        self.lines: dict[str, int] = {}  # recipe field -> the line that set it, for schema errors
        self.recipe: dict = {k: {} for k in SECTIONS}
        self.datasets: list[dict] = []
        self.sample = self.model_type = None  # (value, line) of --train_dataset_sample / --model_type
        self.sft_args: dict = {}

    def warn(self, line: int, msg: str) -> None:
        self.warnings.append((line, one_line(f"{self.source}:{line}: {msg}")))

    def fail(self, line: int, msg: str) -> NoReturn:
        raise SelfcogError(one_line(f"{self.source}:{line}: {msg}"))

    def put(self, path: str, value, line: int) -> None:
        *section, key = path.split(".")
        (self.recipe[section[0]] if section else self.recipe)[key] = value
        self.lines[path] = line

    def value(self, flag: Flag, kind: type):
        return typed(flag, kind, self)

    def sft(self, flags: list[Flag]) -> None:
        """Each `swift sft` flag: a recipe field, a special case, dropped, or passed on under swift_args.sft."""
        fm = flag_map()
        for flag in flags:
            name, values, line = flag
            if name in fm.fields:
                path, kind = fm.fields[name]
                value = self.value(flag, kind)
                if value != UNLIMITED or path not in ("train.max_steps", "train.save_total_limit"):
                    self.put(path, value, line)
                elif path == "train.save_total_limit":
                    self.put(path, None, line)  # keep every checkpoint; max_steps keeps the recipe's default
            elif name in fm.special:
                HANDLERS[fm.special[name]](self, flag)
            elif name in fm.dropped:
                self.warn(line, f"{' '.join(['--' + name, *values])}: dropped ({fm.dropped[name]})")
            elif fm.renamed.get(name, name) in fm.swift46["sft"]:
                self.sft_args[fm.renamed.get(name, name)] = scalar(values)
            else:
                self.unknown(flag, "sft", set(fm.fields) | set(fm.special) | set(fm.dropped) | fm.swift46["sft"])

    def unknown(self, flag: Flag, stage: str, known: set) -> NoReturn:
        close = difflib.get_close_matches(flag[0], sorted(known), n=1)
        hint = (f"did you mean --{close[0]}?" if close
                else f"not a swift 1.x/2.x flag we map nor a swift 4.6 {stage} flag")
        self.fail(flag[2], f"unknown legacy flag --{flag[0]} (swift {stage}); {hint}")

    def result(self) -> dict:
        out = {k: v for k, v in self.recipe.items() if v not in ({}, None)}
        return {**out, "swift_args": {"sft": self.sft_args}} if self.sft_args else out
