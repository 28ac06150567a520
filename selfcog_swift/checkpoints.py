"""Choose the checkpoint to merge from what a swift sft run left behind.

Pure stdlib on purpose: `selfcog-swift best` must answer in milliseconds, without importing
torch or swift. Evidence, strongest first:

1. the final record sft appends to `<run>/logging.jsonl` (last/best_model_checkpoint, best_metric),
2. the newest `checkpoint-N/trainer_state.json` (a run killed before that final record),
3. the numerically last `checkpoint-N` folder (nothing says whether evaluation ran).

A text log (the tutorial's `[INFO:swift] best_model_checkpoint: ...` lines) is read the same way;
its paths are returned as written, because they may name another machine's disk. The metric a
best checkpoint was chosen by is the one the run's `args.json` names (metric_for_best_model).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterator, Optional, Union

from .errors import SelfcogError

PathLike = Union[str, "os.PathLike[str]"]

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
VERSION_RE = re.compile(r"^v(\d+)-")
# Colour codes and cursor moves that swift's coloured logger and tqdm leave in captured output.
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The quote after the key in JSON (`"best_model_checkpoint": ...`) keeps jsonl text out of this match.
LOG_LINE_RE = re.compile(r"\b(last|best)_model_checkpoint:\s*(\S.*?)\s*$")
SAVING_RE = re.compile(r"Saving model checkpoint to\s+(\S.*?)\s*$")
# Bytes read per step when reading a log backwards; sft's final record usually fits in one.
READ_BLOCK = 1 << 16
# Folder entries an error message lists before "(+N more)".
LISTING_LIMIT = 12


@dataclass(frozen=True)
class CheckpointChoice:
    """The checkpoint to merge and why.

    Attributes:
        path: The checkpoint to merge; never None.
        reason: One human sentence saying why this one.
        source: Where it was read: "result", "logging.jsonl", "trainer_state.json", "log" or
            "directory".
        best: swift's best_model_checkpoint (None when no evaluation ran).
        last: swift's last_model_checkpoint.
        best_metric: The best evaluation metric, when recorded.
        eval_ran: Whether the run evaluated at all.
    """

    path: str
    reason: str
    source: str
    best: Optional[str]
    last: Optional[str]
    best_metric: Optional[float]
    eval_ran: bool

    def to_dict(self) -> dict:
        """Returns the choice as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class _Record:
    """What one piece of evidence says, before checking the disk."""

    source: str
    last: Optional[str]
    best: Optional[str]
    best_metric: Optional[float] = None
    best_step: Optional[int] = None
    eval_ran: bool = False
    note: Optional[str] = None  # why best is missing, when the evidence itself says


def list_checkpoints(run_dir: PathLike) -> list[Path]:
    """Lists a run's `checkpoint-N` folders, oldest first.

    Args:
        run_dir: A swift run folder (`v<N>-YYYYMMDD-HHMMSS`).

    Returns:
        The folders sorted by N as a number (checkpoint-10 after checkpoint-9). Symlinks such as
        `last-checkpoint` and `checkpoint-N-merged` folders are left out; a missing folder gives [].
    """
    root = Path(run_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if CHECKPOINT_RE.match(p.name) and p.is_dir()]
    return sorted(found, key=lambda p: int(CHECKPOINT_RE.match(p.name).group(1)))


def find_run_dir(path: PathLike) -> Path:
    """Finds the newest swift run folder.

    Args:
        path: An sft `output_dir` holding `v<N>-YYYYMMDD-HHMMSS/` folders, or a run folder itself
            (one with logging.jsonl, args.json or checkpoint-* inside, as with `--add_version false`).

    Returns:
        The run folder with the highest version number N (then the last name).

    Raises:
        SelfcogError: The path is not a folder, or holds no run.
    """
    root = Path(path)
    if not root.is_dir():
        raise SelfcogError(f"no such folder: {root}")
    if _is_run_dir(root):
        return root
    runs = [p for p in root.iterdir() if p.is_dir() and VERSION_RE.match(p.name)]
    if not runs:
        raise SelfcogError(f"no swift run (v<N>-<time>/ folder) in {root}: {_listing(root)}")
    return max(runs, key=lambda p: (int(VERSION_RE.match(p.name).group(1)), p.name))


def _is_run_dir(path: Path) -> bool:
    return (path / "logging.jsonl").is_file() or (path / "args.json").is_file() or bool(list_checkpoints(path))


def _listing(path: Path, limit: int = LISTING_LIMIT) -> str:
    """'saw a, b/' for error messages, so the user sees what was there instead."""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
    if not names:
        return "it is empty"
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return "saw " + ", ".join(names[:limit]) + more


def _step(path: Optional[str]) -> Optional[int]:
    match = CHECKPOINT_RE.match(Path(path).name) if path else None
    return int(match.group(1)) if match else None


def _lines_from_end(path: Path, block: int = READ_BLOCK) -> Iterator[str]:
    """Yields a file's lines last first without reading it all: sft's final record is the last line."""
    with open(path, "rb") as f:
        pos = f.seek(0, os.SEEK_END)
        head = b""
        while pos > 0:
            size = min(block, pos)
            pos -= size
            f.seek(pos)
            lines = (f.read(size) + head).split(b"\n")
            head = lines.pop(0)  # may continue in the previous block
            for line in reversed(lines):
                yield line.decode("utf-8", "replace")
        yield head.decode("utf-8", "replace")


def _none(value) -> Optional[str]:
    """Logs print a missing checkpoint as `None`; jsonl stores null."""
    text = None if value is None else str(value).strip()
    return None if text in (None, "", "None", "null") else text


def _eval_ran(log_history) -> bool:
    return any(isinstance(e, dict) and any(k.startswith("eval_") for k in e) for e in log_history or [])


def _record(data: dict, source: str, last: Optional[str] = None) -> _Record:
    """A record from sft's result dict, its final jsonl line, or a trainer_state.json."""
    best = _none(data.get("best_model_checkpoint"))
    history = data.get("log_history")
    metric = data.get("best_metric")
    metric = float(metric) if isinstance(metric, (int, float)) else None
    step = data.get("best_global_step") or _step(best)
    return _Record(source=source, last=last or _none(data.get("last_model_checkpoint")), best=best,
                   best_metric=metric, best_step=step, eval_ran=best is not None or _eval_ran(history))


def _read_jsonl(path: Path) -> Optional[_Record]:
    """The last logging.jsonl line naming a checkpoint; a killed run's half-written line is skipped."""
    for line in _lines_from_end(path):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and ("last_model_checkpoint" in data or "best_model_checkpoint" in data):
            record = _record(data, "logging.jsonl")
            if record.last or record.best:
                return record
    return None


def _read_trainer_state(checkpoints: list[Path]) -> Optional[_Record]:
    """The newest checkpoint whose trainer_state.json parses; a checkpoint without one is half-saved."""
    for checkpoint in reversed(checkpoints):
        state = checkpoint / "trainer_state.json"
        try:
            data = json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return _record(data, "trainer_state.json", last=str(checkpoint))
    return None


def _read_text_log(path: Path) -> Optional[_Record]:
    """The LAST last/best_model_checkpoint lines of a text log (a log may hold several runs)."""
    found: dict[str, Optional[str]] = {}
    # tqdm rewrites its bar with \r: each piece of a line is a line of its own.
    for line in (piece for raw in _lines_from_end(path) for piece in reversed(ANSI_RE.sub("", raw).split("\r"))):
        match = LOG_LINE_RE.search(line)
        if match:
            found.setdefault(match.group(1), _none(match.group(2)))
        saving = SAVING_RE.search(line)
        if set(found) == {"last", "best"} or (saving and found):
            break
        if saving:  # a save after the last summary: the newest run died before printing its own
            return _Record("log", last=_none(saving.group(1)), best=None,
                           note="the log ends before sft's last/best_model_checkpoint lines (run interrupted?)")
    if not (found.get("last") or found.get("best")):
        return None
    return _Record("log", last=found.get("last"), best=found.get("best"), eval_ran=bool(found.get("best")),
                   note=None if "best" in found else "the log has no best_model_checkpoint line")


def _args_json(folder: Optional[Path]) -> dict:
    """The sft arguments swift saved in a run (or checkpoint) folder; {} when there are none."""
    try:
        data = json.loads((folder / "args.json").read_text(encoding="utf-8")) if folder else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe_best(record: _Record, args: dict) -> str:
    """'lowest eval_loss 1.234 at step 40', as much of it as the evidence gives."""
    if record.best_metric is None:
        return f"swift's best_model_checkpoint {Path(record.best).name}"
    at = f" at step {record.best_step}" if record.best_step is not None else ""
    value = f"{record.best_metric:.4g}"
    metric = args.get("metric_for_best_model")
    if not isinstance(metric, str):
        return f"best eval metric {value}{at}"
    name = metric if metric.startswith("eval_") else f"eval_{metric}"  # as transformers logs it
    higher = args.get("greater_is_better")
    higher = "loss" not in metric if higher is None else higher  # swift's default (sft_args.py)
    return f"{'highest' if higher else 'lowest'} {name} {value}{at}"


def _why_no_best(record: _Record, args: dict) -> str:
    if record.note:
        return record.note
    if record.eval_ran:
        return "evaluation ran but swift recorded no best checkpoint (eval and save steps not aligned?)"
    if args.get("eval_strategy") == "no" and not args.get("split_dataset_ratio") and not args.get("val_dataset"):
        return "no evaluation ran (split_dataset_ratio 0 and no val_dataset)"
    return "no evaluation ran (best_model_checkpoint is None)"


def _locate(recorded: Optional[str], run_dir: Optional[Path]) -> Optional[str]:
    """The recorded checkpoint on this disk, or None; as written when there is no run folder (a log file).

    A path recorded elsewhere (another cwd, a run folder since copied) is found in run_dir by name.
    """
    if recorded is None or run_dir is None:
        return recorded
    local = run_dir / Path(recorded).name
    if os.path.exists(recorded) and (not local.exists() or os.path.samefile(recorded, local)):
        return recorded
    return str(local) if local.exists() else None


def _choice(record: _Record, path: str, reason: str) -> CheckpointChoice:
    return CheckpointChoice(path=path, reason=reason, source=record.source, best=record.best,
                            last=record.last, best_metric=record.best_metric, eval_ran=record.eval_ran)


def _decide(record: _Record, run_dir: Optional[Path], args_dir: Optional[Path] = None) -> CheckpointChoice:
    """Best if it is there, else last, else (with a run folder) the newest checkpoint on disk.
    args.json is read from `args_dir`, by default the run folder."""
    args = _args_json(args_dir or run_dir)
    why = _why_no_best(record, args)
    if record.best is not None:
        best = _locate(record.best, run_dir)
        described = _describe_best(record, args)
        if best is not None:
            return _choice(record, best, f"{described} ({record.source})")
        why = f"best checkpoint {Path(record.best).name} ({described}) is gone from disk (save_total_limit?)"
    last = _locate(record.last, run_dir)
    if last is not None:
        return _choice(record, last, f"{why}: taking the last checkpoint {Path(last).name} ({record.source})")
    on_disk = list_checkpoints(run_dir) if run_dir is not None else []
    if on_disk:
        missing = f"recorded last checkpoint {Path(record.last).name} is missing" if record.last else "no last recorded"
        return _choice(record, str(on_disk[-1]), f"{why}; {missing}: taking the newest on disk {on_disk[-1].name}")
    # Readers only return records naming a path, so run_dir is set whenever this point is reached.
    raise SelfcogError(f"no checkpoint in {run_dir}: {record.source} names {record.best or record.last} "
                       f"but {_listing(run_dir)}")


def choose_from_result(result: dict, run_dir: Optional[PathLike] = None) -> CheckpointChoice:
    """Chooses from the dict `sft_main` returns.

    Args:
        result: sft's result (last/best_model_checkpoint, best_metric, log_history, ...).
        run_dir: The run folder, to check the disk; by default the folder holding last (or best).

    Returns:
        The choice, with source "result".

    Raises:
        SelfcogError: The result names no checkpoint and the run folder has none either.
    """
    record = _record(result, "result")
    if run_dir is None:
        parents = [Path(p).parent for p in (record.last, record.best) if p]
        run_dir = next((p for p in parents if p.is_dir()), None)
    run_dir = Path(run_dir) if run_dir is not None else None
    if record.last is None and record.best is None and run_dir is None:
        raise SelfcogError("sft returned no checkpoint (last_model_checkpoint is None): "
                           "was save_strategy 'no', or did training stop before its first save?")
    return _decide(record, run_dir)


def choose_checkpoint(path: PathLike) -> CheckpointChoice:
    """Chooses the checkpoint to merge.

    Args:
        path: An sft output_dir, a run folder, a checkpoint folder (taken as is), a text log of
            `swift sft`, a logging.jsonl or a trainer_state.json.

    Returns:
        The choice; its path is never None.

    Raises:
        SelfcogError: Nothing names or holds a checkpoint; the message lists what was seen.
    """
    target = Path(path)
    if target.is_file():
        return _choose_from_file(target)
    if not target.is_dir():
        raise SelfcogError(f"no such file or folder: {target}")
    if CHECKPOINT_RE.match(target.resolve().name):
        return _choose_given_checkpoint(target)
    return _choose_in_run_dir(find_run_dir(target))


def _choose_in_run_dir(run_dir: Path) -> CheckpointChoice:
    checkpoints = list_checkpoints(run_dir)
    log = run_dir / "logging.jsonl"
    record = (_read_jsonl(log) if log.is_file() else None) or _read_trainer_state(checkpoints)
    if record is not None:
        return _decide(record, run_dir)
    if checkpoints:
        last = str(checkpoints[-1])
        why = f"no record of evaluation found; taking the last checkpoint {checkpoints[-1].name}"
        return _choice(_Record("directory", last=last, best=None), last, why)
    raise SelfcogError(f"no checkpoint in {run_dir}: {_listing(run_dir)}")


def _choose_from_file(path: Path) -> CheckpointChoice:
    if path.name == "trainer_state.json":
        record = _read_trainer_state([path.parent])
    elif path.suffix == ".jsonl":
        record = _read_jsonl(path)
        if record is None and path.name == "logging.jsonl" and _is_run_dir(path.parent):
            return _choose_in_run_dir(path.parent)  # killed run: its checkpoints still tell
    else:
        record = _read_text_log(path)
    if record is None:
        raise SelfcogError(f"no checkpoint in {path}: no last_model_checkpoint/best_model_checkpoint "
                           "or 'Saving model checkpoint' line")
    return _decide(record, None, args_dir=path.parent)  # a run's file sits beside its args.json


def _choose_given_checkpoint(path: Path) -> CheckpointChoice:
    """An explicit checkpoint wins; its trainer_state only fills in what swift thought best then."""
    # A `last-checkpoint` symlink is resolved so the merge lands next to the real folder.
    chosen = path.resolve() if path.is_symlink() else path
    record = replace(_read_trainer_state([chosen]) or _Record("", last=None, best=None), source="directory")
    return _choice(record, str(chosen), f"checkpoint folder {chosen.name} was given: using it as is")
