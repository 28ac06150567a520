"""The held-out suites: shape, size, and distance from everything trained on."""

import json

import pytest

from selfcog_swift.probes import (IDENTITY_SUITES, NEAR_JACCARD, SUITES, SUITES_DIR, grams, jaccard, load_probes,
                                  near_pairs, parse_probe, user_texts)
from selfcog_swift.errors import SelfcogError

from conftest import ROOT

RESOURCES = ROOT / "selfcog_swift" / "resources"


@pytest.fixture(scope="module")
def probes():
    return load_probes()


def _rows(name):
    return [json.loads(line) for line in (RESOURCES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def trained_user_turns():
    return user_texts(_rows("identity.jsonl") + _rows("general.jsonl"))


def test_every_suite_has_both_languages(probes):
    for suite in SUITES:
        for lang in ("zh", "en"):
            assert sum(p.suite == suite and p.lang == lang for p in probes) >= 10, (suite, lang)


def test_at_least_forty_identity_and_forty_general_probes_per_language(probes):
    for lang in ("zh", "en"):
        assert sum(p.suite in IDENTITY_SUITES and p.lang == lang for p in probes) >= 40
        assert sum(p.suite == "general" and p.lang == lang for p in probes) >= 40
        assert sum(bool(p.expect) and p.lang == lang for p in probes) >= 20


def test_multiturn_probes_ask_after_unrelated_turns(probes):
    for probe in (p for p in probes if p.suite == "multiturn"):
        conversation = probe.conversation("SYS")
        assert conversation[0] == {"role": "system", "content": "SYS"}
        assert len(conversation) - 1 in (3, 5, 7) and conversation[-1] == {"role": "user", "content": probe.question}


def test_system_suite_covers_none_trained_and_neutral(probes):
    kinds = {(p.lang, "none" if p.system == "" else "trained" if p.system is None else "neutral")
             for p in probes if p.suite == "system"}
    assert kinds == {(lang, kind) for lang in ("zh", "en") for kind in ("none", "trained", "neutral")}
    untouched = next(p for p in probes if p.suite == "system" and p.system == "")
    assert untouched.conversation("SYS")[0] == {"role": "system", "content": ""}


def test_rule_flags_near_copies():
    """The rule itself: a light rewording is near, a different question is not."""
    assert near_pairs(["你是由谁开发的？"], ["你是由谁开发的呀？"])
    assert near_pairs(["Who developed you?"], ["Who developed you, then?"])
    assert not near_pairs(["Who wrote Hamlet?"], ["Who developed you?"])
    assert jaccard(grams("abcdef"), grams("ABC-DEF")) == 1.0


def test_no_probe_is_near_any_training_or_validation_row(probes, trained_user_turns):
    """Rule: character 4-grams after NFKC, lowercasing and dropping spaces and punctuation;
    near = Jaccard >= 0.5. The validation split is drawn from the same rows, so it is covered."""
    texts = [text for p in probes for text in p.user_turns()]
    found = near_pairs(texts, trained_user_turns, NEAR_JACCARD)
    assert not found, found[:5]


def test_probes_are_not_near_each_other(probes):
    questions = [p.question for p in probes]
    pairs = [(a, b, s) for a, b, s in near_pairs(questions, questions) if a != b]
    assert not pairs, pairs[:5]


def test_probes_never_contain_the_identity_they_test(probes):
    for probe in probes:
        text = " ".join(probe.user_turns()).lower()
        assert "扁仓" not in text and "biancang" not in text and "qlu" not in text


def test_old_probe_rows_still_load(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"question": "Capital of Peru?", "lang": "en", "asks": "none", "reference": "Lima"}\n'
                    '{"question": "Who are you?", "lang": "en", "asks": "both"}\n', encoding="utf-8")
    general, direct = load_probes(str(path))
    assert (general.suite, general.expect, direct.suite) == ("general", ("Lima",), "direct")


@pytest.mark.parametrize("line, message", [
    ('{"question": "x", "lang": "en", "asks": "name", "suite": "nope"}', "suite: must be one of"),
    ('{"question": "x", "lang": "en", "asks": "name", "suite": "general"}', "general probes ask none"),
    ('{"question": "x", "lang": "en", "asks": "none", "expect": "Paris"}', "expect: must be a list"),
    ('{"question": "x", "lang": "en", "asks": "name", "system": 3}', "system: must be a string"),
    ('{"question": "x", "lang": "en", "asks": "name", "messages": [{"role": "user", "content": "y"}]}',
     "must end with the user turn"),
])
def test_bad_probe_rows_name_the_field(line, message):
    with pytest.raises(SelfcogError, match=message):
        parse_probe(line, "f.jsonl:3")


def test_suite_files_are_the_builtin_set():
    assert sorted(p.stem for p in SUITES_DIR.glob("*.jsonl")) == sorted(SUITES)


def test_replay_prompt_pool_is_far_from_every_probe(probes):
    """The replay pool (trained on, through the base model's answers) is ten times the probes and
    never near one, under the same rule."""
    pool = [json.loads(line) for line in (RESOURCES / "replay_prompts.jsonl").read_text(encoding="utf-8").splitlines()]
    for lang in ("zh", "en"):
        assert sum(row["lang"] == lang for row in pool) >= 10 * sum(p.lang == lang and p.suite == "general"
                                                                     for p in probes)
    found = near_pairs([row["prompt"] for row in pool], [t for p in probes for t in p.user_turns()])
    assert not found, found[:5]
