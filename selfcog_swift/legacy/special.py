"""The `swift sft` flags that need more than a type: `special:` in legacy_flags.yaml names these handlers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from .flags import flag_map
from .values import UNLIMITED, Flag

if TYPE_CHECKING:
    from .importer import Importer

DEFAULT_REVISION = "master"  # the hub's default branch: the same as no --model_revision
COUNT_DIGITS = 18  # `path#N` counts up to 18 digits: any N fits a 64-bit int
_COUNTED = re.compile(rf"(.+)#(-?\d{{1,{COUNT_DIGITS}}})")
_LOCAL_FILE = re.compile(r"\.(jsonl|json|csv|txt)$")
SELF_COGNITION = ("swift/self-cognition", "self-cognition")  # swift's identity set, by hub name
ALL_LINEAR = {"ALL", "ALL-LINEAR"}
ALL_LINEAR_LIKE = ALL_LINEAR | {"DEFAULT", "AUTO"}  # read as all-linear too, with a warning


def model_type(imp: Importer, flag: Flag) -> None:
    imp.model_type = (imp.value(flag, str), flag[2])  # resolved once the whole command is read


def revision(imp: Importer, flag: Flag) -> None:
    value = imp.value(flag, str)
    if value != DEFAULT_REVISION:
        imp.put("model.revision", value, flag[2])


def method(imp: Importer, flag: Flag) -> None:
    value = imp.value(flag, str).lower()
    if value not in ("lora", "full"):
        imp.fail(flag[2], f"--{flag[0]} {value}: a recipe trains lora or full")
    imp.put("tuning.method", value, flag[2])


def dtype(imp: Importer, flag: Flag) -> None:
    value, dtypes = imp.value(flag, str), flag_map().dtypes
    if value.upper() == "AUTO":
        return imp.warn(flag[2], f"--{flag[0]} AUTO: dropped (swift picks the dtype; see model.torch_dtype)")
    if value.lower() not in dtypes:
        imp.fail(flag[2], f"--{flag[0]} {value}: expected bf16, fp16, fp32 or AUTO")
    imp.put("model.torch_dtype", dtypes[value.lower()], flag[2])


def targets(imp: Importer, flag: Flag) -> None:
    names = [n for v in flag[1] for n in v.split(",") if n]
    upper = {n.upper() for n in names}
    if not names:
        imp.fail(flag[2], f"--{flag[0]} needs module names")
    if upper & ALL_LINEAR_LIKE:
        if upper - ALL_LINEAR:
            imp.warn(flag[2], f"--{flag[0]} {' '.join(names)}: read as all-linear (attention and MLP, swift's "
                     "advice for identity); swift 1.x/2.x DEFAULT meant the attention layers only")
        return imp.put("tuning.target_modules", "all-linear", flag[2])
    imp.put("tuning.target_modules", names, flag[2])


def dataset(imp: Importer, flag: Flag) -> None:
    """`path`, `path#N` or swift's `swift/self-cognition#N`; each local file becomes a data.datasets entry."""
    for item in flag[1]:
        match = _COUNTED.fullmatch(item)
        path, count = (match.group(1), int(match.group(2))) if match else (item, None)
        if path.split("::")[-1] in SELF_COGNITION:
            imp.lines.setdefault("data.self_cognition", flag[2])  # no #N: the recipe default
            if count is not None:
                imp.put("data.self_cognition", count, flag[2])
            continue
        if not (path.startswith(("/", ".", "~")) or _LOCAL_FILE.search(path)):
            imp.warn(flag[2], f"{path} is a hub dataset name, not a local file: "
                     "download it and put its JSONL path in data.datasets")
        imp.datasets.append({"path": path, **({"sample": count} if count not in (None, UNLIMITED) else {})})
        imp.lines["data.datasets"] = flag[2]


def sample(imp: Importer, flag: Flag) -> None:
    imp.sample = (imp.value(flag, int), flag[2])  # applied to the datasets once all are read


def identity(imp: Importer, flag: Flag) -> None:
    """--model_name / --model_author ZH EN: the zh and en forms of identity.name / identity.author."""
    name, values, line = flag
    if not values:
        imp.fail(line, f"--{name} needs a Chinese and an English form")
    if len(values) == 1:
        imp.warn(line, f"--{name} {values[0]}: one value, used for both Chinese and English")
    elif len(values) > 2:
        imp.warn(line, f"--{name}: {len(values)} words; swift 1.x/2.x used only the first two, the recipe "
                 f"takes the rest as the English form {' '.join(values[1:])!r} (quote names with spaces)")
    imp.put(f"identity.{name.removeprefix('model_')}", {"zh": values[0], "en": " ".join(values[1:]) or values[0]}, line)


HANDLERS: dict[str, Callable[[Importer, Flag], None]] = {
    f.__name__: f for f in (model_type, revision, method, dtype, targets, dataset, sample, identity)}
