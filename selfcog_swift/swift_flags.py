"""swift 4.6's flag table (swift_flags.json): the flags each stage accepts, and the chat templates
with a hybrid thinking mode.

Generated from swift's dataclasses and template registry (tests/test_render.py keeps it in sync)
because `import swift.arguments` takes seconds and render must stay fast.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from .errors import SelfcogError

FLAGS_FILE = Path(__file__).resolve().parent / "swift_flags.json"
STAGES = ("sft", "export", "infer")


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads(FLAGS_FILE.read_text(encoding="utf-8"))


def known_flags() -> dict[str, frozenset[str]]:
    """swift 4.6's flag names, per stage."""
    return {stage: frozenset(_table()[stage]) for stage in STAGES}


def hybrid_thinking_templates() -> frozenset[str]:
    """Templates (Qwen3's) that think unless told not to."""
    return frozenset(_table()["hybrid_thinking_templates"])


def check_flags(stage: str, flags: Iterable[str], origin: str) -> None:
    """Stop on a flag swift `stage` rejects, naming each with the closest known one.

    Raises:
        SelfcogError: `origin: swift STAGE rejects: flag (did you mean …?), …`.
    """
    known = known_flags()[stage]
    rejected = [f for f in flags if f not in known]
    if not rejected:
        return
    hints = []
    for flag in rejected:
        close = difflib.get_close_matches(flag, known, n=1)
        hints.append(f"{flag} (did you mean {close[0]}?)" if close else flag)
    raise SelfcogError(f"{origin}: swift {stage} rejects: {', '.join(hints)}")
