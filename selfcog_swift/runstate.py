"""A run's record: what has been done (state.json, then the run folder's manifest.json), each stage
timed and its failures reported with the stage's name, and what `--resume` continues from."""

from __future__ import annotations

import hashlib
import json
import re
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from . import checkpoints
from .atomic import read_json, write_json, write_text
from .errors import SelfcogError, StageError
from .recipe import Recipe
from .render import STAGES, data_path

Echo = Callable[[str], None]
# Characters of a failing stage's exception shown on the terminal; the traceback goes to a file.
ERROR_CHARS = 300
VERSION = re.compile(r"^v(\d+)-")


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
    def open(cls, recipe: Recipe, resume: bool, restart: bool = False) -> "RunState":
        """The interrupted run's state (`resume`), or a fresh one.

        Args:
            recipe: The recipe being run.
            resume: Continue the unfinished run in recipe.output_dir.
            restart: Start over even if an unfinished run is there (its files stay).

        Raises:
            SelfcogError: resume with nothing to resume or another recipe; a fresh run over an
                unfinished one; a truncated or corrupt state.json.
        """
        path = Path(recipe.output_dir) / ".selfcog" / "state.json"
        resolved = recipe.model_dump(mode="json")
        if resume and restart:
            raise SelfcogError("--resume and --restart exclude each other: continue the run, or start over")
        if resume and not path.exists():
            raise SelfcogError(f"--resume: no interrupted run in {recipe.output_dir} ({path} missing)")
        if path.exists() and not restart:
            data = _read_state(path)
            if resume:
                if data.get("recipe") != resolved:
                    raise SelfcogError(f"{path}: --resume with a different recipe than the interrupted run")
                return cls(path, data)
            if not data.get("finished"):
                done = ", ".join(stage.get("name", "?") for stage in data["stages"]) or "none"
                raise SelfcogError(f"{path}: an unfinished run is here (stages done: {done}); continue it with "
                                   "--resume, or start over with --restart")
        fresh = {"recipe": resolved, "versions": versions(), "data": None, "before": None, "after": None,
                 "checkpoint": None, "merged": None, "run_dir": None, "stages": [], "runs_before_sft": None,
                 "sft_attempts": []}
        return cls(path, fresh)

    def done(self, name: str) -> bool:
        return any(stage["name"] == name for stage in self.data["stages"])

    def record(self, name: str, argv: list[str], seconds: float) -> None:
        self.data["stages"].append({"name": name, "argv": argv, "seconds": round(seconds, 3)})
        self.save()

    def save(self) -> None:
        write_json(self.path, self.data)
        if self.data["run_dir"]:
            write_json(Path(self.data["run_dir"]) / "manifest.json", self.data)


def _read_state(path: Path) -> dict:
    data = read_json(path, "run state")
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
        raise SelfcogError(f"{path}: not a run state (no stages list); move it away or start over with --restart")
    return data


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
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise StageError(name, f"{type(exc).__name__}: {message[:ERROR_CHARS]} ({_save_traceback(state, name)})") from exc
    state.record(name, argv, time.perf_counter() - start)


def _save_traceback(state: RunState, name: str) -> str:
    """Where the failing stage's traceback went; never an error of its own that hides the stage's."""
    log = state.path.parent / f"{name}-error.log"
    try:
        write_text(log, traceback.format_exc())  # makes .selfcog/ if no stage has saved yet
    except OSError as exc:
        return f"traceback not saved: {type(exc).__name__}: {exc}"
    return f"traceback: {log}"


def run_dirs(output_dir: str) -> set[str]:
    """The swift run folders (`v<N>-<time>`) in output_dir now."""
    root = Path(output_dir)
    return {str(p) for p in root.glob("v*-*") if p.is_dir()} if root.is_dir() else set()


def begin_sft(state: RunState, output_dir: str) -> set[str]:
    """Note the run folders present before this run's FIRST sft attempt (every later folder is one
    of its attempts); returns those present before this attempt."""
    present = run_dirs(output_dir)
    if state.data.get("runs_before_sft") is None:
        state.data["runs_before_sft"] = sorted(present)
        state.save()
    return present


def attempt_dirs(state: RunState, output_dir: str) -> list[Path]:
    """The run folders this run's sft attempts made, oldest first. Under the output_dir lock no
    other run adds folders, so every folder that was not there before the first attempt is ours."""
    before = set(state.data.get("runs_before_sft") or [])
    return sorted((Path(p) for p in run_dirs(output_dir) - before), key=_version)


def attempt_run_dir(output_dir: str, before_attempt: set[str]) -> Path:
    """The run folder the sft attempt that just ran made (not merely the newest one)."""
    new = sorted((Path(p) for p in run_dirs(output_dir) - before_attempt), key=_version)
    if not new:
        raise SelfcogError(f"{output_dir}: sft made no run folder (v<N>-<time>/)")
    return new[-1]


def _version(path: Path) -> tuple[int, str]:
    match = VERSION.match(path.name)
    return (int(match.group(1)) if match else -1, path.name)


@dataclass(frozen=True)
class Resumable:
    """A complete checkpoint to resume from: its folder, global step and whether training had ended."""

    path: Path
    step: int
    finished: bool


def _complete(checkpoint: Path) -> Optional[dict]:
    """trainer_state.json is written last: a checkpoint without a readable one was cut off mid-save."""
    try:
        data = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("global_step"), int) else None


def newest_checkpoint(state: RunState, output_dir: str) -> Optional[Resumable]:
    """The complete checkpoint with the highest global step among all of this run's sft attempts
    (a later attempt wins a tie); None before any was saved."""
    best: Optional[Resumable] = None
    for run_dir in attempt_dirs(state, output_dir):
        for checkpoint in checkpoints.list_checkpoints(run_dir):
            trainer = _complete(checkpoint)
            if trainer is None or (best and trainer["global_step"] < best.step):
                continue
            max_steps = trainer.get("max_steps") or 0
            best = Resumable(checkpoint, trainer["global_step"], 0 < max_steps <= trainer["global_step"])
    return best


def check_mix(state: RunState, recipe: Recipe, argv: list[str]) -> None:
    """The mix sft is about to read (when `argv` names it) is the one this run's data stage wrote
    (its recorded sha256): the manifest's hash is then of what swift read. Under the lock no other
    run writes it; a `data --out` by hand, or an edit, could."""
    recorded = (state.data.get("data") or {}).get("sha256")
    path = Path(data_path(recipe))
    if not recorded or str(path) not in argv:
        return
    if not path.is_file():
        raise SelfcogError(f"{path}: missing, though this run's data stage wrote it; start over with --restart")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != recorded:
        raise SelfcogError(f"{path}: changed since this run's data stage wrote it (sha256 {digest.hexdigest()[:12]}, "
                           f"recorded {recorded[:12]}); start over with --restart")
