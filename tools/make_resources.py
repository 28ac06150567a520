"""Write selfcog_swift/resources/identity.jsonl and general.jsonl from tools/resource_sources/.

    .venv/bin/python tools/make_resources.py            # rewrite the two files
    .venv/bin/python tools/make_resources.py --check    # fail if the committed files differ
    .venv/bin/python tools/make_resources.py --out DIR  # write them into DIR instead

identity.jsonl: identity_questions.yaml and identity_conversations.yaml with the answers of
identity_answers.yaml (`{{NAME}}` / `{{AUTHOR}}` are filled later, per language). general.jsonl:
general.yaml, contrast.yaml, then two-digit arithmetic drawn with fixed seeds. Deterministic.
The zh/en held-out probe suites (resources/probes/*.jsonl) are written by hand, apart from these sources.

Further languages each have a folder, tools/resource_sources/languages/<code>/ (see its README.md):
identity.yaml, replay.yaml and probes.yaml become resources/languages/<code>/identity.jsonl,
resources/languages/<code>/replay_prompts.jsonl and resources/probes/<code>/<suite>.jsonl. They
leave the zh/en files as they are. Their negation cues and leak terms are data files written by
hand in resources/languages/<code>/ (negation.yaml, leak_terms.txt).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter
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


LANGUAGES = SOURCES / "languages"
SUITES = ("direct", "multiturn", "system", "traps", "general")
ASKS = ("name", "author", "both")
# The script every assistant turn of a language must be written in (placeholders aside). Japanese
# shares Han characters with Chinese: kana tell it apart.
SCRIPT = {"ja": "[\u3040-\u30ff]", "ko": "[\uac00-\ud7af]", "ru": "[\u0400-\u04ff]",
          "ar": "[\u0600-\u06ff]", "fr": "[A-Za-z\u00c0-\u00ff]", "es": "[A-Za-z\u00c0-\u00ff]",
          "de": "[A-Za-z\u00c0-\u00ff]"}
OTHER_SCRIPTS = re.compile("[\u0400-\u04ff\u0600-\u06ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


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
    for code in languages():
        files.update(language_files(code))
    check_disjoint(files)
    return files


def languages() -> list[str]:
    """The codes of tools/resource_sources/languages/*/, sorted."""
    return sorted(path.name for path in LANGUAGES.iterdir() if (path / "identity.yaml").is_file())


def _load(code: str, name: str):
    return yaml.safe_load((LANGUAGES / code / f"{name}.yaml").read_text(encoding="utf-8"))


def leak_terms(code: str) -> tuple[str, ...]:
    """LEAK plus the language's own spellings (resources/languages/<code>/leak_terms.txt), lowercased;
    a `!term` line there drops a shared term that is a common word of the language (Spanish "llama")."""
    path = OUT / "languages" / code / "leak_terms.txt"
    own = [line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines()
           if line.strip() and not line.startswith("#")]
    dropped = {term[1:] for term in own if term.startswith("!")}
    return (*(t for t in LEAK if t not in dropped), *(t for t in own if not t.startswith("!")))


def language_files(code: str) -> dict[str, list[dict]]:
    """One language's identity rows, replay prompts and probe suites, by path under resources/."""
    source = _load(code, "identity")
    answers = source["answers"]
    identity = single_rows(code, answers, source["questions"]) + conversation_rows(code, answers,
                                                                                   source["conversations"])
    replay = [{"lang": code, "shape": shape, "prompt": prompt}
              for shape, prompts in _load(code, "replay").items() for prompt in prompts]
    suites = _load(code, "probes")
    assert set(suites) == set(SUITES), (code, sorted(suites))
    probes = {f"probes/{code}/{suite}.jsonl": [probe_row(code, suite, i, item)
                                                for i, item in enumerate(suites[suite], 1)] for suite in SUITES}
    files = {f"languages/{code}/identity.jsonl": identity, f"languages/{code}/replay_prompts.jsonl": replay, **probes}
    check_language(code, answers, files)
    return files


def probe_row(code: str, suite: str, number: int, item: dict) -> dict:
    """A probe of probes.yaml as resources/probes/ writes it: {asks, q} (direct, traps), plus `system`
    (absent: the trained prompt; "": none), `turns` (multiturn: user, assistant, ..., the question) or
    `expect` (general: accepted exact answers)."""
    extra = {"system": {"system"}, "multiturn": {"turns"}, "general": {"expect"}}.get(suite, set())
    assert set(item) <= {"asks", "q"} | extra and ("q" in item) != ("turns" in item), (code, suite, item)
    asks = item.get("asks", "none")
    assert (asks == "none") == (suite == "general") and asks in (*ASKS, "none"), (code, suite, item)
    row = {"id": f"{suite}-{code}-{number:02d}", "suite": suite, "lang": code, "asks": asks}
    if "system" in item:
        assert isinstance(item["system"], str), item
        row["system"] = item["system"]
    turns = item.get("turns") or [item["q"]]
    assert len(turns) % 2 == 1 and all(isinstance(t, str) and t.strip() for t in turns), (code, suite, item)
    row["question"] = turns[-1]
    if "turns" in item:
        assert len(turns) >= 3, item
        row["messages"] = chat(code, *turns)["messages"]
    if "expect" in item:
        assert isinstance(item["expect"], list) and all(isinstance(e, str) and e for e in item["expect"]), item
        row["expect"] = item["expect"]
    return row


def _written_in(code: str, text: str) -> bool:
    """Whether text (placeholders removed) has letters of the language's script and of no other,
    beyond Latin and, for Japanese, Han characters."""
    text = text.replace(N, "").replace(A, "")
    foreign = [ch for ch in OTHER_SCRIPTS.findall(text)
               if not re.fullmatch(SCRIPT[code], ch) and not (code == "ja" and _has_cjk(ch))]
    return bool(re.search(SCRIPT[code], text)) and not foreign


def check_language(code: str, answers: dict, files: dict[str, list[dict]]) -> None:
    leak = leak_terms(code)
    identity = files[f"languages/{code}/identity.jsonl"]
    replay = files[f"languages/{code}/replay_prompts.jsonl"]
    probes = [row for name, rows in files.items() if name.startswith("probes/") for row in rows]
    assert len(identity) >= 100 and sum(len(r["messages"]) > 2 for r in identity) >= 10, (code, len(identity))
    assert len(replay) >= 200, (code, len(replay))
    assert sum(p["suite"] != "general" for p in probes) >= 20, code
    assert sum(p["suite"] == "general" for p in probes) >= 20 and sum("expect" in p for p in probes) >= 10, code
    given = {m["content"] for row in identity for m in row["messages"] if m["role"] == "assistant"}
    unused = [a for kind in answers.values() for a in kind if a not in given]
    assert not unused, (code, unused)
    singles = [norm(r["messages"][0]["content"]) for r in identity if len(r["messages"]) == 2]
    assert len(singles) == len(set(singles)), (code, [q for q, n in Counter(singles).items() if n > 1])
    for row in identity:
        last = row["messages"][-1]["content"]
        assert N in last and A in last, row
        for m in row["messages"]:
            content = m["content"]
            assert _written_in(code, content), (code, content)
            if m["role"] == "assistant" and (N in content or A in content):
                assert N in content and A in content and content.count("{{") == content.count(N) + content.count(A), row
                assert not any(t in content.lower() for t in leak), row
    prompts = [norm(row["prompt"]) for row in replay]
    assert len(prompts) == len(set(prompts)), (code, [q for q, n in Counter(prompts).items() if n > 1])
    for text in [row["prompt"] for row in replay] + [t for p in probes for t in _user_turns(p)]:
        assert _written_in(code, text) and "{{" not in text, (code, text)


def _user_turns(probe: dict) -> list[str]:
    return [m["content"] for m in probe.get("messages", []) if m["role"] == "user"] or [probe["question"]]


def check_disjoint(files: dict[str, list[dict]]) -> None:
    """The rule of tests/test_probes.py for the generated languages: no probe near a trained user turn,
    a replay prompt, or another probe."""
    sys.path.insert(0, str(ROOT))
    from selfcog_swift.probes import near_pairs

    trained = [m["content"] for name, rows in files.items() if not name.startswith("probes/")
               for row in rows for m in row.get("messages", []) if m["role"] == "user"]
    trained += [row["prompt"] for name, rows in files.items() if name.endswith("replay_prompts.jsonl") for row in rows]
    trained += [json.loads(line)["prompt"] for line in (OUT / "replay_prompts.jsonl").read_text(encoding="utf-8")
                .splitlines()]
    probes = [p for name, rows in files.items() if name.startswith("probes/") for p in rows]
    found = near_pairs([t for p in probes for t in _user_turns(p)], trained)
    assert not found, found[:10]
    questions = [p["question"] for p in probes]
    builtin = [json.loads(line)["question"] for path in sorted((OUT / "probes").glob("*.jsonl"))
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [pair for pair in near_pairs(questions, questions + builtin) if pair[0] != pair[1]]
    assert not pairs, pairs[:10]


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
        print(f"{path}: {len(rows)} rows {dict(Counter(row['lang'] for row in rows))}")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
