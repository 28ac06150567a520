"""One run per output_dir: `<output_dir>/.selfcog/lock`, created with O_CREAT|O_EXCL, names its
holder (pid, host, start time). A second run is refused naming the holder; a lock whose holder
died on this host (kill -9, power loss) is taken over with a warning. The lock is removed when the
run ends, however it ends short of SIGKILL: SIGTERM is turned into SystemExit so that it does too."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

from .errors import SelfcogError

LOCK_NAME = "lock"
# A lock with no readable holder is taken over only when older than this: its creator writes the
# holder right after creating it, so a younger one may be a run that is starting.
EMPTY_GRACE_SECONDS = 10.0


def lock_path(output_dir: str) -> Path:
    return Path(output_dir) / ".selfcog" / LOCK_NAME


def _start_ticks(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot (Linux), which tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 of proc(5); the name before ")" may hold spaces


def _me() -> dict:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "ticks": _start_ticks(pid)}


def _alive(holder: dict) -> bool:
    """Whether the holder, on this host, is still running (the same process, not a reused pid)."""
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    ticks = _start_ticks(pid)
    return not (holder.get("ticks") and ticks and ticks != holder["ticks"])


def _describe(holder: dict) -> str:
    if not holder.get("pid"):
        return "the lock names no holder: a run that is starting, or one that died creating it"
    return f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}"


def _read(path: Path) -> Optional[dict]:
    """The holder written in the lock; {} for an empty or damaged one (its writer died mid-write);
    None when there is no lock."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
        return holder if isinstance(holder, dict) else {}
    except json.JSONDecodeError:
        return {}


def _create(path: Path, me: dict) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(me, handle)
    return True


def _take_over(path: Path, me: dict, echo: Callable[[str], None]) -> None:
    """Replace a dead holder's lock. A guard (flock, same host only) makes the check and the
    replacement one step, so two runs that both saw the dead lock cannot both take it. The guard
    file stays: removing it would let two runs flock two different files."""
    with open(path.with_name(LOCK_NAME + ".guard"), "a") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        holder = _read(path)
        if holder is None or _stale(holder, path):
            path.unlink(missing_ok=True)
            if _create(path, me):
                if holder is not None:
                    echo(f"warning: {path}: took over the lock of a run that is gone ({_describe(holder)})")
                return
            holder = _read(path) or {}
    raise SelfcogError(_busy(path, holder))


def _stale(holder: dict, path: Path) -> bool:
    """An old empty or damaged lock, or one whose holder on this host is not running."""
    if not holder.get("pid") or not holder.get("host"):
        try:
            return time.time() - path.stat().st_mtime > EMPTY_GRACE_SECONDS
        except FileNotFoundError:
            return True
    return holder["host"] == socket.gethostname() and not _alive(holder)


def _busy(path: Path, holder: dict) -> str:
    other_host = holder.get("host") not in (None, socket.gethostname())
    hint = (f"; if that run is gone, remove {path}" if other_host else "; wait for it to end, or stop it")
    return f"{path.parent.parent}: another run is using this output_dir ({_describe(holder)}){hint}"


def acquire(output_dir: str, echo: Callable[[str], None] = print) -> dict:
    """Take the output_dir's lock or raise naming its holder.

    Args:
        output_dir: The recipe's output_dir.
        echo: Where the takeover warning goes.

    Returns:
        What the lock now holds (this process).

    Raises:
        SelfcogError: another live process holds it.
    """
    path = lock_path(output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    me = _me()
    if not _create(path, me):
        holder = _read(path)
        if holder is not None and not _stale(holder, path):
            raise SelfcogError(_busy(path, holder))
        _take_over(path, me, echo)
    return me


def release(output_dir: str, me: dict) -> None:
    """Remove the lock if it is still this process's."""
    path = lock_path(output_dir)
    holder = _read(path)
    if holder and holder.get("pid") == me["pid"] and holder.get("ticks") == me["ticks"]:
        path.unlink(missing_ok=True)


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


@contextmanager
def holding(output_dir: str, echo: Callable[[str], None] = print) -> Iterator[dict]:
    """Hold the output_dir's lock for the block; released on return, error, Ctrl-C and SIGTERM."""
    me = acquire(output_dir, echo)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_exit) if main else None
    try:
        yield me
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        release(output_dir, me)
