"""`swift export` / `swift infer` lines: checked, never kept (the recipe derives these stages)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .flags import flag_map
from .values import Flag

if TYPE_CHECKING:
    from .importer import Importer

CHECKPOINT_FLAGS = ("ckpt_dir", "adapters")  # 1.x/2.x and 4.6 spellings


def check_stage(imp: Importer, stage: str, flags: list[Flag], line: int) -> None:
    """Refuse unknown flags, warn about the ones not carried over, and say what the recipe does instead."""
    fm = flag_map()
    known = fm.swift46[stage] | fm.legacy_stage | fm.quiet
    for flag in flags:
        if flag[0] not in known:
            imp.unknown(flag, stage, known)
        if flag[0] not in fm.quiet:
            imp.warn(flag[2], f"--{flag[0]} (swift {stage}) is not carried over: the recipe derives this "
                     f"stage; add it under swift_args.{stage} if swift 4.6 needs it")
    ckpt = [" ".join(v) for n, v, _ in flags if n in CHECKPOINT_FLAGS]
    if ckpt or stage == "export":
        imp.warn(line, f"swift {stage} {ckpt[0] if ckpt else ''}: the run chooses the checkpoint at run time "
                 "(evaluate.checkpoint_choice), merges it and serves it; this path is not kept")
    else:
        imp.warn(line, "swift infer on the base model: `run` asks evaluate.questions before and after training")
