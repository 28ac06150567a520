"""The built-in data files in selfcog_swift/resources/: shape, counts, placeholders, held-out disjointness.

Pure JSON checks, no swift or torch. tools/make_resources.py writes the files.
"""

import json
import unicodedata
from pathlib import Path

import pytest

try:
    import selfcog_swift

    RESOURCES = Path(selfcog_swift.__file__).resolve().parent / "resources"
except ImportError:  # pragma: no cover - the package is always importable from the checkout
    RESOURCES = Path(__file__).resolve().parent.parent / "selfcog_swift" / "resources"

NAME, AUTHOR = "{{NAME}}", "{{AUTHOR}}"
ASKS = {"name", "author", "both", "none"}
# Other assistants and their makers; the tuned model's answers should never name them.
OTHER_AIS = ("chatgpt", "qwen", "通义", "千问", "smollm", "llama", "claude", "gpt-", "openai", "文心", "gemini",
             "deepseek", "anthropic", "hugging face", "chatglm", "mistral")


def norm(text: str) -> str:
    """Lowercase (after NFKC), with all whitespace and punctuation, ASCII and CJK, removed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def load(name: str) -> list[dict]:
    path = RESOURCES / name
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines), f"{name}: blank line"
    assert len(lines) == len(set(lines)), f"{name}: duplicate lines"
    return [json.loads(line) for line in lines]


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


def test_normalisation():
    assert norm("Who are you?") == norm("who  are you") == "whoareyou"
    assert norm("你是谁？") == norm("你是谁") == norm("“你是谁。”") == "你是谁"
    assert norm("《静夜思》的作者") == "静夜思的作者"
    assert norm("H₂O") == "h2o"


# --------------------------------------------------------------------------- identity.jsonl


def test_identity_counts(identity):
    assert count(identity, "zh") >= 150
    assert count(identity, "en") >= 150
    assert {row["lang"] for row in identity} == {"zh", "en"}
    for lang in ("zh", "en"):
        multi = [r for r in identity if r["lang"] == lang and len(r["messages"]) > 2]
        assert len(multi) >= 20, lang


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
                assert has_cjk(text), row
            else:
                assert not has_cjk(text), row


def test_identity_questions_varied(identity):
    singles = [norm(r["messages"][0]["content"]) for r in identity if len(r["messages"]) == 2]
    assert len(singles) == len(set(singles))


def test_general_rows(general):
    assert 300 <= len(general) <= 600
    assert abs(count(general, "zh") - count(general, "en")) <= 0.1 * len(general)
    for row in general:
        assert row["lang"] in ("zh", "en"), row
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"], row
        text = " ".join(m["content"] for m in row["messages"])
        assert "{{" not in text, row
        assert not any(term in text.lower() for term in OTHER_AIS), row
        if row["lang"] == "zh":
            assert all(has_cjk(m["content"]) for m in row["messages"]), row
    questions = [norm(q) for q in user_turns(general)]
    assert len(questions) == len(set(questions))
