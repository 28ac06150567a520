"""Held-out probe suites: reading them, turning them into conversations, and the rule that keeps
them apart from everything trained on.

The built-in suites live in resources/probes/<suite>.jsonl (zh and en, written by hand) and
resources/probes/<lang>/<suite>.jsonl (the other languages, tools/make_resources.py), one row per
probe: `{"id", "suite", "lang", "asks": "name"|"author"|"both"|"none", "question", "messages"?,
"system"?, "expect"?}`. `lang` is a language code (BCP 47): the probe's language is what it says,
never guessed from its script. `system` absent: the recipe's trained system prompt;
`""`: no system message at all; any other text: that system prompt. `expect`: accepted forms
of an exact answer (general questions). Only evaluation reads these files.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

from . import RESOURCES
from .errors import SelfcogError
from .languages import BASE, builtin, is_code, probe_files

SUITES_DIR = RESOURCES / "probes"
IDENTITY_SUITES = ("direct", "multiturn", "system", "traps")
SUITES = (*IDENTITY_SUITES, "general")  # also the order reports show them in
ASKS = ("name", "author", "both", "none")
# The probe is asked with the recipe's trained system prompt (a row without "system").
TRAINED = None

# Near-duplicate rule: character 4-grams of the normalised text, Jaccard similarity.
NGRAM = 4
NEAR_JACCARD = 0.5
# Characters of a JSON parser's message quoted in a one-line error.
ERROR_EXCERPT = 80


@dataclass(frozen=True)
class Probe:
    question: str
    lang: str
    asks: str
    suite: str = "direct"
    messages: tuple = ()
    system: Optional[str] = TRAINED
    expect: tuple = ()
    id: str = ""
    reference: Optional[str] = None

    def conversation(self, trained_system: Optional[str]) -> list[dict]:
        """The messages sent to the model: system prompt (if any), history, the question."""
        system = trained_system if self.system is TRAINED else self.system
        turns = [dict(m) for m in self.messages] or [{"role": "user", "content": self.question}]
        # An explicit empty system message: swift's engine then adds no default system prompt either.
        return [{"role": "system", "content": system or ""}, *turns] if system is not None else turns

    def user_turns(self) -> list[str]:
        return [dict(m)["content"] for m in self.messages if dict(m)["role"] == "user"] or [self.question]


def load_probes(path: Optional[str] = None, langs: Optional[Sequence[str]] = None) -> list[Probe]:
    """The built-in suites of `langs` (default zh and en), suite by suite; or one probe file, which
    must then hold probes in each of `langs`. Errors name file:line, or the language and what to add."""
    if path:
        probes = _read(Path(path))
        found = {p.lang for p in probes}
        for lang in langs or ():
            if lang not in found:
                raise SelfcogError(f"{path} has no {lang} probes; add identity questions "
                                   f'{{"question": ..., "lang": "{lang}", "asks": "name"}} and general ones '
                                   f'(asks: none), or drop identity.name.{lang}')
        return probes
    langs = tuple(langs or BASE)
    files = {lang: probe_files(lang, SUITES) for lang in langs}
    for lang, found in files.items():
        if not found:
            raise SelfcogError(f"no built-in {lang} probes (built in: {', '.join(builtin())}); give evaluate.probes "
                               f"(eval --probes) with {lang} probes")
    probes = []
    for index in range(len(SUITES)):
        # zh and en share the top-level files: each file once, its probes of the wanted languages.
        for path_ in dict.fromkeys(found[index] for found in files.values()):
            probes += [probe for probe in _read(path_) if probe.lang in langs]
    return probes


def _read(source: Path) -> list[Probe]:
    if not source.is_file():
        raise SelfcogError(f"{source}: probe file not found")
    probes = []
    with source.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                probes.append(parse_probe(line, f"{source}:{number}"))
    if not probes:
        raise SelfcogError(f"{source}: no probes")
    return probes


def parse_probe(line: str, where: str) -> Probe:
    """One probe row; a row without `suite` counts as `general` when it asks nothing, else `direct`."""
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SelfcogError(f"{where}: malformed JSON: {str(exc)[:ERROR_EXCERPT]}") from None
    if not isinstance(row, dict):
        raise SelfcogError(f"{where}: expected an object with question, lang, asks")
    question, lang, asks = row.get("question"), row.get("lang"), row.get("asks")
    if not isinstance(question, str) or not question.strip():
        raise SelfcogError(f"{where}: question: must be a non-empty string")
    if not isinstance(lang, str) or not is_code(lang):
        raise SelfcogError(f"{where}: lang: must be a language code (zh, en, ja, pt-BR), got {lang!r}")
    if asks not in ASKS:
        raise SelfcogError(f"{where}: asks: must be one of {', '.join(ASKS)}, got {asks!r}")
    suite = row.get("suite", "general" if asks == "none" else "direct")
    if suite not in SUITES:
        raise SelfcogError(f"{where}: suite: must be one of {', '.join(SUITES)}, got {suite!r}")
    if (suite == "general") != (asks == "none"):
        raise SelfcogError(f"{where}: asks: general probes ask none, identity suites ask name, author or both")
    system = row.get("system", TRAINED)
    if system is not None and not isinstance(system, str):
        raise SelfcogError(f"{where}: system: must be a string (\"\" for no system message)")
    expect = row.get("expect", [])
    reference = row.get("reference")
    if isinstance(reference, str):  # the older probe format's single reference answer
        expect = [*expect, reference] if isinstance(expect, list) else expect
    elif reference is not None:
        raise SelfcogError(f"{where}: reference: must be a string")
    if not isinstance(expect, list) or not all(isinstance(e, str) and e.strip() for e in expect):
        raise SelfcogError(f"{where}: expect: must be a list of non-empty strings")
    return Probe(question, lang, asks, suite, _messages(row.get("messages"), question, where), system,
                 tuple(expect), str(row.get("id", "")), reference)


def _messages(value, question: str, where: str) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(
            isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
            for m in value):
        raise SelfcogError(f"{where}: messages: must be a list of {{role: user|assistant, content}}")
    if value[-1]["role"] != "user" or value[-1]["content"] != question:
        raise SelfcogError(f"{where}: messages: must end with the user turn given as question")
    return tuple((("role", m["role"]), ("content", m["content"])) for m in value)


# --------------------------------------------------------------------------- disjointness


def grams(text: str) -> frozenset:
    """Character 4-grams of a text after NFKC, lowercasing, and dropping spaces and punctuation."""
    flat = "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())
    if len(flat) < NGRAM:
        return frozenset([flat]) if flat else frozenset()
    return frozenset(flat[i:i + NGRAM] for i in range(len(flat) - NGRAM + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_pairs(probes: Iterable[str], others: Iterable[str], threshold: float = NEAR_JACCARD
               ) -> list[tuple[str, str, float]]:
    """(probe text, other text, similarity) for every pair at or above the threshold."""
    indexed: dict[str, list[int]] = {}
    other_list = list(dict.fromkeys(others))
    other_grams = [grams(o) for o in other_list]
    for i, g in enumerate(other_grams):
        for gram in g:
            indexed.setdefault(gram, []).append(i)
    found = []
    for text in dict.fromkeys(probes):
        mine = grams(text)
        candidates = {i for gram in mine for i in indexed.get(gram, ())}
        for i in candidates:
            similarity = jaccard(mine, other_grams[i])
            if similarity >= threshold:
                found.append((text, other_list[i], round(similarity, 3)))
    return found


def user_texts(rows: Iterable[dict]) -> list[str]:
    """Every user turn of chat rows ({"messages": [...]})."""
    return [m["content"] for row in rows for m in row.get("messages", []) if m.get("role") == "user"]


def by_suite(probes: Sequence[Probe]) -> dict[str, list[Probe]]:
    grouped: dict[str, list[Probe]] = {}
    for probe in probes:
        grouped.setdefault(probe.suite, []).append(probe)
    return grouped


