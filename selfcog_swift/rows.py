"""Read any row format swift reads: one row as `{"role", "content"}` messages, and a dataset file's
rows, fetched by index or streamed.

No torch, no swift. A JSONL file is counted once, recording each row's byte offset in an
`array('q')` (8 bytes a row); a row is read by seeking to it, so memory stays bounded whatever the
file size. A `.json` file holding a list is loaded whole (JSON cannot be streamed without a parser
we do not ship). Blank lines are skipped everywhere.
"""

from __future__ import annotations

import json
from array import array
from pathlib import Path
from typing import Iterator, Union

from . import RESOURCES
from .errors import SelfcogError
from .recipe import BUILTIN_PREFIX

FORMATS = "messages, conversations, query/response, instruction/input/output, prompt/completion, question/answer"
_PAIRS = (("query", "response"), ("instruction", "output"), ("prompt", "completion"), ("question", "answer"))
_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant", "bot": "assistant",
          "system": "system", "tool": "tool", "tool_call": "tool_call", "tool_response": "tool_response",
          "function_call": "tool_call", "observation": "tool_response"}
# A `.json` file is a list when its first non-blank byte, within this many, is "[".
JSON_HEAD_BYTES = 4096
# Bytes read at a time when counting the lines before a bad row (only when an error names it).
LINE_COUNT_CHUNK = 1 << 20


class RowError(SelfcogError):
    """A problem with one row; callers that know its file:line prefix them."""


def _turn(item, index: int, key: str) -> dict:
    if not isinstance(item, dict):
        raise RowError(f"{key}[{index}] must be an object")
    role = item.get("role", item.get("from"))
    content = item.get("content", item.get("value"))
    if role not in _ROLES:
        raise RowError(f"{key}[{index}]: unknown role {role!r}")
    if not isinstance(content, str):
        raise RowError(f"{key}[{index}]: content must be a string")
    return {"role": _ROLES[role], "content": content}


def _pair_turns(row: dict, query_key: str, response_key: str) -> list[dict]:
    query = row[query_key]
    if query_key == "instruction" and row.get("input"):  # alpaca: swift joins instruction and input
        query = f"{query}\n{row['input']}"
    history = row.get("history") or []
    if not isinstance(history, list):
        raise RowError("history must be a list of [query, response] pairs")
    turns = []
    for index, pair in enumerate(history):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise RowError(f"history[{index}] must be a [query, response] pair")
        turns += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    turns += [{"role": "user", "content": query}, {"role": "assistant", "content": row[response_key]}]
    if not all(isinstance(turn["content"], str) for turn in turns):
        raise RowError(f"{query_key}/{response_key}/history must be strings")
    return turns


def normalise(row) -> list[dict]:
    """One parsed row in any format swift reads, as `{"role", "content"}` messages.

    A top-level `system` field becomes a leading system message; other per-message keys are dropped.

    Raises:
        SelfcogError: the row is in no known format or is malformed (callers add file:line).
    """
    if not isinstance(row, dict):
        raise RowError(f"expected a JSON object, got {type(row).__name__}")
    key = next((k for k in ("messages", "conversations") if k in row), None)
    pair = next(((q, r) for q, r in _PAIRS if q in row and r in row), None)
    if key:
        if not isinstance(row[key], list) or not row[key]:
            raise RowError(f"{key} must be a non-empty list")
        turns = [_turn(item, index, key) for index, item in enumerate(row[key])]
    elif pair:
        turns = _pair_turns(row, *pair)
    else:
        raise RowError(f"unknown row format (keys: {', '.join(map(str, row))}); expected one of {FORMATS}")
    system = row.get("system")
    if isinstance(system, str) and system and all(turn["role"] != "system" for turn in turns):
        turns.insert(0, {"role": "system", "content": system})
    if all(turn["role"] != "assistant" for turn in turns):
        raise RowError("no assistant turn to learn from")
    return turns


def parse_line(line: bytes):
    """One JSONL line parsed; a row error when it is not JSON."""
    try:
        return json.loads(line)
    except ValueError as exc:  # JSONDecodeError, or undecodable bytes
        raise RowError(f"malformed JSON: {getattr(exc, 'msg', exc)}") from None


def resolve_path(path: Union[str, Path]) -> Path:
    """A dataset path; `builtin:NAME` is resources/NAME.jsonl, wherever the package is installed."""
    text = str(path)
    if text.startswith(BUILTIN_PREFIX):
        return RESOURCES / f"{text[len(BUILTIN_PREFIX):]}.jsonl"
    return Path(text).expanduser()


def _is_json_list(path: Path) -> bool:
    """A `.json` file holding a list; a `.json` file of one object per line is read as JSONL."""
    if path.suffix.lower() != ".json":
        return False
    with path.open("rb") as handle:
        head = handle.read(JSON_HEAD_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def _checked(path: Path) -> Path:
    if not path.is_file():
        raise SelfcogError(f"{path}: file not found")
    if path.suffix.lower() not in (".jsonl", ".json"):
        raise SelfcogError(f"{path}: unsupported file type {path.suffix or '(none)'}; use .jsonl or .json")
    return path


def _load_json_list(path: Path) -> list:
    try:
        rows = json.loads(path.read_bytes())
    except ValueError as exc:
        where = f"{path}:{exc.lineno}" if hasattr(exc, "lineno") else str(path)
        raise SelfcogError(f"{where}: malformed JSON: {getattr(exc, 'msg', exc)}") from None
    if not isinstance(rows, list):
        raise SelfcogError(f"{path}: a .json dataset must hold a list of rows")
    return rows


class RowFile:
    """One dataset file, counted once; rows are fetched by index (seek for JSONL, list for JSON).

    Raises:
        SelfcogError: missing file, unsupported type, malformed JSON list, or no rows.
    """

    def __init__(self, path: Path):
        self.path = _checked(path)
        self.rows, self.offsets, self._handle = None, array("q"), None
        if _is_json_list(self.path):
            self.rows = _load_json_list(self.path)
        else:
            self._count()
        if not len(self):
            raise SelfcogError(f"{self.path}: empty dataset")

    def _count(self) -> None:
        position = 0
        with self.path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    self.offsets.append(position)
                position += len(line)

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else len(self.offsets)

    def raw(self, index: int):
        """Row `index` as parsed JSON, not yet normalised."""
        if self.rows is not None:
            return self.rows[index]
        if self._handle is None:
            self._handle = self.path.open("rb")
        self._handle.seek(self.offsets[index])
        return parse_line(self._handle.readline())

    def messages(self, index: int) -> list[dict]:
        """Row `index` normalised; an error names `path:LINE`."""
        try:
            return normalise(self.raw(index))
        except RowError as exc:
            raise SelfcogError(f"{self.where(index)}: {exc}") from None

    def where(self, index: int) -> str:
        """`path:LINE` of a row; the line is counted only when an error needs it."""
        if self.rows is not None:
            return f"{self.path}: row {index + 1}"
        newlines, left = 0, self.offsets[index]
        with self.path.open("rb") as handle:
            while left > 0:
                chunk = handle.read(min(left, LINE_COUNT_CHUNK)) or b"?"  # never spin if the file shrank
                newlines, left = newlines + chunk.count(b"\n"), left - len(chunk)
        return f"{self.path}:{newlines + 1}"

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def read_rows(path: Union[str, Path]) -> Iterator[dict]:
    """Every row of a dataset as `{"messages": [...]}`, in file order, parsed as it is read.

    Raises:
        SelfcogError: missing file, malformed JSON or unknown format (with `path:LINE`), or no rows;
            the file is checked and counted now, not at the first next().
    """
    return _each(RowFile(resolve_path(path)))


def _each(rows: RowFile) -> Iterator[dict]:
    try:
        for index in range(len(rows)):
            yield {"messages": rows.messages(index)}
    finally:
        rows.close()
