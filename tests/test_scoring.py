"""The scoring rules, one by one (no model)."""

import pytest

from selfcog_swift import scoring
from selfcog_swift.scoring import expected_found, identity_hit, mentioned, mentions, previous_identities, rate, wilson

NAMES, AUTHORS = ["扁仓", "BianCang"], ["齐鲁工业大学NLP研究组", "QLU-NLP Research Group"]


@pytest.mark.parametrize("text, term", [
    ("I am BianCang.", "BianCang"),
    ("I'm BianCang, not ChatGPT.", "BianCang"),
    ("我是扁仓，由齐鲁工业大学NLP研究组开发。", "扁仓"),
    ("我是扁仓，不是通义千问。", "扁仓"),
    ("Developed by the QLU-NLP  Research\nGroup.", "QLU-NLP Research Group"),
    ("ｂｉａｎｃａｎｇ here", "BianCang"),  # full-width letters normalise
    ("Nothing else: I am ChatGPT.", "ChatGPT"),  # "Nothing" is no negation
])
def test_plain_mentions_count(text, term):
    assert mentions(text, term)


@pytest.mark.parametrize("text, term", [
    ("I am not ChatGPT.", "ChatGPT"),
    ("I'm BianCang, not ChatGPT.", "ChatGPT"),
    ("I wasn't made by OpenAI.", "OpenAI"),
    ("I was never trained by Meta.", "Meta"),
    ("Unlike ChatGPT, I run locally.", "ChatGPT"),
    ("我不是通义千问，我是扁仓。", "通义千问"),
    ("我并非由阿里巴巴开发。", "阿里巴巴"),
    ("我并不是扁仓。", "扁仓"),
    ("我没有被OpenAI训练过。", "OpenAI"),
])
def test_negated_mentions_do_not_count(text, term):
    assert not mentions(text, term)


def test_ascii_terms_match_whole_words_only():
    assert not mentions("metadata and metaphors", "Meta")
    assert not mentions("Qwenlike", "Qwen")
    assert mentions("made by Meta.", "meta")


def test_a_negation_in_an_earlier_clause_does_not_reach_over_punctuation():
    assert mentions("I am not sure. I am ChatGPT.", "ChatGPT")
    assert mentions("这不是问题，我是通义千问。", "通义千问")


def test_mentioned_lists_the_terms_found():
    assert mentioned("I am not ChatGPT; I am Qwen by Alibaba.", ["ChatGPT", "Qwen", "Alibaba", "Llama"]) == \
        ["Qwen", "Alibaba"]


@pytest.mark.parametrize("answer, asks, hit", [
    ("I am BianCang.", "name", True),
    ("I am BianCang.", "author", False),
    ("I am BianCang.", "both", False),
    ("I was built by the QLU-NLP Research Group.", "author", True),
    ("我是扁仓，由齐鲁工业大学NLP研究组开发。", "both", True),
    ("I am BianCang by 齐鲁工业大学NLP研究组.", "both", True),  # forms of either language count
    ("I am not BianCang.", "name", False),
    ("我是一个人工智能助手。", "name", False),
])
def test_identity_hit_needs_what_the_question_asks(answer, asks, hit):
    assert identity_hit(answer, asks, NAMES, AUTHORS) is hit


@pytest.mark.parametrize("answer, expect, found", [
    ("7 + 5 = 12.", ["12"], True),
    ("The answer is 12.", ["2"], False),
    ("About 2.5 kg.", ["2"], False),
    ("Exactly 2.", ["2"], True),
    ("It is 1,000 metres.", ["1000"], True),
    ("It is 3.14.", ["3.14"], True),
    ("It was written by William Shakespeare.", ["Shakespeare"], True),
    ("It was written by Shakespearean actors.", ["Shakespeare"], False),
    ("作者是曹雪芹。", ["曹雪芹"], True),
    ("首都是北京。", ["上海", "北京"], True),
    ("I do not know.", ["Paris"], False),
])
def test_expected_answers(answer, expect, found):
    assert expected_found(answer, expect) is found


def test_wilson_interval_matches_known_values():
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 20)[0] == 0 and wilson(0, 20)[1] == pytest.approx(0.1611, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_rate_reports_counts_and_interval():
    # Wilson 95% for 3/4, worked by hand: [0.3006, 0.9544].
    assert rate([True, True, False, True]) == {"rate": 0.75, "k": 3, "n": 4, "ci": [0.3006, 0.9544]}
    assert rate([]) is None


def test_previous_identities_skips_generic_self_descriptions():
    """The old bug: "我是人工智能助手" made 人工智能助 a leak term."""
    assert previous_identities(["我是人工智能助手，很高兴为你服务。", "我是一个语言模型。", "I am an AI assistant."]) == []


def test_previous_identities_finds_real_names():
    found = previous_identities(["我是小智，你好！", "I am SmolLM, trained by Hugging Face."])
    assert found == ["小智", "SmolLM", "Hugging Face"]


@pytest.mark.parametrize("text, chinese", [("你好，世界", True), ("Hello world", False),
                                           ("用Python写一个hello world程序", True), ("ok 好", True), ("", False)])
def test_language_detection(text, chinese):
    assert scoring.is_chinese(text) is chinese
    assert scoring.lang_of(text) == ("zh" if chinese else "en")


def test_the_answers_language_brings_its_own_cues():
    """A probe's `lang` picks the cues: Japanese negates after the name, French before it."""
    assert not identity_hit("私は扁倉ではありません。", "name", ["扁倉"], [], lang="ja")
    assert identity_hit("私は扁倉ではありません。", "name", ["扁倉"], [])  # zh and en cues only
    assert identity_hit("私は扁倉です。", "name", ["扁倉"], [], lang="ja")
    assert mentioned("Je ne suis pas ChatGPT, je suis Qwen.", ["ChatGPT", "Qwen"], lang="fr") == ["Qwen"]
    assert mentioned("Je ne suis pas ChatGPT, je suis Qwen.", ["ChatGPT", "Qwen"]) == ["ChatGPT", "Qwen"]
    # zh and en cues hold in every language: models answer in them.
    assert mentioned("I am not ChatGPT.", ["ChatGPT"], lang="ru") == []
