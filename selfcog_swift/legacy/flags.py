"""The legacy flag map: `resources/legacy_flags.yaml` (what each table means is written there), read once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from .. import RESOURCES
from ..swift_flags import known_flags

FLAG_MAP_FILE = RESOURCES / "legacy_flags.yaml"
TYPES = {"int": int, "float": float, "bool": bool, "str": str}


@dataclass(frozen=True)
class FlagMap:
    hub_ids: dict[str, str]
    fields: dict[str, tuple[str, type]]
    special: dict[str, str]
    dropped: dict[str, str]
    renamed: dict[str, str]
    v3_flags: frozenset[str]
    quiet: frozenset[str]
    legacy_stage: frozenset[str]
    env: dict[str, tuple[str, type]]
    dtypes: dict[str, str]
    swift46: dict[str, frozenset[str]]  # stage -> swift 4.6's flag names (swift_flags.json)


def _typed(table: dict) -> dict[str, tuple[str, type]]:
    """{name: [field, "int"]} -> {name: (field, int)}; an unknown type name is a bug in the data file."""
    return {name: (path, TYPES[kind]) for name, (path, kind) in table.items()}


@lru_cache(maxsize=1)
def flag_map() -> FlagMap:
    data = yaml.safe_load(FLAG_MAP_FILE.read_text(encoding="utf-8"))
    return FlagMap(
        hub_ids=data["hub_ids"], fields=_typed(data["fields"]), special=data["special"],
        dropped=data["dropped"], renamed=data["renamed"], v3_flags=frozenset(data["v3_flags"]),
        quiet=frozenset(data["quiet"]), legacy_stage=frozenset(data["legacy_stage"]),
        env=_typed(data["env"]), dtypes=data["dtypes"],
        swift46=known_flags())
