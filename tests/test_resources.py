"""The built-in training rows in selfcog_swift/resources/: regeneration, shape, counts, placeholders.

tools/make_resources.py writes identity.jsonl and general.jsonl from tools/resource_sources/*.yaml; the
first tests regenerate them and compare bytes, the rest read the files. No swift or torch.
"""

import importlib.util
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml

from selfcog_swift import RESOURCES
from selfcog_swift.scoring import HAN, is_chinese

GENERATOR = Path(__file__).resolve().parent.parent / "tools" / "make_resources.py"
GENERATED = ("identity.jsonl", "general.jsonl")
NAME, AUTHOR = "{{NAME}}", "{{AUTHOR}}"
# Other assistants and their makers; the tuned model's answers should never name them.
OTHER_AIS = ("chatgpt", "qwen", "通义", "千问", "smollm", "llama", "claude", "gpt-", "openai", "文心", "gemini",
             "deepseek", "anthropic", "hugging face", "chatglm", "mistral")
# The questions of the generated arithmetic rows that end general.jsonl's part for each language.
ARITHMETIC_QUESTION = {"zh": re.compile(r"\d+(加|减|乘以)\d+等于多少？"),
                       "en": re.compile(r"What is \d+ (plus|minus|times) \d+\?")}


def norm(text: str) -> str:
    """Lowercase (after NFKC), with all whitespace and punctuation, ASCII and CJK, removed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def load(name: str) -> list[dict]:
    path = RESOURCES / name
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines), f"{name}: blank line"
    assert len(lines) == len(set(lines)), f"{name}: duplicate lines"
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def generator():
    """tools/make_resources.py as a module (importing it runs nothing)."""
    spec = importlib.util.spec_from_file_location("make_resources", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sources(generator):
    return {path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
            for path in sorted(generator.SOURCES.glob("*.yaml"))}


@pytest.fixture(scope="module")
def identity():
    return load("identity.jsonl")


@pytest.fixture(scope="module")
def general():
    return load("general.jsonl")


def count(rows, lang):
    return sum(row["lang"] == lang for row in rows)


def user_turns(rows):
    return [m["content"] for row in rows for m in row["messages"] if m["role"] == "user"]


def test_regenerating_gives_the_committed_files_byte_for_byte(tmp_path, generator):
    result = subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file())
    languages = generator.languages()
    assert {"fr", "es", "ja", "ru"} <= set(languages)
    assert written == sorted([*GENERATED, *(f"languages/{code}/{name}" for code in languages
                                         for name in ("identity.jsonl", "replay_prompts.jsonl")),
                           *(f"probes/{code}/{suite}.jsonl" for code in languages for suite in generator.SUITES)])
    for name in written:
        made, committed = (tmp_path / name).read_bytes(), (RESOURCES / name).read_bytes()
        if made != committed:
            pairs = zip(made.split(b"\n"), committed.split(b"\n"))
            line = next((i for i, (a, b) in enumerate(pairs, 1) if a != b), "its end")
            pytest.fail(f"{name} differs from tools/make_resources.py's output at line {line}: "
                        "edit tools/resource_sources/, then run the generator")


def test_check_option_fails_on_a_stale_file(tmp_path, generator):
    for name in generator.build():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((RESOURCES / name).read_bytes())
    check = [sys.executable, str(GENERATOR), "--check", "--out", str(tmp_path)]
    assert subprocess.run(check, capture_output=True, timeout=120).returncode == 0
    # One byte of difference, a CRLF line end, is enough.
    (tmp_path / "general.jsonl").write_bytes((RESOURCES / "general.jsonl").read_bytes().replace(b"\n", b"\r\n", 1))
    result = subprocess.run(check, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "out of date: general.jsonl" in result.stderr
    # The files of the other languages count too: a missing one is out of date.
    (tmp_path / "probes" / "ru" / "traps.jsonl").unlink()
    result = subprocess.run(check, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "out of date: general.jsonl, probes/ru/traps.jsonl" in result.stderr


def test_normalisation():
    assert norm("Who are you?") == norm("who  are you") == "whoareyou"
    assert norm("你是谁？") == norm("你是谁") == norm("“你是谁。”") == "你是谁"
    assert norm("《静夜思》的作者") == "静夜思的作者"
    assert norm("H₂O") == "h2o"


# --------------------------------------------------------------------------- identity.jsonl


def test_identity_counts(identity, sources):
    """One row per question of identity_questions.yaml, then one per conversation, per language."""
    assert {row["lang"] for row in identity} == {"zh", "en"}
    for lang in ("zh", "en"):
        rows = [r for r in identity if r["lang"] == lang]
        questions = sum(len(items) for items in sources["identity_questions"][lang].values())
        conversations = sources["identity_conversations"][lang]
        assert [len(r["messages"]) for r in rows] == [2] * questions + [2 * len(c) for c in conversations], lang
        assert all(len(c) >= 2 for c in conversations), lang


def test_every_identity_answer_is_trained_on(identity, sources):
    """Each phrasing of identity_answers.yaml answers at least one row; none is dead text."""
    given = {(row["lang"], m["content"]) for row in identity for m in row["messages"] if m["role"] == "assistant"}
    for lang, kinds in sources["identity_answers"].items():
        for kind, answers in kinds.items():
            for answer in answers:
                assert (lang, answer) in given, (lang, kind, answer)


def test_identity_turns_alternate(identity):
    for row in identity:
        assert set(row) == {"lang", "messages"}, row
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"] * (len(roles) // 2) and roles, row
        assert all(isinstance(m["content"], str) and m["content"].strip() for m in row["messages"]), row


def test_identity_answers_carry_both_placeholders(identity):
    for row in identity:
        answers = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        assert NAME in answers[-1] and AUTHOR in answers[-1], row
        for answer in answers:
            # An answer about the identity names both, never just one of them.
            assert (NAME in answer) == (AUTHOR in answer), row
            # Only the two placeholders, spelled exactly.
            assert answer.count("{{") == answer.count(NAME) + answer.count(AUTHOR), row


def test_identity_answers_name_no_other_assistant(identity):
    for row in identity:
        for m in row["messages"]:
            if m["role"] == "assistant":
                assert not any(term in m["content"].lower() for term in OTHER_AIS), row


def test_identity_languages(identity):
    for row in identity:
        for m in row["messages"]:
            text = m["content"].replace(NAME, "").replace(AUTHOR, "")
            if row["lang"] == "zh":
                assert is_chinese(text), row
            else:
                assert not HAN.search(text), row


def test_identity_questions_varied(identity):
    singles = [norm(r["messages"][0]["content"]) for r in identity if len(r["messages"]) == 2]
    assert len(singles) == len(set(singles))


def test_general_counts(general, sources, generator):
    """general.yaml's rows, then contrast.yaml's, then the generated arithmetic, per language."""
    assert {row["lang"] for row in general} == {"zh", "en"}
    for lang in ("zh", "en"):
        rows = [r for r in general if r["lang"] == lang]
        written = [row for name in ("general", "contrast") for part in sources[name][lang].values() for row in part]
        assert [r["messages"][0]["content"] for r in rows[:len(written)]] == [row["q"] for row in written], lang
        arithmetic = rows[len(written):]
        assert len(arithmetic) == generator.ARITHMETIC[lang][0], lang
        assert all(ARITHMETIC_QUESTION[lang].fullmatch(r["messages"][0]["content"]) for r in arithmetic), lang
    # Neither language dominates the general mix.
    assert abs(count(general, "zh") - count(general, "en")) <= 0.1 * len(general)


def test_general_rows(general):
    for row in general:
        assert row["lang"] in ("zh", "en"), row
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"], row
        text = " ".join(m["content"] for m in row["messages"])
        assert "{{" not in text, row
        assert not any(term in text.lower() for term in OTHER_AIS), row
        if row["lang"] == "zh":
            assert all(HAN.search(m["content"]) for m in row["messages"]), row
    questions = [norm(q) for q in user_turns(general)]
    assert len(questions) == len(set(questions))
