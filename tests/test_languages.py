"""The built-in languages beyond zh/en (resources/languages/<code>/, resources/probes/<code>/): sizes,
scripts, placeholders, and the distance between held-out probes and everything trained on.

tools/make_resources.py writes them from tools/resource_sources/languages/; test_resources.py checks
that the committed files are its output byte for byte. No swift or torch.
"""

import json
import re

import pytest
import yaml

from selfcog_swift import RESOURCES
from selfcog_swift.probes import NEAR_JACCARD, near_pairs

LANGUAGES = sorted(p.name for p in (RESOURCES / "languages").iterdir() if (p / "identity.jsonl").is_file())
IDENTITY_SUITES = ("direct", "multiturn", "system", "traps")
SUITES = (*IDENTITY_SUITES, "general")
NAME, AUTHOR = "{{NAME}}", "{{AUTHOR}}"
# Letters of each language's own script; Japanese is told from Chinese by its kana.
SCRIPT = {"ja": re.compile("[\u3040-\u30ff]"), "ko": re.compile("[\uac00-\ud7af]"),
          "ru": re.compile("[\u0400-\u04ff]"), "ar": re.compile("[\u0600-\u06ff]"),
          "fr": re.compile("[a-zàâçéèêëîïôûùüÿœ]", re.I), "es": re.compile("[a-záéíñóúü]", re.I)}
# Scripts that no row of another language may use (Han is shared by Japanese).
SCRIPTS = {"kana": "\u3040-\u30ff", "hangul": "\uac00-\ud7af", "cyrillic": "\u0400-\u04ff",
           "arabic": "\u0600-\u06ff", "han": "\u3400-\u9fff"}
OWN = {"ja": {"kana", "han"}, "ko": {"hangul"}, "ru": {"cyrillic"}, "ar": {"arabic"}, "fr": set(), "es": set()}


def jsonl(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines) and len(lines) == len(set(lines)), path
    return [json.loads(line) for line in lines]


def identity(code):
    return jsonl(RESOURCES / "languages" / code / "identity.jsonl")


def replay(code):
    return jsonl(RESOURCES / "languages" / code / "replay_prompts.jsonl")


def probes(code):
    return [row for suite in SUITES for row in jsonl(RESOURCES / "probes" / code / f"{suite}.jsonl")]


def user_turns(probe):
    return [m["content"] for m in probe.get("messages", []) if m["role"] == "user"] or [probe["question"]]


def leak_terms(code):
    shared = [t for t in (RESOURCES / "leak_terms.txt").read_text(encoding="utf-8").splitlines()
              if t.strip() and not t.startswith("#")]
    own = [t.strip() for t in (RESOURCES / "languages" / code / "leak_terms.txt").read_text(encoding="utf-8")
           .splitlines() if t.strip() and not t.startswith("#")]
    dropped = {t[1:].lower() for t in own if t.startswith("!")}
    return [t for t in shared if t.lower() not in dropped] + [t for t in own if not t.startswith("!")]


def foreign_scripts(code, text):
    return [name for name, chars in SCRIPTS.items() if name not in OWN[code] and re.search(f"[{chars}]", text)]


def test_at_least_four_languages_with_japanese_and_a_non_latin_non_han_script():
    assert {"ja", "fr", "es", "ru"} <= set(LANGUAGES)
    assert set(LANGUAGES) <= set(SCRIPT)


@pytest.mark.parametrize("code", LANGUAGES)
def test_sizes(code):
    rows, pool, suites = identity(code), replay(code), probes(code)
    assert len(rows) >= 100 and sum(len(r["messages"]) > 2 for r in rows) >= 10
    assert len(pool) >= 200
    general = [p for p in suites if p["suite"] == "general"]
    assert sum(p["suite"] in IDENTITY_SUITES for p in suites) >= 20 and len(general) >= 20
    assert sum(bool(p.get("expect")) for p in general) >= 10
    assert len(pool) >= 10 * len(general)
    assert {p["suite"] for p in suites} == set(SUITES)


@pytest.mark.parametrize("code", LANGUAGES)
def test_rows_are_written_in_the_language(code):
    texts = [m["content"] for r in identity(code) for m in r["messages"]] + [r["prompt"] for r in replay(code)]
    texts += [t for p in probes(code) for t in user_turns(p)]
    for text in texts:
        bare = text.replace(NAME, "").replace(AUTHOR, "")
        assert SCRIPT[code].search(bare) and not foreign_scripts(code, bare), (code, text)
    assert all(r["lang"] == code for r in identity(code) + replay(code) + probes(code))


@pytest.mark.parametrize("code", LANGUAGES)
def test_identity_rows_carry_both_placeholders_and_no_old_identity(code):
    # As guards.py matches them: ASCII names as whole words, others as substrings.
    terms = [re.compile(rf"(?<![A-Za-z]){re.escape(t)}(?![A-Za-z])" if t.isascii() else re.escape(t), re.I)
             for t in leak_terms(code)]
    for row in identity(code):
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"] * (len(roles) // 2) and set(row) == {"lang", "messages"}, row
        answers = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        assert NAME in answers[-1] and AUTHOR in answers[-1], row
        for answer in answers:
            assert (NAME in answer) == (AUTHOR in answer), row
            assert answer.count("{{") == answer.count(NAME) + answer.count(AUTHOR), row
            assert not [t.pattern for t in terms if t.search(answer)], row


@pytest.mark.parametrize("code", LANGUAGES)
def test_probe_rows(code):
    for suite in SUITES:
        rows = jsonl(RESOURCES / "probes" / code / f"{suite}.jsonl")
        assert [r["id"] for r in rows] == [f"{suite}-{code}-{i:02d}" for i in range(1, len(rows) + 1)]
        for row in rows:
            assert row["suite"] == suite and row["lang"] == code and row["question"].strip()
            assert (row["asks"] == "none") == (suite == "general"), row
            assert "{{" not in " ".join(user_turns(row)), row
            if "messages" in row:
                assert row["messages"][-1] == {"role": "user", "content": row["question"]}
    kinds = {"none" if p.get("system") == "" else "trained" if "system" not in p else "neutral"
             for p in probes(code) if p["suite"] == "system"}
    assert kinds == {"none", "trained", "neutral"}


def trained_texts():
    """Every user turn trained on, and every replay prompt, in every built-in language."""
    rows = jsonl(RESOURCES / "identity.jsonl") + jsonl(RESOURCES / "general.jsonl")
    rows += [r for code in LANGUAGES for r in identity(code)]
    texts = [m["content"] for r in rows for m in r["messages"] if m["role"] == "user"]
    pools = jsonl(RESOURCES / "replay_prompts.jsonl") + [r for code in LANGUAGES for r in replay(code)]
    return texts + [r["prompt"] for r in pools]


def test_no_probe_is_near_anything_trained_on():
    """The rule of test_probes.py (character 4-grams, Jaccard >= 0.5), across all languages."""
    texts = [t for code in LANGUAGES for p in probes(code) for t in user_turns(p)]
    found = near_pairs(texts, trained_texts(), NEAR_JACCARD)
    assert not found, found[:5]


def test_probes_are_not_near_each_other():
    builtin = [json.loads(line)["question"] for path in sorted((RESOURCES / "probes").glob("*.jsonl"))
               for line in path.read_text(encoding="utf-8").splitlines()]
    questions = [p["question"] for code in LANGUAGES for p in probes(code)]
    pairs = [(a, b, s) for a, b, s in near_pairs(questions, questions + builtin) if a != b]
    assert not pairs, pairs[:5]


def test_the_rule_would_catch_a_copied_probe():
    """The disjointness test can fail: a probe reworded lightly from a trained row is near it."""
    trained = trained_texts()
    assert near_pairs(["Tu t'appelles comment, au juste ?"], trained)
    assert near_pairs(["あなたは一体何者ですか"], trained)


@pytest.mark.parametrize("code", [*LANGUAGES, "zh", "en"])
def test_negation_files(code):
    cues = yaml.safe_load((RESOURCES / "languages" / code / "negation.yaml").read_text(encoding="utf-8"))
    assert set(cues) == {"unit", "window", "before", "after", "clause_marks"}
    assert cues["unit"] in ("word", "char") and isinstance(cues["window"], int) and cues["window"] > 0
    assert cues["before"] or cues["after"]
    for cue in cues["before"] + cues["after"]:
        assert isinstance(cue, str) and cue.strip() == cue and cue, (code, cue)
    assert isinstance(cues["clause_marks"], str)
