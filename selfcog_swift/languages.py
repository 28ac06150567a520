"""The languages an identity can be written in: which ones ship built-in identity rows, replay
prompts and held-out probes, and each one's negation cues and leak terms.

zh and en live in the top-level resources (identity.jsonl, replay_prompts.jsonl, probes/*.jsonl);
every other built-in language has resources/languages/<code>/ (identity.jsonl,
replay_prompts.jsonl, negation.yaml, leak_terms.txt) and resources/probes/<code>/<suite>.jsonl,
written by tools/make_resources.py. A language is a BCP 47 code (`ja`, `pt-BR`); a language we do
not ship works with the user's own rows (data.identity_file) and probes (evaluate.probes).

Negation (scoring.mentions): a mention of a name is negated when a cue of the answer's language, or
of zh or en (models fall back to them), stands close to it in the same clause: before it (French
"pas ChatGPT"), or after it for languages that negate after the noun (Japanese "ChatGPTではありません").
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from . import RESOURCES
from .errors import SelfcogError

# The languages of the top-level resources; their cues apply to answers in every language.
BASE = ("zh", "en")
LANGUAGES_DIR = RESOURCES / "languages"
PROBES_DIR = RESOURCES / "probes"
# BCP 47 as people write it: a 2-3 letter language, then subtags (script, region, variant).
CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
# A clause ends at these in every language (ASCII and CJK full-width); a language adds its own.
CLAUSE_END = ".!?;:,，。！？；：\n"
# A cue "*x" in a word-unit language matches any word ending in x (English "*n't": wasn't, isn't).
SUFFIX = "*"


@dataclass(frozen=True)
class Cues:
    """One language's negation cues (resources/languages/<code>/negation.yaml)."""

    unit: str  # "word": window counts words; "char": characters (no spaces between words)
    window: int
    before: tuple
    after: tuple
    clause_marks: str


def is_code(value: str) -> bool:
    """Whether a string is a language code this package accepts (BCP 47 shape)."""
    return bool(CODE.fullmatch(value or ""))


@lru_cache(maxsize=None)
def builtin() -> tuple[str, ...]:
    """Languages with built-in identity rows, replay prompts and probes: zh, en, then the others."""
    others = sorted(p.name for p in LANGUAGES_DIR.iterdir() if (p / "identity.jsonl").is_file()) \
        if LANGUAGES_DIR.is_dir() else []
    return (*BASE, *(code for code in others if code not in BASE))


def identity_file(lang: str) -> Optional[Path]:
    """The built-in identity rows of a language (zh and en share resources/identity.jsonl; its rows
    carry their `lang`), or None when none ship."""
    if lang in BASE:
        return RESOURCES / "identity.jsonl"
    path = LANGUAGES_DIR / lang / "identity.jsonl"
    return path if path.is_file() else None


def replay_file(lang: str) -> Optional[Path]:
    """The built-in replay prompts of a language (zh and en share resources/replay_prompts.jsonl)."""
    if lang in BASE:
        return RESOURCES / "replay_prompts.jsonl"
    path = LANGUAGES_DIR / lang / "replay_prompts.jsonl"
    return path if path.is_file() else None


def probe_files(lang: str, suites) -> list[Path]:
    """The built-in probe files that hold a language's probes, one per suite (zh and en share the
    top-level ones); empty when none ship."""
    folder = PROBES_DIR if lang in BASE else PROBES_DIR / lang
    files = [folder / f"{suite}.jsonl" for suite in suites]
    return files if all(f.is_file() for f in files) else []


def builtin_rows(path: Path, langs) -> list[dict]:
    """The rows of a built-in JSONL file whose `lang` is one of `langs`, in file order."""
    wanted = set(langs)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if row.get("lang") in wanted]


def builtin_identity(langs, folder: Optional[Path]) -> Path:
    """The built-in identity rows of `langs`: resources/identity.jsonl itself for zh and en (so their
    mix is what it always was), else those languages' rows gathered (in `builtin()` order) into a
    file in `folder` (default: the working directory)."""
    from .atomic import write_text

    if sorted(langs) == sorted(BASE):
        return RESOURCES / "identity.jsonl"
    missing = [lang for lang in langs if lang not in builtin()]
    if missing:  # recipes refuse this already; one built in code may not have been validated
        raise SelfcogError(f"identity.name.{missing[0]}: no built-in {missing[0]} identity rows; give "
                           "data.identity_file")
    chosen = [lang for lang in builtin() if lang in langs]
    rows = [row for path in dict.fromkeys(map(identity_file, chosen)) for row in builtin_rows(path, chosen)]
    path = Path(folder or ".") / f"identity.{'-'.join(chosen)}.jsonl"
    write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path


# --------------------------------------------------------------------------- negation cues


def _cue_file(lang: str) -> Optional[Path]:
    for code in dict.fromkeys([lang, lang.split("-")[0]]):  # fr-CA answers use fr's cues
        path = LANGUAGES_DIR / code / "negation.yaml"
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=None)
def cues(lang: str) -> Optional[Cues]:
    """A language's negation cues, or None when none ship for it."""
    import yaml

    path = _cue_file(lang)
    if path is None:
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        # NFKC like the answers they are looked for in (Arabic marks come in one canonical order).
        found = Cues(data["unit"], int(data["window"]), _nfkc(data["before"]), _nfkc(data["after"]),
                     str(data["clause_marks"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise SelfcogError(f"{path}: needs unit, window, before, after, clause_marks ({exc})") from None
    if found.unit not in ("word", "char") or found.window < 1:
        raise SelfcogError(f"{path}: unit must be word or char and window a positive count")
    return found


def _nfkc(items) -> tuple:
    return tuple(unicodedata.normalize("NFKC", str(item)) for item in items)


def cue_sets(lang: str) -> list[Cues]:
    """The cues that apply to an answer in `lang`: zh's and en's, then the language's own."""
    return [c for c in dict.fromkeys(cues(code) for code in (*BASE, lang)) if c is not None]


def _words(text: str) -> list[str]:
    """Words as letters (with their combining marks) and apostrophes, lowercased; ’ read as '."""
    words, current = [], []
    for ch in text.lower().replace("\u2019", "'"):
        if ch == "'" or unicodedata.category(ch)[0] in "LM":
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _word_cue(cue: str, words: list[str]) -> bool:
    if cue.startswith(SUFFIX):
        return any(w.endswith(cue[len(SUFFIX):]) for w in words)
    return f" {cue.lower()} " in " " + " ".join(words) + " "


def negated(text: str, start: int, end: int, lang: str) -> bool:
    """Whether the mention text[start:end] is negated in its clause (text already NFKC-normalised).

    word languages: a cue among the `window` words before the mention (the cue itself one more),
    or after it; char languages: a cue wholly within `window` characters before or after it.
    """
    sets = cue_sets(lang)
    marks = re.compile("[" + re.escape(CLAUSE_END + "".join(c.clause_marks for c in sets)) + "]")
    before, after = marks.split(text[:start])[-1], marks.split(text[end:])[0]
    for cue in sets:
        if cue.unit == "char":
            if any(c in before[-cue.window:] for c in cue.before) or any(c in after[:cue.window] for c in cue.after):
                return True
        elif (any(_word_cue(c, _words(before)[-cue.window - 1:]) for c in cue.before)
              or any(_word_cue(c, _words(after)[:cue.window + 1]) for c in cue.after)):
            return True
    return False


# --------------------------------------------------------------------------- leak terms


@lru_cache(maxsize=None)
def leak_spellings(lang: str) -> tuple[tuple[str, ...], frozenset]:
    """(names to add, lowercased shared names to drop) for answers in a language, from
    resources/languages/<code>/leak_terms.txt: its spellings of earlier identities ("通義千問",
    "ЧатGPT"), and `!Term` lines for shared names that are everyday words there (Spanish "llama")."""
    path = LANGUAGES_DIR / lang / "leak_terms.txt"
    if not path.is_file():
        return (), frozenset()
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    return (tuple(t for t in lines if not t.startswith("!")),
            frozenset(t[1:].strip().lower() for t in lines if t.startswith("!")))


def leak_terms_for(lang: str, shared) -> list[str]:
    """The leak terms that apply to an answer in `lang`: the shared ones, less those the language
    drops, plus its own spellings."""
    added, dropped = leak_spellings(lang)
    return list(dict.fromkeys([*(t for t in shared if t.lower() not in dropped), *added]))
