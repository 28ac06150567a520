"""Files a reader may see while they are written: each is written whole under a unique temporary
name in its own folder, flushed to disk, then renamed over the target (a rename within one file
system is atomic), so a reader sees the old file or the new one, never a part. Two writers never
share a temporary name."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Union

from .errors import SelfcogError

PathLike = Union[str, "os.PathLike[str]"]


@contextmanager
def writing(path: PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a unique temporary file next to `path`; on a clean exit it replaces `path`.

    Args:
        path: The file to (re)place. Its folder is created if missing.
        mode: "w" (text, UTF-8) or "wb".

    Yields:
        The open temporary file. On an exception it is removed and `path` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _keep_mode(tmp, target)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _keep_mode(tmp: str, target: Path) -> None:
    """mkstemp makes 0600 files; give the new file the old file's mode, or the umask's default."""
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


def write_text(path: PathLike, text: str) -> None:
    """Replace `path` with `text` (UTF-8), atomically.

    Args:
        path: The file to write.
        text: Its whole content.
    """
    with writing(path) as handle:
        handle.write(text)


def write_json(path: PathLike, obj) -> None:
    """Replace `path` with `obj` as indented UTF-8 JSON, atomically.

    Args:
        path: The file to write.
        obj: Anything json.dumps accepts.
    """
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def read_json(path: PathLike, what: str = "file"):
    """Read a JSON file we wrote; a missing, truncated or corrupt one is one SelfcogError line.

    Args:
        path: The file.
        what: What it is, for the message ("run state", "manifest").

    Returns:
        The parsed JSON value.

    Raises:
        SelfcogError: the file is missing, unreadable or not valid JSON.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SelfcogError(f"{path}: {what} missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SelfcogError(f"{path}: {what} unreadable ({type(exc).__name__}: {exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # A file cut off mid-write stops before its closing bracket; anything else is corrupt.
        state = "truncated" if exc.pos >= len(text.rstrip()) or not text.rstrip().endswith(("}", "]")) else "corrupt"
        raise SelfcogError(f"{path}: {what} is {state} (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                           f"move it away or restore it") from None


# A folder (a merged model) is written under a temporary sibling name and renamed when complete.
_PARTIAL = ".{name}.partial-{pid}-"


def partial_dir(target: PathLike) -> Path:
    """A fresh, not yet existing sibling name for writing the folder `target` (some writers, like
    swift export, refuse a folder that exists). It names this process, for clear_partials."""
    target = Path(target)
    return target.with_name(_PARTIAL.format(name=target.name, pid=os.getpid()) + os.urandom(4).hex())


def clear_partials(target: PathLike) -> list[Path]:
    """Remove what writers of `target` that are no longer running left half-written.

    Args:
        target: The folder whose partial copies (partial_dir) are looked for.

    Returns:
        The folders removed.
    """
    target = Path(target)
    removed = []
    for leftover in target.parent.glob(_PARTIAL.format(name=target.name, pid="*") + "*"):
        pid = leftover.name[len(f".{target.name}.partial-"):].split("-")[0]
        if pid.isdigit() and _running(int(pid)) and int(pid) != os.getpid():
            continue
        shutil.rmtree(leftover, ignore_errors=True)
        removed.append(leftover)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
