"""The rows of a dataset file checked as `data` will check them, within a bounded prefix: the
first malformed row as `file:line: why` (preflight.py names the recipe field).

Cheap by design: a dataset is read only as far as its first PREFIX_ROWS rows (or PREFIX_BYTES);
a malformed row further in is found when `data` draws it. No torch, no swift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .rows import RowError, parse_line

# How far into each dataset the row check reads: enough to catch a wrong format or a broken
# export at once, little enough that a 200 MB file costs milliseconds.
PREFIX_ROWS = 1000
PREFIX_BYTES = 16 << 20
# A `.json` list is parsed whole (JSON cannot be read in part); above this size only `data` reads it.
JSON_WHOLE_BYTES = 64 << 20
DATA_SUFFIXES = (".jsonl", ".json")
CONVERTIBLE = {".csv": "read_csv", ".tsv": "read_table", ".parquet": "read_parquet"}  # suffix: pandas reader


class RowCheck:
    """What `data` refuses in a row (data.py's own checks): a row in no known format, and, after
    identity rows are filled, a leftover placeholder; identity rows of a language that never say
    the name or author."""

    def __init__(self, identity=None):
        self.identity, self.drawn, self.named = identity, set(), set()

    def __call__(self, row) -> None:
        from .data import _NAMED_PLACEHOLDER, _PLACEHOLDER, _row_lang, filled

        messages = filled(row, self.identity is not None, self.identity)
        for message in messages:
            leftover = (_NAMED_PLACEHOLDER if self.identity is None else _PLACEHOLDER).search(message["content"])
            if leftover:
                raise RowError(f"leftover placeholder {leftover.group(0)!r} would be learned literally")
        if self.identity is not None:
            lang = _row_lang(row, messages)
            self.drawn.add(lang)
            text = "".join(m["content"] for m in messages)
            if getattr(self.identity.name, lang) in text or getattr(self.identity.author, lang) in text:
                self.named.add(lang)

    def unnamed(self, path: Path) -> Optional[str]:
        for lang in sorted(self.drawn - self.named):
            return (f"{path}: no {lang} identity row says {getattr(self.identity.name, lang)!r} or "
                    f"{getattr(self.identity.author, lang)!r}; write {{{{NAME}}}} and {{{{AUTHOR}}}} where the "
                    "rows name the model and its maker")
        return None


def rows_problem(path: Path, check: RowCheck) -> Optional[str]:
    """The first malformed row among the first PREFIX_ROWS, as `file:line: why`; None when they parse."""
    if path.suffix.lower() in CONVERTIBLE:  # swift reads these itself, but the mix reads JSON rows only
        jsonl = path.with_suffix(".jsonl")
        return (f"{path}: unsupported file type {path.suffix}; convert it to JSONL, e.g. python -c \"import pandas as "
                f"pd; pd.{CONVERTIBLE[path.suffix.lower()]}('{path}').to_json('{jsonl}', orient='records', "
                f"lines=True, force_ascii=False)\" and name {jsonl.name}")
    if path.suffix.lower() not in DATA_SUFFIXES:
        return f"{path}: unsupported file type {path.suffix or '(none)'}; use .jsonl or .json"
    try:
        with path.open("rb") as handle:
            head = handle.read(PREFIX_BYTES)
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    if path.suffix.lower() == ".json" and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        return _json_list_problem(path, check)
    lines = head.split(b"\n")
    if len(head) == PREFIX_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the byte bound
    rows = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            check(parse_line(line))
        except RowError as exc:
            return _wrapped(path, head) or f"{path}:{number}: {exc}"
        rows += 1
        if rows == PREFIX_ROWS:
            break
    return check.unnamed(path) if rows else f"{path}: empty dataset"


def _wrapped(path: Path, head: bytes) -> Optional[str]:
    """A `.json` file that is one object (rows under a key, or one row written over many lines)."""
    if path.suffix.lower() != ".json" or len(head) == PREFIX_BYTES:
        return None
    try:
        whole = json.loads(head.decode("utf-8-sig"))
    except ValueError:
        return None
    if not isinstance(whole, dict):
        return None
    lists = [key for key, value in whole.items() if isinstance(value, list)]
    return (f"{path}: one JSON object (keys: {', '.join(map(str, whole))}), not rows; a .json dataset is a list "
            f"of rows [{{...}}, ...] or one row per line" + (f": take the list under {lists[0]!r} out" if lists else ""))


def _json_list_problem(path: Path, check: RowCheck) -> Optional[str]:
    if path.stat().st_size > JSON_WHOLE_BYTES:
        return None
    try:
        rows = json.loads(path.read_bytes())
    except ValueError as exc:
        where = f"{path}:{exc.lineno}" if hasattr(exc, "lineno") else str(path)
        return f"{where}: malformed JSON: {getattr(exc, 'msg', exc)}"
    if not rows:
        return f"{path}: empty dataset"
    for index, row in enumerate(rows[:PREFIX_ROWS]):
        try:
            check(row)
        except RowError as exc:
            return f"{path}: row {index + 1}: {exc}"
    return check.unnamed(path)
