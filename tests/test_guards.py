import json

import pytest

from conftest import ROOT
from selfcog_swift.errors import SelfcogError
from selfcog_swift.guards import advice, default_system_text, leak_terms, names_found, set_default_system
from selfcog_swift.model_meta import prompt_problems
from selfcog_swift.recipe import load_recipe

SMOL_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


@pytest.fixture
def recipe():
    return load_recipe(ROOT / "recipes" / "smoke.yaml", ("model.system=null",))


def _local(recipe, folder, template="chatml"):
    recipe.model.id, recipe.model.model_type, recipe.model.template = str(folder), "llama", template
    return recipe


def test_qwen2_5_default_system_prompt_stops_the_run(recipe):
    recipe.model.id = "Qwen/Qwen2.5-7B-Instruct"
    assert prompt_problems(recipe) == [
        "model.system: swift template 'qwen2_5' trains with the default system prompt \"You are Qwen, created by "
        "Alibaba Cloud. You are a helpful assistant.\" which names 'Qwen'; set model.system, e.g. model.system: "
        "You are a helpful assistant."]
    recipe.model.template = "qwen"  # a template whose default names no one passes
    assert prompt_problems(recipe) == []


def test_model_chat_template_default_stops_the_run(recipe, tmp_path):
    (tmp_path / "chat_template.jinja").write_text(SMOL_TEMPLATE)
    [problem] = prompt_problems(_local(recipe, tmp_path))
    assert problem.startswith(f"model.system: the model's own chat template ({tmp_path})") and "naming 'SmolLM'" in problem
    recipe.model.system = "You are a helpful assistant."
    assert prompt_problems(recipe) == []


def test_recipe_system_prompt_naming_old_identity_stops(recipe):
    recipe.model.system = "你是通义千问。"
    assert prompt_problems(recipe) == ["model.system: names '通义千问', an identity the model should lose; write a "
                                       "system prompt without it, e.g. model.system: You are a helpful assistant."]


def test_set_default_system_replaces_the_old_default(tmp_path):
    (tmp_path / "chat_template.jinja").write_text(SMOL_TEMPLATE)
    set_default_system(tmp_path, 'You are 扁仓 "BianCang".')
    text = default_system_text((tmp_path / "chat_template.jinja").read_text())
    assert 'You are 扁仓 "BianCang".' in text and "SmolLM" not in text


def test_set_default_system_in_tokenizer_config(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": SMOL_TEMPLATE}))
    set_default_system(tmp_path, "You are a helpful assistant.")
    template = json.loads((tmp_path / "tokenizer_config.json").read_text())["chat_template"]
    text = default_system_text(template)
    assert "SmolLM" not in text and "You are a helpful assistant." in text


def test_leak_terms_skip_the_new_identity_and_match_words(recipe):
    recipe.identity.author.en = "Meta AI Lab"
    recipe.evaluate.leak_terms = ["OldBot", "Qwen"]
    terms = leak_terms(recipe, ["小智"])
    assert "Meta AI" not in terms and "Qwen" in terms
    # resources/leak_terms.txt first (its comments left out), then the recipe's, then the extra, no repeats.
    assert terms[0] == "Qwen" and terms[-2:] == ["OldBot", "小智"] and terms.count("Qwen") == 1
    assert not any(term.startswith("#") for term in terms)
    assert names_found("metadata about llamas", ["Meta AI", "Llama"]) == []
    assert names_found("I am Llama, by Meta AI.", ["Meta AI", "Llama"]) == ["Meta AI", "Llama"]


def test_advice_warns_with_numbers(recipe):
    assert not advice(recipe, 300, 400), "builtin:tiny has random weights: nothing to forget"
    recipe.model.id = "Qwen/Qwen2.5-7B-Instruct"
    assert any("above 2:1" in n and "300:100" in n for n in advice(recipe, 300, 400))
    assert advice(recipe, 400, 799) == []  # the demo's measured mix, 400:399, is no warning
    assert any("below 1:50" in n for n in advice(recipe, 1, 100))
    recipe.tuning.target_modules = ["q_proj", "v_proj"]
    assert any("MLP" in n for n in advice(recipe, 10, 30))
    recipe.tuning.target_modules = "all-linear"
    recipe.swift_args = {"sft": {"adapters": ["/ckpt/knowledge"]}}
    assert any("catastrophic forgetting" in n for n in advice(recipe, 50, 50))
    recipe.swift_args = {}
    assert advice(recipe, 10, 30) == []


def test_set_default_system_twice_is_idempotent(tmp_path):
    (tmp_path / "chat_template.jinja").write_text(SMOL_TEMPLATE)
    set_default_system(tmp_path, "You are a helpful assistant.")
    once = (tmp_path / "chat_template.jinja").read_text()
    assert once != SMOL_TEMPLATE and once.endswith(SMOL_TEMPLATE)  # the first call prefixes it
    set_default_system(tmp_path, "You are a helpful assistant.")
    assert (tmp_path / "chat_template.jinja").read_text() == once  # the second leaves it alone
    (tmp_path / "chat_template.jinja").unlink()
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": SMOL_TEMPLATE}))
    for _ in range(2):
        set_default_system(tmp_path, "You are a helpful assistant.")
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["chat_template"] == once


@pytest.mark.e2e
def test_smollm2_real_template_is_caught_and_fixed(recipe, tmp_path):
    """SmolLM2's own chat template names SmolLM/Hugging Face; check and fix it on the real files."""
    import shutil

    from transformers import AutoTokenizer

    from selfcog_swift.models import prepare

    smol = prepare("smollm2")
    for name in smol.iterdir():
        if name.suffix != ".safetensors":
            shutil.copy(name, tmp_path / name.name)
    before = AutoTokenizer.from_pretrained(tmp_path).apply_chat_template([{"role": "user", "content": "hi"}],
                                                                        tokenize=False)
    assert "SmolLM" in before
    assert "naming 'SmolLM'" in " ".join(prompt_problems(_local(recipe, tmp_path)))
    set_default_system(tmp_path, "You are BianCang's helpful assistant.")
    after = AutoTokenizer.from_pretrained(tmp_path).apply_chat_template([{"role": "user", "content": "hi"}],
                                                                       tokenize=False)
    assert "SmolLM" not in after and "You are BianCang's helpful assistant." in after
    with_system = AutoTokenizer.from_pretrained(tmp_path).apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}], tokenize=False)
    assert "Be brief." in with_system and "BianCang's" not in with_system


def test_run_refuses_before_building_or_downloading(recipe, tmp_path, monkeypatch):
    from selfcog_swift import driver

    def never(*_):
        raise AssertionError("prepare_model ran before the prompt check")

    monkeypatch.setattr(driver, "prepare_model", never)
    recipe.model.id, recipe.output_dir = "Qwen/Qwen2.5-7B-Instruct", str(tmp_path / "out")
    with pytest.raises(SelfcogError, match=r"^model.system: swift template 'qwen2_5' trains with"):
        driver.run(recipe, ["r.yaml"], echo=lambda *_: None)
    with pytest.raises(SelfcogError, match="names 'Qwen'"):
        driver.dry_run(recipe, lambda *_: None)
    assert not (tmp_path / "out").exists()


def test_served_prompt_defaults_to_the_template_default(recipe, tmp_path):
    """Without model.system the merged model serves with swift's template default (builtin:tiny: qwen's)."""
    from selfcog_swift.driver import fix_served_prompt

    (tmp_path / "chat_template.jinja").write_text(SMOL_TEMPLATE)
    said = []
    fix_served_prompt(recipe, str(tmp_path), said.append)
    text = default_system_text((tmp_path / "chat_template.jinja").read_text())
    assert "You are a helpful assistant." in text and "SmolLM" not in text and len(said) == 1
