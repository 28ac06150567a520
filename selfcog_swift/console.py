"""The terminal during a run: our banners, progress bars, warnings and summary on screen; swift's
own output (INFO lines, model reprs, argument dumps, its progress bars) in a log file, or streamed
as it comes with -v/--verbose.

The redirection is at the file-descriptor level, so output of C extensions and of torchrun's
child processes lands in the log too.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

# Lines of swift's log shown after a stage: warnings and errors, at most this many distinct ones.
SHOWN_WARNINGS = 3
# Characters of each such line shown (swift's warnings can carry a whole argument dump).
WARNING_CHARS = 200
WARNING_LINE = re.compile(r"\b(WARNING|ERROR|Warning|Error)\b")
# swift warns that it loads with trust_remote_code=True on every load; our policy turns it off where
# transformers decides (inference.allow_remote_code), so the warning only misleads.
IGNORED_WARNINGS = ("with trust_remote_code=True",)
POLL_SECONDS = 1.0

Progress = Callable[[int], None]


class Console:
    """Where a run's text goes. Quiet (the default) sends swift's output to `log_path`."""

    def __init__(self, log_path: Optional[Path] = None, verbose: bool = False):
        self.log_path = log_path
        self.quiet = bool(log_path) and not verbose
        if self.quiet:
            sys.stdout.flush()
            sys.stderr.flush()
            self._out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
            self._err = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
        else:
            self._out, self._err = sys.stdout, sys.stderr
        self._log_offset = 0

    def echo(self, text: str = "") -> None:
        print(text, file=self._out, flush=True)

    def __call__(self, text: str = "") -> None:
        self.echo(text)

    @contextmanager
    def swift_output(self) -> Iterator[None]:
        """Inside: file descriptors 1 and 2 write to the log (quiet), or to the terminal (verbose)."""
        if not self.quiet:
            yield
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        with open(self.log_path, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
        self._show_warnings()

    def _show_warnings(self) -> None:
        """Warnings and errors swift logged since the last look, a few of them, with a pointer."""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            text = log.read().decode("utf-8", errors="replace")
            self._log_offset = log.tell()
        found = list(dict.fromkeys(line.strip()[:WARNING_CHARS] for line in re.split(r"[\r\n]", text)
                                   if WARNING_LINE.search(line) and not any(i in line for i in IGNORED_WARNINGS)))
        for line in found[:SHOWN_WARNINGS]:
            self.echo(f"  swift: {line}")
        if len(found) > SHOWN_WARNINGS:
            self.echo(f"  … {len(found) - SHOWN_WARNINGS} more warnings in {self.log_path}")

    def move_log(self, folder: Path) -> None:
        """Keep the log in `folder/logs/swift.log` from now on (the run folder, once swift made it)."""
        if not self.log_path:
            return
        target = Path(folder) / "logs" / "swift.log"
        if target == self.log_path:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.log_path.is_file():
            with open(target, "ab") as out, open(self.log_path, "rb") as old:
                shutil.copyfileobj(old, out)
            self.log_path.unlink()
            self._log_offset = target.stat().st_size
        self.log_path = target

    def bar(self, total: int, desc: str):
        """A progress bar with counts and ETA on the terminal (never in the log)."""
        from tqdm import tqdm

        # position=0: swift's own bars (drawn into the log) would otherwise push ours down a line.
        return tqdm(total=total, desc=desc, file=self._err, dynamic_ncols=True, leave=True, mininterval=0.5,
                    position=0)

    @contextmanager
    def step(self, total: int, desc: str) -> Iterator[Progress]:
        bar = self.bar(total, desc)
        try:
            yield bar.update
        finally:
            bar.close()


@contextmanager
def step(echo, total: int, desc: str) -> Iterator[Progress]:
    """A progress callback: a bar when `echo` is a Console, else nothing."""
    if isinstance(echo, Console) and total:
        with echo.step(total, desc) as tick:
            yield tick
    else:
        yield lambda n: None


@contextmanager
def swift_output(echo) -> Iterator[None]:
    """swift's output into the log when `echo` is a quiet Console."""
    if isinstance(echo, Console):
        with echo.swift_output():
            yield
    else:
        yield


def read_new_lines(path: Path, offset: int) -> tuple[list[str], int]:
    """The whole lines written to `path` since byte `offset`, and the offset just past the last of
    them: a last line still being written is left for the next call. A file now shorter than
    `offset` (rewritten) is read from its start.

    Returns:
        (the new whole lines, without their newlines; the offset to pass next time).
    """
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size < offset:
            offset = 0
        handle.seek(offset)
        chunk = handle.read()
    end = chunk.rfind(b"\n") + 1
    return chunk[:end].decode("utf-8", errors="replace").splitlines(), offset + end


def _step_of(line: str) -> Optional[tuple[int, int]]:
    """(global step, max steps) of one logging.jsonl record; None for other records."""
    match = re.search(r'"global_step/max_steps": "(\d+)/(\d+)"', line)
    return (int(match[1]), int(match[2])) if match else None


@contextmanager
def training_bar(console: Console, output_dir: str, earlier: set[str]) -> Iterator[None]:
    """A bar fed by swift's logging.jsonl ("global_step/max_steps") while sft runs; each poll reads
    only what swift appended since the last."""
    if not isinstance(console, Console):
        yield
        return
    stop = threading.Event()

    def follow():
        bar, seen, log, offset = None, 0, None, 0
        while True:
            if log is None:  # the run folder sft makes (not one of an earlier run)
                runs = sorted(str(p) for p in Path(output_dir).glob("v*-*") if str(p) not in earlier)
                log = Path(runs[-1]) / "logging.jsonl" if runs else None
            if log is not None and log.is_file():
                lines, offset = read_new_lines(log, offset)
                for step, total in filter(None, map(_step_of, lines)):
                    if bar is None:
                        bar = console.bar(total, "sft: steps")
                    if step > seen:
                        bar.update(step - seen)
                        seen = step
            if stop.is_set():
                break
            stop.wait(POLL_SECONDS)
        if bar is not None:
            bar.close()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
