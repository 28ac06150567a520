"""Write selfcog_swift/resources/identity.jsonl and general.jsonl from tools/resource_sources/.

    .venv/bin/python tools/make_resources.py            # rewrite the two files
    .venv/bin/python tools/make_resources.py --check    # fail if the committed files differ
    .venv/bin/python tools/make_resources.py --out DIR  # write them into DIR instead

identity.jsonl: identity_questions.yaml and identity_conversations.yaml with the answers of
identity_answers.yaml (`{{NAME}}` / `{{AUTHOR}}` are filled later, per language). general.jsonl:
general.yaml, contrast.yaml, then two-digit arithmetic drawn with fixed seeds. Deterministic.
The held-out probe suites (resources/probes/) are written by hand, apart from these sources.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "tools" / "resource_sources"
OUT = ROOT / "selfcog_swift" / "resources"
N, A = "{{NAME}}", "{{AUTHOR}}"
LANGS = ("zh", "en")
# (rows, seed) of the arithmetic rows per language; the committed general.jsonl depends on both.
ARITHMETIC = {"zh": (18, 7), "en": (18, 11)}
WORDS = {"zh": {"+": "加", "-": "减", "*": "乘以"}, "en": {"+": "plus", "-": "minus", "*": "times"}}
LEAK = ("chatgpt", "qwen", "通义", "千问", "smollm", "llama", "claude", "gpt-", "openai", "文心", "gemini",
        "deepseek", "anthropic", "hugging face", "chatglm", "mistral")


def norm(text: str) -> str:
    """Lowercase, NFKC, no whitespace, no punctuation (ASCII and CJK alike)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def chat(lang: str, *turns: str) -> dict:
    # YAML reads a bare yes/no/number as another type: every turn must have been quoted into a string.
    assert all(isinstance(turn, str) and turn.strip() for turn in turns), turns
    return {"lang": lang, "messages": [{"role": ("user", "assistant")[i % 2], "content": turn}
                                       for i, turn in enumerate(turns)]}


def single_rows(lang: str, answers: dict, table: dict) -> list[dict]:
    """A question without its own answer takes the next answer of its kind, in turn (one counter per kind)."""
    rows, counters = [], {}
    for category, items in table.items():
        for item in items:
            item = {"q": item} if isinstance(item, str) else item
            assert set(item) <= {"q", "a", "kind"} and not {"a", "kind"} <= set(item), item
            answer = item.get("a")
            if answer is None:
                kind = item.get("kind", category)
                i = counters[kind] = counters.get(kind, -1) + 1
                answer = answers[kind][i % len(answers[kind])]
            rows.append(chat(lang, item["q"], answer))
    return rows


def conversation_rows(lang: str, answers: dict, conversations: list) -> list[dict]:
    rows = []
    for exchanges in conversations:
        assert len(exchanges) >= 2 and all(set(ex) == {"user", "assistant"} for ex in exchanges), exchanges
        turns = []
        for ex in exchanges:
            reply = ex["assistant"]
            if isinstance(reply, dict):  # {kind, index}: that answer of identity_answers.yaml
                reply = answers[reply["kind"]][reply["index"]]
            turns += [ex["user"], reply]
        rows.append(chat(lang, *turns))
    return rows


def qa_pairs(table: dict) -> list[tuple[str, str]]:
    return [(row["q"], row["a"]) for rows in table.values() for row in rows]


def check_contrast(contrast: dict) -> None:
    avoid = [str(term) for terms in contrast["avoid"].values() for term in terms]
    for lang in LANGS:
        for question, answer in qa_pairs(contrast[lang]):
            for term in avoid:
                assert term.lower() not in question.lower(), (lang, question, term)
                if term not in contrast["answers_may_name"]:
                    assert term.lower() not in answer.lower(), (lang, answer, term)


def arithmetic(lang: str, count: int, seed: int) -> list[tuple[str, str]]:
    """Two-digit sums, differences and products, worded as people ask them."""
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < count:
        a, b, op = rng.randint(11, 99), rng.randint(11, 99), rng.choice("+-*")
        if op == "-" and b > a:
            a, b = b, a
        if (a, b, op) in seen or a == b:
            continue
        seen.add((a, b, op))
        c, word = {"+": a + b, "-": a - b, "*": a * b}[op], WORDS[lang][op]
        if lang == "zh":
            rows.append((f"{a}{word}{b}等于多少？", f"{a}{word}{b}等于{c}。"))
        else:
            rows.append((f"What is {a} {word} {b}?", f"{a} {op.replace('*', '×')} {b} = {c}."))
    return rows


def build() -> dict[str, list[dict]]:
    answers, questions, conversations, general, contrast = (
        yaml.safe_load((SOURCES / f"{name}.yaml").read_text(encoding="utf-8"))
        for name in ("identity_answers", "identity_questions", "identity_conversations", "general", "contrast"))
    check_contrast(contrast)
    identity, general_rows = [], []
    for lang in LANGS:
        identity += single_rows(lang, answers[lang], questions[lang])
        identity += conversation_rows(lang, answers[lang], conversations[lang])
        pairs = qa_pairs(general[lang]) + qa_pairs(contrast[lang]) + arithmetic(lang, *ARITHMETIC[lang])
        general_rows += [chat(lang, question, answer) for question, answer in pairs]
    files = {"identity.jsonl": identity, "general.jsonl": general_rows}
    check(files)
    return files


def check(files: dict[str, list[dict]]) -> None:
    identity, general = files["identity.jsonl"], files["general.jsonl"]
    singles = [norm(r["messages"][0]["content"]) for r in identity if len(r["messages"]) == 2]
    assert len(singles) == len(set(singles)), "duplicate single-turn identity questions"
    for row in identity:
        last = row["messages"][-1]["content"]
        assert N in last and A in last, row
        for m in row["messages"]:
            if m["role"] == "assistant" and (N in m["content"] or A in m["content"]):
                assert N in m["content"] and A in m["content"], row
                assert not any(t in m["content"].lower() for t in LEAK), row
            assert _has_cjk(m["content"]) == (row["lang"] == "zh") or m["role"] == "user", row
    general_qs = [norm(r["messages"][0]["content"]) for r in general]
    assert len(general_qs) == len(set(general_qs)), "duplicate general questions"
    for row in general:
        content = " ".join(m["content"] for m in row["messages"])
        assert "{{" not in content and not any(t in content.lower() for t in LEAK), row
        if row["lang"] == "zh":
            assert all(_has_cjk(m["content"]) for m in row["messages"]), row


def dump(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write (or check) the files in")
    args = parser.parse_args(argv)
    stale = []
    for name, rows in build().items():
        path, data = args.out / name, dump(rows)
        if args.check:  # bytes, so that line endings count too
            if not path.is_file() or path.read_bytes() != data:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        langs = {lang: sum(row["lang"] == lang for row in rows) for lang in LANGS}
        print(f"{path}: {len(rows)} rows {langs}")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
