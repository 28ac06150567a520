"""Import swift 1.x/2.x (and 3.x) shell scripts, like the tutorial's, as a recipe.

The script is read as bash reads it (`shell`), keeping line numbers for messages. Each `swift sft`
flag maps onto a recipe field (`importer`, with the flag map as data in
`resources/legacy_flags.yaml`, `flags`; the special cases in `special`), and the swift defaults the
script relied on are written out where the recipe's differ (`defaults`); `swift export` /
`swift infer` lines are checked (`stages`): the recipe derives those stages. Nothing here imports
torch or swift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import yaml
from pydantic import ValidationError

from ..errors import SelfcogError
from ..recipe import Recipe
from .defaults import finish_sft
from .flags import flag_map
from .importer import Importer, one_line
from .shell import commands
from .stages import check_stage
from .values import split_flags

__all__ = ["LegacyImport", "import_legacy", "import_legacy_file"]

_YAML_WIDTH = 1000  # no folded lines: a long path or name stays on one line


@dataclass(frozen=True)
class LegacyImport:
    """An imported script: `recipe` is plain data for `Recipe.model_validate`; `warnings` are one-liners."""

    recipe: dict
    warnings: tuple[str, ...]
    source: str = "<script>"

    def to_yaml(self, path: str = "<file>") -> str:
        """The recipe as commented YAML (Chinese kept as-is), opening with where it came from."""
        head = [f"# Imported from {_comment(self.source)} (swift 1.x/2.x command lines) by selfcog-swift.",
                "# Check it, then print the swift 4.6 commands it runs:",
                f"#   python -m selfcog_swift render {_comment(path)}"]
        if self.warnings:
            head += ["#", "# Import notes:"] + [f"#   - {_comment(w)}" for w in self.warnings]
        body = yaml.safe_dump(self.recipe, allow_unicode=True, sort_keys=False, width=_YAML_WIDTH)
        return "\n".join(head) + "\n" + body


def _comment(text: str) -> str:
    """One YAML-safe comment line: no line breaks, no characters a YAML reader rejects."""
    return re.sub(r"[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "?", one_line(text))


def import_legacy(text: str, source: str = "<script>") -> LegacyImport:
    """Turn a swift 1.x/2.x (or 3.x) shell script into a recipe.

    Args:
        text: The script: `VAR=value` lines, env prefixes, `swift sft/export/infer` commands.
        source: Its name, used in messages (`<source>:<line>: …`).

    Returns:
        The recipe as plain data plus one-line warnings on what changed or was dropped.

    Raises:
        SelfcogError: unreadable shell, no `swift sft`, an unknown flag (naming its line), no identity.
    """
    imp, seen = Importer(source), None
    for sub, env, args, line in commands(text, imp):
        if sub == "sft":
            if seen:
                imp.fail(line, f"a second swift sft (the first is on line {seen}); import one run at a time")
            flags, seen = split_flags(args, "sft", imp), line
            imp.sft(flags)
            finish_sft(imp, env, line, v3=any(f[0] in flag_map().v3_flags for f in flags))
        elif sub in ("export", "merge-lora", "infer"):
            stage = "infer" if sub == "infer" else "export"
            check_stage(imp, stage, split_flags(args, stage, imp), line)
        else:
            imp.warn(line, f"swift {sub} is not part of a recipe; ignored")
    if not seen:
        raise SelfcogError(one_line(f"{source}: no `swift sft` command found; nothing to import"))
    warnings = dict.fromkeys(w for _, w in sorted(imp.warnings, key=lambda w: w[0]))  # by line, no repeats
    return LegacyImport(_validated(imp, seen), tuple(warnings), source)


def _validated(imp: Importer, sft_line: int) -> dict:
    """The recipe data, checked by the schema; a problem names the line of the flag behind it."""
    recipe = imp.result()
    try:
        Recipe.model_validate(recipe)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        paths = [".".join(loc[:k]) for k in range(len(loc), 0, -1)]  # the field, then its parents
        line = next((imp.lines[p] for p in paths if p in imp.lines), sft_line)
        imp.fail(line, f"imported {'.'.join(loc)}: {err['msg']}")
    return recipe


def import_legacy_file(path: Union[str, Path]) -> LegacyImport:
    """`import_legacy` on a UTF-8 file; an unreadable file is a `SelfcogError`."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SelfcogError(f"{path}: script not found") from None
    except UnicodeDecodeError:
        raise SelfcogError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SelfcogError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return import_legacy(text, str(path))
