"""Scoring answers: pure functions, no model, unit-tested rule by rule.

A *mention* of a term is a match that is not negated in its own clause ("I am not ChatGPT",
"我不是通义千问", "私はChatGPTではありません"): a negated old identity is no leak, a negated new one no
hit. The negation cues are data, per language (languages.py, resources/languages/<code>/negation.yaml):
those of the answer's language (its probe's `lang`) and those of zh and en apply.
ASCII terms match as whole words, case-insensitively; Chinese terms as substrings after NFKC.
Numbers in expected answers match on number boundaries ("2" is not found in "12" or "2.5").
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Iterable, Optional, Sequence

from .languages import negated
# 95% two-sided normal quantile for Wilson intervals.
Z95 = 1.959964
# Decimals kept in rates and their intervals (JSON, reports): finer than any probe count resolves.
RATE_DIGITS = 4
# Han characters (CJK ideographs with Extension A, and the compatibility ideographs): the one
# definition the package uses. A text is Chinese when it has Han characters and they are at least
# a quarter of its letters (one Han character carries about as much as four Latin letters).
HAN_RANGES = "\u3400-\u9fff\uf900-\ufaff"
HAN = re.compile(f"[{HAN_RANGES}]")
HAN_WEIGHT = 4


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def is_chinese(text: str) -> bool:
    """True for text written mainly in Chinese."""
    han = len(HAN.findall(text or ""))
    latin = sum(1 for ch in text or "" if ch.isascii() and ch.isalpha())
    return han > 0 and han * HAN_WEIGHT >= latin


def lang_of(text: str) -> str:
    """"zh" for text written mainly in Chinese, else "en": the language of a training row that does
    not say its own. Probes always say theirs (`lang`); scoring never guesses it."""
    return "zh" if is_chinese(text) else "en"


def _term_pattern(term: str) -> re.Pattern:
    escaped = r"\s*".join(re.escape(part) for part in term.split())
    if term.isascii():
        return re.compile(rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])", re.IGNORECASE)
    return re.compile(escaped, re.IGNORECASE)


def mentions(text: str, term: str, lang: Optional[str] = None) -> bool:
    """True when `term` occurs in `text` at least once without a negation (the cues of `lang`, and
    of zh and en; None: those two only)."""
    if not term or not text:
        return False
    flat = normalize(text)
    return any(not negated(flat, m.start(), m.end(), lang or "en")
               for m in _term_pattern(normalize(term)).finditer(flat))


def mentioned(text: str, terms: Iterable[str], lang: Optional[str] = None) -> list[str]:
    """The terms that `text` mentions (not negated), under `lang`'s cues."""
    return [t for t in dict.fromkeys(terms) if mentions(text, t, lang)]


def identity_hit(answer: str, asks: str, names: Sequence[str], authors: Sequence[str],
                 lang: Optional[str] = None) -> bool:
    """Whether an answer gives what an identity question asks: the name, the author, or both."""
    has_name = any(mentions(answer, n, lang) for n in names)
    has_author = any(mentions(answer, a, lang) for a in authors)
    return {"name": has_name, "author": has_author, "both": has_name and has_author}[asks]


def _number_pattern(value: str) -> re.Pattern:
    return re.compile(rf"(?<![\d.]){re.escape(value)}(?!\d|\.\d)")


def expected_found(answer: str, expect: Sequence[str]) -> bool:
    """Whether the answer contains any accepted form of the exact answer (numbers on number boundaries)."""
    flat = normalize(answer)
    for form in expect:
        form = normalize(form).strip()
        if re.fullmatch(r"[\d.,]+", form):
            if _number_pattern(form.replace(",", "")).search(flat.replace(",", "")):
                return True
        elif _term_pattern(form).search(flat):
            return True
    return False


# --------------------------------------------------------------------------- rates


def wilson(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial rate (95% by default)."""
    if total == 0:
        return (0.0, 1.0)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(flags: Sequence[bool]) -> Optional[dict]:
    """{"rate", "k", "n", "ci": [low, high]} for a list of outcomes; None when there are none."""
    if not flags:
        return None
    k, n = sum(bool(f) for f in flags), len(flags)
    low, high = wilson(k, n)
    return {"rate": round(k / n, RATE_DIGITS), "k": k, "n": n,
            "ci": [round(low, RATE_DIGITS), round(high, RATE_DIGITS)]}


# --------------------------------------------------------------------------- old identities

# Words a model uses about itself that are no name: "我是人工智能助手" names nobody.
GENERIC_SELF = ("人工智能", "助手", "语言模型", "机器人", "模型", "程序", "一个", "一名", "一种", "你的", "您的",
                "这里", "来自", "AI", "很高兴", "乐意", "抱歉", "专门")
GENERIC_EN = {"The", "This", "An", "AI", "Assistant", "Here", "Happy", "Glad", "Thrilled", "Sorry", "Not", "Just",
              "Always", "Able", "Unable", "Sure", "Really", "Your", "One", "Trained", "Interested", "Excited",
              "Delighted", "Designed", "Built", "Created", "Made", "Developed", "Programmed", "Currently"}
# "I am X" / "trained by X" / "我是X": a Chinese name is 2 to 6 characters, shortest first, up to
# punctuation or 的.
_SELF_NAME = (r"\b(?:I am|I'm|named|called)\s+([A-Z][\w.-]{2,})",
              r"(?:trained|developed|created|made) by\s+([A-Z][\w.-]+(?: [A-Z][\w.-]+)?)",
              rf"我(?:是|叫)([{HAN_RANGES}A-Za-z0-9]{{2,6}}?)(?=[，,。！!的]|$)")


def previous_identities(answers: Iterable[str], template_text: str = "") -> list[str]:
    """Names a base model gives itself ("I am X", "trained by X", "我是X") in its answers or template."""
    found = []
    for text in [*answers, template_text]:
        for pattern in _SELF_NAME:
            for match in re.finditer(pattern, text or ""):
                name = match.group(1).strip(" .")
                if name in GENERIC_EN or name.lower().startswith(("a ", "an ")):
                    continue
                if any(word in name for word in GENERIC_SELF):
                    continue
                found.append(name)
    return list(dict.fromkeys(found))
