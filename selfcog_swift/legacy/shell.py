"""Reading a shell script as bash reads it: quotes, `\\` continuations, comments, `VAR=value`, env
prefixes, `$var` expansion, `;`/`&&`, redirects. Every word keeps its line number for messages."""

from __future__ import annotations

import re
from typing import Iterator, NoReturn, Protocol

_TOKEN = re.compile(r"""
    (?P<nl>\n) | (?P<sep>[;&|()]) | (?P<cont>\\\r?\n) | (?P<ws>[ \t\r]+) | (?P<comment>\#[^\n]*)
  | (?P<redir>\d*[<>]+(?:&(?:\d+|-)?)?) | (?P<subst>\$\(|`)
  | (?P<word>(?:[^\s'"\\;&|()<>`]|\\\r?\n(?=[^\s-])|\\[^\r\n]|'[^']*'|"(?:[^"\\]|\\[\s\S])*")+)
  | (?P<bad>[\s\S])""", re.X)
# `${name}`, `$name` or `$1`; a group 3 match is any other `${…}` form, which we refuse.
_VAR = r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*|\d)|(\$\{)"
_PIECE = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\[\s\S])*)"|\\\r?\n|\\([\s\S])|""" + _VAR + r"|([\s\S])")
_DQUOTE = re.compile(r"""\\([$`"\\])|\\\r?\n|""" + _VAR + r"|([\s\S])")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
_PREFIX_COMMANDS = ("nohup", "time", "exec")  # run the command after them: look through them


class Reporter(Protocol):
    """Where the reader sends its notes (the importer: `<source>:<line>: …`)."""

    def warn(self, line: int, msg: str) -> None: ...

    def fail(self, line: int, msg: str) -> NoReturn: ...


def lex(text: str, notes: Reporter) -> list[list[tuple[str, int]]]:
    """Split a script into commands of raw words (quotes still in), each with its line number."""
    cmds, cmd, line, skip, word_end = [], [], 1, False, -1
    for m in _TOKEN.finditer(text):
        kind, token = m.lastgroup, m.group()
        if kind == "word":
            if not skip:
                cmd.append((token, line))
            skip, word_end = False, m.end()
        elif kind in ("nl", "sep"):
            cmds += [cmd] if cmd else []
            cmd, skip = [], False
        elif kind == "redir":
            skip = not re.search(r"&(\d+|-)$", token)  # `> log` drops its target; `2>&1` has none
        elif kind == "cont" and word_end == m.start():
            notes.warn(line, "`\\` right after a word glues it to the next line's flag in bash; "
                       "read as two arguments (put a space before the `\\`)")
        elif kind == "subst":
            notes.fail(line, "command substitution ($(…) or `…`) is not supported")
        elif kind == "bad":
            notes.fail(line, f"unbalanced {token} quote" if token in "'\"" else f"unexpected {token!r}")
        line += token.count("\n")
    return cmds + [cmd] if cmd else cmds


def words(raw: str, line: int, variables: dict, notes: Reporter) -> list[str]:
    """Remove quotes and expand `$var` in one raw word; unquoted values split on whitespace, as in bash."""

    def lookup(token: str) -> str:
        m = re.fullmatch(_VAR, token)
        if m.group(3):
            notes.fail(line, "only ${name} expansions are supported")
        name = m.group(1) or m.group(2)
        if name not in variables:
            notes.warn(line, f"${name} is not set earlier in the script; kept as text")
        return variables.get(name, "${" + name + "}")

    def in_double(d) -> str:
        if d.group(2) or d.group(3) or d.group(4):
            return lookup(d.group())
        return d.group(1) or d.group(5) or ""  # "" for `\` + newline

    fields, cur, solid = [], "", False
    for m in _PIECE.finditer(raw):
        if m.group(4) or m.group(5) or m.group(6):
            for k, piece in enumerate(lookup(m.group()).split()):
                fields, cur = (fields + [cur], piece) if k else (fields, cur + piece)
            continue
        double = _DQUOTE.sub(in_double, m.group(2)) if m.group(2) is not None else None
        cur += next((p for p in (m.group(1), double, m.group(3), m.group(7)) if p is not None), "")
        solid = True  # a quoted empty string is still a word
    return fields + [cur] if cur or solid else fields


def commands(text: str, notes: Reporter) -> Iterator[tuple[str, dict, list[tuple[str, int]], int]]:
    """Yield (subcommand, env, [(arg, line)], line) for each `swift …` command, tracking variables."""
    variables, exported = {}, {}
    for raw_words in lex(text, notes):
        argv = [(w, line) for raw, line in raw_words for w in words(raw, line, variables, notes)]
        env = {}
        while argv and _ASSIGN.fullmatch(argv[0][0]):
            key, value = _ASSIGN.fullmatch(argv.pop(0)[0]).groups()
            env[key] = value
        while argv and argv[0][0] in _PREFIX_COMMANDS:
            argv.pop(0)
        if not argv:  # `VAR=value` alone sets a shell variable
            variables.update(env)
        elif argv[0][0] == "export":
            for word, _ in argv[1:]:
                key, eq, value = word.partition("=")
                variables[key] = exported[key] = value if eq else variables.get(key, "")
        elif argv[0][0] == "swift" and len(argv) > 1:
            yield argv[1][0], {**exported, **env}, argv[2:], raw_words[0][1]
        else:
            notes.warn(raw_words[0][1], f"`{argv[0][0]}` is not a swift sft/export/infer command; ignored")
