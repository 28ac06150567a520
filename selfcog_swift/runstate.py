"""A run's record: what has been done (state.json, then the run folder's manifest.json), each stage
timed and its failures reported with the stage's name, and what `--resume` continues from."""

from __future__ import annotations

import json
import os
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from . import checkpoints
from .errors import SelfcogError, StageError
from .recipe import Recipe
from .render import STAGES

Echo = Callable[[str], None]
# Characters of a failing stage's exception shown on the terminal; the traceback goes to a file.
ERROR_CHARS = 300


def banner(echo: Echo, title: str, argv: Optional[list[str]] = None) -> None:
    echo(f"\n=== selfcog-swift: {title} ===")
    if argv is not None:
        echo(" ".join(argv))


def versions() -> dict:
    from .models import package_versions

    return package_versions(("ms-swift", "torch", "transformers", "peft", "selfcog-swift"))



@dataclass
class RunState:
    """What a run has done so far; saved after every stage."""

    path: Path
    data: dict

    @classmethod
    def open(cls, recipe: Recipe, resume: bool) -> "RunState":
        path = Path(recipe.output_dir) / ".selfcog" / "state.json"
        resolved = recipe.model_dump(mode="json")
        if resume and path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("recipe") != resolved:
                raise SelfcogError(f"{path}: --resume with a different recipe than the interrupted run")
            return cls(path, data)
        if resume:
            raise SelfcogError(f"--resume: no interrupted run in {recipe.output_dir} ({path} missing)")
        fresh = {"recipe": resolved, "versions": versions(), "data": None, "before": None, "after": None,
                 "checkpoint": None, "merged": None, "run_dir": None, "stages": [], "runs_before_sft": None}
        return cls(path, fresh)

    def done(self, name: str) -> bool:
        return any(stage["name"] == name for stage in self.data["stages"])

    def record(self, name: str, argv: list[str], seconds: float) -> None:
        self.data["stages"].append({"name": name, "argv": argv, "seconds": round(seconds, 3)})
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.data, ensure_ascii=False, indent=2)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)
        if self.data["run_dir"]:
            (Path(self.data["run_dir"]) / "manifest.json").write_text(text, encoding="utf-8")


@contextmanager
def run_stage(state: RunState, name: str, argv: list[str], echo: Echo):
    """Time a stage, record it, and report swift's failures with the stage's name."""
    from .console import swift_output

    banner(echo, name, ["swift", name, *argv] if name in STAGES else None)
    start = time.perf_counter()
    try:
        with swift_output(echo):
            yield
    except (SelfcogError, KeyboardInterrupt):
        raise
    except Exception as exc:
        log = state.path.parent / f"{name}-error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise StageError(name, f"{type(exc).__name__}: {message[:ERROR_CHARS]} (traceback: {log})") from exc
    state.record(name, argv, time.perf_counter() - start)


def run_dirs(output_dir: str) -> set[str]:
    root = Path(output_dir)
    return {str(p) for p in root.glob("v*-*") if p.is_dir()} if root.is_dir() else set()


def resume_argv(state: RunState, recipe: Recipe) -> list[str]:
    """--resume_from_checkpoint for the newest checkpoint the interrupted sft left, if any."""
    new_runs = sorted(run_dirs(recipe.output_dir) - set(state.data["runs_before_sft"] or []))
    for run_dir in reversed(new_runs):
        # trainer_state.json is written last: a checkpoint without it was cut off mid-save.
        complete = [c for c in checkpoints.list_checkpoints(run_dir) if (c / "trainer_state.json").is_file()]
        if complete:
            return ["--resume_from_checkpoint", str(complete[-1])]
    return []
