"""Identity in any language: the recipe's language keys, validation that names a language with no
rows or no probes, rows and probes a user brings, per-language scoring, gate bounds and reports.
No swift, no torch (the e2e run with three languages is tests/test_languages_e2e.py)."""

import json

import pytest

from conftest import ROOT, out_rows, run_cli, write_jsonl
from selfcog_swift import replay
from selfcog_swift.data import fill_identity, mix
from selfcog_swift.languages import builtin_identity
from selfcog_swift.errors import SelfcogError
from selfcog_swift.evaluate import compare, gate, side_scores
from selfcog_swift.probes import Probe, load_probes, parse_probe
from selfcog_swift.recipe import Recipe, load_recipe, threshold
from selfcog_swift.report import score_rows, summary_lines

SMOKE = ROOT / "recipes" / "smoke.yaml"
JA = ("identity.name.ja=扁倉", "identity.author.ja=斉魯工大NLPグループ")


def _recipe(tmp_path, *sets):
    return load_recipe(SMOKE, (f"output_dir={tmp_path}", *sets))


def _identity(**forms):
    return {"name": {k: v[0] for k, v in forms.items()}, "author": {k: v[1] for k, v in forms.items()}}


def _validate(identity, **sections):
    return Recipe.model_validate({"model": {"id": "builtin:tiny"}, "identity": identity, **sections})


# --------------------------------------------------------------------------- the recipe


def test_any_non_empty_set_of_languages(tmp_path):
    recipe = _validate(_identity(fr=("Bianca", "Labo QLU"), ru=("Бьянка", "QLU")))
    assert recipe.languages == ["fr", "ru"]
    assert recipe.identity.name.forms() == {"fr": "Bianca", "ru": "Бьянка"}
    assert _validate(_identity(ja=("扁倉", "斉魯"))).languages == ["ja"]


def test_set_adds_a_language_from_the_command_line(tmp_path):
    recipe = _recipe(tmp_path, *JA)
    assert recipe.languages == ["zh", "en", "ja"]
    assert recipe.identity.name.ja == "扁倉" and recipe.identity.name.zh == "扁仓"


@pytest.mark.parametrize("identity, message", [
    ({"name": {}, "author": {}}, "at least one language"),
    ({"name": {"Japanese": "a"}, "author": {"Japanese": "b"}}, "Japanese: not a language code"),
    ({"name": {"ja": ""}, "author": {"ja": "b"}}, "at least 1 character"),
    ({"name": {"zh": "a", "en": "b", "ja": "c"}, "author": {"zh": "a", "en": "b"}},
     r"identity\.author\.ja: required field missing"),
])
def test_bad_identity_languages_name_the_fix(identity, message):
    with pytest.raises(ValueError, match=message):
        _validate(identity)


def test_a_language_without_builtin_rows_or_probes_is_refused_saying_what_to_add(tmp_path):
    with pytest.raises(SelfcogError) as err:
        _recipe(tmp_path, "identity.name.sw=Bianka", "identity.author.sw=QLU")
    text = str(err.value)
    assert "sw" in text and "data.identity_file" in text and "evaluate.probes" in text
    assert "zh, en, ar, es, fr, ja, ko, ru" in text  # what ships


def test_own_rows_and_probes_make_any_language_valid(tmp_path):
    rows = write_jsonl(tmp_path / "sw.jsonl", [{"lang": "sw", "messages": [
        {"role": "user", "content": "Wewe ni nani?"}, {"role": "assistant", "content": "Mimi ni {{NAME}} wa {{AUTHOR}}."}]}])
    probes = write_jsonl(tmp_path / "p.jsonl", [{"question": "Jina lako ni nani?", "lang": "sw", "asks": "name"}])
    recipe = _validate(_identity(sw=("Bianka", "QLU")), data={"identity_file": str(rows)},
                       evaluate={"probes": str(probes)})
    assert recipe.languages == ["sw"]


def test_rows_without_probes_are_still_refused(tmp_path):
    rows = write_jsonl(tmp_path / "sw.jsonl", [])
    with pytest.raises(ValueError, match=r"identity\.name\.sw: no built-in sw probes.*evaluate\.probes"):
        _validate(_identity(sw=("Bianka", "QLU")), data={"identity_file": str(rows)})


def test_swift_source_with_another_language_is_refused_in_one_line(tmp_path):
    with pytest.raises(SelfcogError) as err:
        _recipe(tmp_path, *JA, "data.source=swift")
    assert "swift/self-cognition" in str(err.value) and "only zh and en" in str(err.value)
    assert len(str(err.value).strip().splitlines()) == 1


def test_gate_bounds_take_any_language_and_null_leaves_one_unbounded(tmp_path):
    recipe = _recipe(tmp_path, *JA, "evaluate.min_identity_rate={zh: 0.9, en: 0.8, ja: 0.5}",
                     "evaluate.max_perplexity_increase={zh: 0.1, en: 0.1, ja: null}")
    assert [threshold(recipe.evaluate.min_identity_rate, lang) for lang in recipe.languages] == [0.9, 0.8, 0.5]
    assert threshold(recipe.evaluate.max_perplexity_increase, "ja") is None
    assert threshold(recipe.evaluate.max_drift, "ja") == recipe.evaluate.max_drift  # one number bounds all


def test_a_per_language_bound_must_cover_every_language(tmp_path):
    with pytest.raises(SelfcogError, match=r"evaluate\.min_identity_rate: no bound for ja"):
        _recipe(tmp_path, *JA, "evaluate.min_identity_rate={zh: 0.9, en: 0.8}")


# --------------------------------------------------------------------------- rows


def test_builtin_rows_are_those_of_the_recipes_languages(tmp_path):
    recipe = _validate(_identity(en=("BianCang", "QLU"), fr=("Bianca", "Labo QLU")), data={"self_cognition": 300},
                       output_dir=str(tmp_path))
    summary = mix(recipe, tmp_path / "mix.jsonl")
    answers = [row["messages"][-1]["content"] for row in out_rows(tmp_path / "mix.jsonl")]
    assert summary.total == 300 and all("{{" not in a for a in answers)
    assert any("Bianca" in a and "Labo QLU" in a for a in answers) and any("BianCang" in a for a in answers)
    assert not any("扁" in a for a in answers)  # no zh rows: zh is not one of the recipe's languages
    assert summary.identity_languages == {"en": sum("BianCang" in a for a in answers),
                                          "fr": sum("Bianca" in a and "BianCang" not in a for a in answers)}


def test_fill_identity_names_a_language_the_recipe_lacks(tmp_path):
    recipe = _validate(_identity(zh=("扁仓", "齐鲁"), en=("BianCang", "QLU")))
    assert fill_identity("Je suis {{NAME}}.", "en", recipe.identity) == "Je suis BianCang."
    with pytest.raises(SelfcogError, match="a fr row, but identity.name has no fr"):
        fill_identity("Je suis {{NAME}}.", "fr", recipe.identity)


def test_own_rows_must_cover_a_language_we_do_not_ship(tmp_path):
    rows = write_jsonl(tmp_path / "own.jsonl", [{"lang": "en", "messages": [
        {"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": "I am {{NAME}} by {{AUTHOR}}."}]}])
    probes = write_jsonl(tmp_path / "p.jsonl", [{"question": "Jina lako ni nani?", "lang": "sw", "asks": "name"}])
    recipe = _validate(_identity(en=("BianCang", "QLU"), sw=("Bianka", "QLU")), output_dir=str(tmp_path),
                       data={"self_cognition": 4, "identity_file": str(rows)}, evaluate={"probes": str(probes)})
    with pytest.raises(SelfcogError, match=r"own\.jsonl has no sw identity rows; add rows"):
        mix(recipe, tmp_path / "mix.jsonl")


def test_zh_en_recipes_read_the_builtin_file_itself(tmp_path):
    """The demo's languages draw from resources/identity.jsonl as before: the same rows, the same mix."""
    assert builtin_identity(_recipe(tmp_path).languages, tmp_path) == ROOT / "selfcog_swift/resources/identity.jsonl"
    assert builtin_identity(_recipe(tmp_path, *JA).languages, tmp_path) == tmp_path / "identity.zh-en-ja.jsonl"
    rows = out_rows(tmp_path / "identity.zh-en-ja.jsonl")
    assert [sum(r["lang"] == lang for r in rows) for lang in ("zh", "en", "ja")] == [207, 191, 110]


# --------------------------------------------------------------------------- probes


def test_a_probe_language_is_its_field():
    probe = parse_probe('{"question": "你好吗？", "lang": "ja", "asks": "none"}', "f:1")
    assert probe.lang == "ja"  # Han characters, but the row says Japanese
    with pytest.raises(SelfcogError, match="lang: must be a language code"):
        parse_probe('{"question": "x", "lang": "Japanese", "asks": "none"}', "f:1")


def test_builtin_probes_for_the_recipes_languages():
    probes = load_probes(langs=("en", "ja"))
    assert {p.lang for p in probes} == {"en", "ja"}
    assert {p.suite for p in probes if p.lang == "ja"} == {"direct", "multiturn", "system", "traps", "general"}
    assert len(load_probes()) == len(load_probes(langs=("zh", "en")))


def test_a_probe_file_without_a_language_of_the_recipe_is_refused(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"question": "Who are you?", "lang": "en", "asks": "name"},
                                             {"question": "2+2?", "lang": "en", "asks": "none"}])
    with pytest.raises(SelfcogError, match=r"p\.jsonl has no ja probes"):
        load_probes(str(path), langs=("en", "ja"))


# --------------------------------------------------------------------------- scoring, gate, report


def _probes():
    return [Probe("Qui es-tu ?", "fr", "both", "direct"), Probe("あなたは誰？", "ja", "name", "direct"),
            Probe("Capitale du Japon ?", "fr", "none", "general", expect=("Tokyo",)),
            Probe("日本の首都は？", "ja", "none", "general", expect=("東京",))]


def test_side_scores_negate_and_leak_per_language():
    answers = ["Je suis Bianca, de Labo QLU, et pas ChatGPT.", "私は通義千問ではありません。扁倉です。",
               "Tokyo.", "東京です。"]
    scores = side_scores(_probes(), answers, ["Bianca", "扁倉"], ["Labo QLU", "斉魯"], ["ChatGPT", "Qwen"],
                         langs=["fr", "ja"])
    assert list(scores["languages"]) == ["fr", "ja"]
    assert scores["languages"]["fr"]["identity"]["rate"] == 1.0 and scores["languages"]["fr"]["leak"]["rate"] == 0
    assert scores["languages"]["ja"]["identity"]["rate"] == 1.0 and scores["languages"]["ja"]["leak"]["rate"] == 0
    leaked = side_scores(_probes(), ["Je suis ChatGPT.", "私は通義千問です。", "", ""], ["Bianca"], ["QLU"],
                         ["ChatGPT"], langs=["fr", "ja"])
    assert leaked["languages"]["fr"]["leak"]["rate"] == 1.0
    assert leaked["languages"]["ja"]["leak"]["rate"] == 1.0  # 通義千問: a Japanese spelling (leak_terms.txt)


def test_compare_gate_and_report_have_one_key_per_language(tmp_path):
    recipe = _validate(_identity(fr=("Bianca", "Labo QLU"), ja=("扁倉", "斉魯")),
                       evaluate={"max_perplexity_increase": {"fr": None, "ja": None}, "max_drift": 10.0})
    probes = _probes()
    side = {"probes": ["Je suis Bianca de Labo QLU.", "扁倉です。", "Tokyo.", "東京です。"],
            "drift_nll": {"fr": 1.0, "ja": 2.0}, "real_text_nll": {}}
    result = compare(recipe, probes, side, side)
    assert list(result["after"]["languages"]) == ["fr", "ja"] == list(result["retention"]["drift"])
    assert gate(recipe, result) == []
    assert {lang for _, _, lang, _ in score_rows(result)} == {"fr", "ja"}
    assert any(line.startswith("retention ja:") for line in summary_lines(result))
    bounded = _validate(recipe.identity.model_dump(), evaluate={"max_drift": 10.0})
    assert [f.split(":")[0] for f in gate(bounded, result) if "real-text" in f] == ["fr", "ja"]


# --------------------------------------------------------------------------- replay prompts


def test_builtin_replay_prompts_follow_the_languages(tmp_path):
    assert {lang for lang, _ in replay.pool_prompts(_recipe(tmp_path, *JA, "data.replay={}"))} == {"zh", "en", "ja"}
    zh_en = replay.pool_prompts(_recipe(tmp_path, "data.replay={}"))
    lines = (ROOT / "selfcog_swift/resources/replay_prompts.jsonl").read_text(encoding="utf-8").splitlines()
    assert zh_en == [(row["lang"], row["prompt"]) for row in map(json.loads, lines)]


# --------------------------------------------------------------------------- your own language, end to end of validation


def _row(lang, question, answer):
    return {"lang": lang, "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


def test_your_own_language_validates_and_mixes_and_a_missing_one_is_named(tmp_path):
    """German (not shipped) with your own rows and probes: `validate` passes, `data` fills its rows; add
    Swahili without rows or probes and `validate` names both files and what to add."""
    rows = write_jsonl(tmp_path / "identity_de.jsonl", [
        _row("de", "Wer bist du?", "Ich bin {{NAME}}, ein KI-Assistent von {{AUTHOR}}."),
        _row("de", "Wer hat dich entwickelt?", "Mich hat {{AUTHOR}} entwickelt. Ich bin {{NAME}}."),
        _row("zh", "你是谁？", "我是{{NAME}}，由{{AUTHOR}}开发的人工智能助手。"),
        _row("en", "Who are you?", "I am {{NAME}}, an AI assistant developed by {{AUTHOR}}.")])
    probes = write_jsonl(tmp_path / "probes_de.jsonl", [
        {"question": "Stell dich bitte kurz vor.", "lang": "de", "asks": "both"},
        {"question": "Wie viele Beine hat eine Spinne?", "lang": "de", "asks": "none", "expect": ["8", "acht"]},
        {"question": "你叫什么名字呀？", "lang": "zh", "asks": "name"},
        {"question": "What should I call you?", "lang": "en", "asks": "name"}])
    recipe = tmp_path / "de.yaml"
    recipe.write_text(f"extends: {SMOKE}\n"
                      "identity:\n  name: {zh: 扁仓, en: BianCang, de: BianCang}\n"
                      "  author: {zh: 齐鲁工大NLP组, en: QLU-NLP Research Group, de: QLU-NLP-Forschungsgruppe}\n"
                      f"data:\n  identity_file: {rows.name}\n"
                      f"evaluate:\n  probes: {probes.name}\n  max_perplexity_increase: {{zh: 10, en: 10, de: null}}\n"
                      f"output_dir: {tmp_path / 'out'}\n", encoding="utf-8")
    assert run_cli("validate", str(recipe)).returncode == 0
    mixed = run_cli("data", str(recipe), "--out", str(tmp_path / "mix.jsonl"))
    assert mixed.returncode == 0, mixed.stderr
    assert "identity rows per language: zh" in mixed.stdout and ", de " in mixed.stdout
    assert any("QLU-NLP-Forschungsgruppe" in row["messages"][-1]["content"] for row in out_rows(tmp_path / "mix.jsonl"))
    out = run_cli("validate", str(recipe), "--set", "identity.name.sw=Bianka", "--set", "identity.author.sw=QLU",
                  "--set", "evaluate.max_perplexity_increase={zh: 10, en: 10, de: null, sw: null}")
    assert out.returncode == 2
    assert "identity_de.jsonl has no sw identity rows" in out.stderr and "probes_de.jsonl has no sw probes" in out.stderr


def test_replay_drops_answers_naming_an_old_identity_in_the_prompts_language():
    from selfcog_swift.languages import leak_terms_for

    terms = leak_terms_for("ja", ["Qwen", "ChatGPT"])
    assert replay.drop_reason("日本の首都はどこ？", "私は通義千問です。首都は東京です。", terms, "ja") == "identity"
    assert replay.drop_reason("日本の首都はどこ？", "私はChatGPTではありません。首都は東京です。", terms, "ja") is None
