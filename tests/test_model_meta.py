"""model_meta: a recipe's model resolved offline to swift's template and default system prompts,
and the refusal of a prompt that keeps an old identity."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from selfcog_swift import model_meta
from selfcog_swift.guards import DEFAULT_LEAK_TERMS, names_found
from selfcog_swift.model_meta import model_name, prompt_problems, registry_entry, resolve
from selfcog_swift.recipe import Recipe

# Popular hub ids: (model_type, template, the old identity swift's template default names, or None).
# Facts of swift 4.6.0's registry (test_pinned_ids_are_swifts_own_answers checks them against it).
PINNED = {
    "Qwen/Qwen1.5-14B-Chat": ("qwen2", "qwen", None),
    "Qwen/Qwen2-7B-Instruct": ("qwen2", "qwen", None),
    "Qwen/Qwen2.5-7B-Instruct": ("qwen2", "qwen2_5", "Qwen"),
    "qwen/Qwen2.5-14B-Instruct": ("qwen2", "qwen2_5", "Qwen"),  # ModelScope's lower-case organisation
    "Qwen/Qwen2.5-0.5B-Instruct": ("qwen2", "qwen2_5", "Qwen"),
    "Qwen/Qwen3-8B": ("qwen3", "qwen3", None),
    "LLM-Research/Meta-Llama-3-8B-Instruct": ("llama", "llama3", None),
    "meta-llama/Meta-Llama-3.1-8B-Instruct": ("llama", "llama3_2", None),
    "meta-llama/Llama-3.2-3B-Instruct": ("llama", "llama3_2", None),
    "ZhipuAI/glm-4-9b-chat": ("chatglm4", "chatglm4", None),
    "Shanghai_AI_Laboratory/internlm2_5-7b-chat": ("internlm2", "internlm2", "InternLM"),
    "01ai/Yi-1.5-9B-Chat": ("yi", "chatml", None),
    "deepseek-ai/deepseek-llm-7b-chat": ("llama", "deepseek", None),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": ("qwen2", "deepseek_r1", None),
    "baichuan-inc/Baichuan2-13B-Chat": ("baichuan2", "baichuan", None),
    "mistralai/Mistral-7B-Instruct-v0.3": ("mistral", "llama", None),
    "google/gemma-2-9b-it": ("gemma2", "gemma", None),
}
SMOL_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}")


def recipe(model_id, **model):
    return Recipe.model_validate({"model": {"id": model_id, **model}, "identity": {
        "name": {"zh": "小黄", "en": "Xiao Huang"}, "author": {"zh": "魔搭", "en": "ModelScope"}}})


@pytest.fixture(autouse=True)
def _empty_hub_caches(tmp_path, monkeypatch):
    """No model of this machine's hub caches leaks into the verdicts."""
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))


@pytest.mark.parametrize("model_id", PINNED)
def test_pinned_hub_ids_resolve_offline_with_their_verdict(model_id):
    model_type, template, old_name = PINNED[model_id]
    meta = resolve(recipe(model_id))
    assert (meta.model_type, meta.template) == (model_type, template)
    problems = prompt_problems(recipe(model_id))
    if old_name is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(f"model.system: swift template {template!r} trains with "
                                                             f"the default system prompt")
        assert f"which names {old_name!r}; set model.system, e.g. model.system: " in problems[0]
    # An explicit system prompt is what swift trains with instead: every id passes with one.
    assert prompt_problems(recipe(model_id, system="You are a helpful assistant.")) == []


def test_pinned_ids_are_swifts_own_answers():
    from swift.model import get_matched_model_meta
    from swift.template import TEMPLATE_MAPPING

    for model_id, (model_type, template, old_name) in PINNED.items():
        meta = get_matched_model_meta(model_id)
        assert (meta.model_type, meta.template) == (model_type, template), model_id
        found = names_found(TEMPLATE_MAPPING[template].default_system, DEFAULT_LEAK_TERMS)
        assert found[:1] == ([old_name] if old_name else []), model_id


def test_table_file_matches_installed_swift():
    """swift_models.json is what tools/make_swift_models.py writes from the installed swift."""
    sys.path.insert(0, str(ROOT / "tools"))
    import make_swift_models

    assert model_meta.TABLE_FILE.read_text(encoding="utf-8") == make_swift_models.text(), \
        "stale: run .venv/bin/python tools/make_swift_models.py"


def test_names_match_as_swift_matches_them():
    """Every registered name, as written on ModelScope and HF, in hub cache paths, in any case."""
    from swift.model import MODEL_MAPPING, get_matched_model_meta

    ids = {value for meta in MODEL_MAPPING.values() for group in meta.model_groups for model in group.models
           for value in (model.ms_model_id, model.hf_model_id) if isinstance(value, str)}
    variants = [*sorted(ids)[::7], "Qwen/Qwen2.5-7B-Instruct/", "QWEN/QWEN2.5-7B-INSTRUCT",
                "/cache/hub/models--Qwen--Qwen2.5-7B-Instruct/snapshots/0123abc",
                "/cache/modelscope/hub/models/Qwen/Qwen2___5-7B-Instruct", "/data/models/Qwen3-8B", "nobody/nothing-1B"]
    for model_id in variants:
        meta = get_matched_model_meta(model_id)
        entry = registry_entry(model_id)
        if meta is None:
            assert entry is None, model_id
            continue
        template = meta.template or (meta.candidate_templates[0] if len(meta.candidate_templates) == 1 else None)
        assert entry == (meta.model_type, template), model_id
    assert model_name("/cache/modelscope/hub/models/Qwen/Qwen2___5-7B-Instruct") == "qwen2.5-7b-instruct"


def test_explicit_template_wins():
    assert prompt_problems(recipe("Qwen/Qwen2.5-7B-Instruct", template="qwen")) == []
    [problem] = prompt_problems(recipe("Qwen/Qwen1.5-14B-Chat", template="qwen2_5"))
    assert "'qwen2_5' trains with the default system prompt" in problem
    assert resolve(recipe("Qwen/Qwen1.5-14B-Chat", template="qwen2_5")).template_from == "model.template"


def test_system_prompt_naming_the_old_identity_is_refused():
    [problem] = prompt_problems(recipe("Qwen/Qwen1.5-14B-Chat", system="You are Qwen, a helpful assistant."))
    assert problem.startswith("model.system: names 'Qwen', an identity the model should lose")
    # Unless that name is the new identity.
    fine = recipe("Qwen/Qwen1.5-14B-Chat", system="You are Qwen.")
    fine.identity.name.en = "Qwen"
    assert prompt_problems(fine) == []


def test_unknown_hub_id_asks_for_a_system_prompt():
    [problem] = prompt_problems(recipe("some-org/brand-new-model-7B"))
    assert problem.startswith("model.system: swift 4.6's registry does not list 'some-org/brand-new-model-7B'")
    assert "set model.system, e.g. model.system: You are a helpful assistant. (or set model.template)" in problem
    assert prompt_problems(recipe("some-org/brand-new-model-7B", system="You are a helpful assistant.")) == []
    assert prompt_problems(recipe("some-org/brand-new-model-7B", template="chatml")) == []


def test_what_swift_refuses_is_named():
    assert prompt_problems(recipe("Qwen/Qwen2.5-7B-Instruct", template="qwen9", system="Hi.")) == [
        "model.template: 'qwen9' is not a swift 4.6 template (e.g. qwen, chatml, llama3_2)"]
    assert prompt_problems(recipe("Qwen/Qwen2.5-7B-Instruct", model_type="qwen9", template="qwen"))[0].startswith(
        "model.model_type: 'qwen9' is not a swift 4.6 model_type")
    # Given only model_type, swift needs the one template it has for it; qwen2 has several.
    assert prompt_problems(recipe("org/custom-7b", model_type="qwen2", system="Hi.")) == [
        "model.template: swift has several templates for model_type 'qwen2' and cannot pick one; set model.template"]


def test_local_folder_chat_template_naming_smollm(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    (folder / "chat_template.jinja").write_text(SMOL_TEMPLATE)
    # LlamaForCausalLM is four of swift's model types: swift refuses the folder without model_type.
    problems = prompt_problems(recipe(str(folder), system="You are a helpful assistant."))
    assert problems == [f"model.model_type: swift cannot tell the model_type of {folder} from its name or config.json "
                        "(LlamaForCausalLM: codefuse_codellama, llama, openbuddy_llama, yi); set model.model_type "
                        "and model.template"]
    (folder / "args.json").write_text(json.dumps({"model_type": "llama", "template": "chatml"}))
    meta = resolve(recipe(str(folder)))
    assert (meta.model_type, meta.template, meta.template_from) == ("llama", "chatml", f"{folder}/args.json")
    [problem] = prompt_problems(recipe(str(folder)))
    assert problem.startswith(f"model.system: the model's own chat template ({folder}) adds a default system prompt "
                              "naming 'SmolLM' when served without one")
    assert prompt_problems(recipe(str(folder), system="You are a helpful assistant.")) == []


def test_local_folder_is_matched_by_name_like_a_hub_id(tmp_path):
    folder = tmp_path / "Qwen2.5-7B-Instruct"
    folder.mkdir()
    assert resolve(recipe(str(folder))).template == "qwen2_5"
    assert "names 'Qwen'" in prompt_problems(recipe(str(folder)))[0]


def test_hub_model_already_downloaded_has_its_chat_template_read(tmp_path):
    snapshot = tmp_path / "hf" / "models--Org--Chatty-7B" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "tokenizer_config.json").write_text(json.dumps({"chat_template": SMOL_TEMPLATE}))
    [problem] = prompt_problems(recipe("Org/Chatty-7B", template="chatml"))
    assert f"chat template ({snapshot})" in problem and "naming 'SmolLM'" in problem


def test_builtins_resolve_before_they_are_built(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path / "empty"))
    meta = resolve(recipe("builtin:smollm2"))
    assert (meta.model_type, meta.template, meta.default_system) == ("llama", "chatml", None)
    assert "SmolLM" in meta.chat_default and meta.chat_from == "builtin:smollm2's chat template"
    assert "naming 'SmolLM'" in prompt_problems(recipe("builtin:smollm2"))[0]
    assert prompt_problems(recipe("builtin:tiny")) == []
    assert not (tmp_path / "empty").exists()  # nothing was built


def test_resolving_imports_neither_swift_nor_torch():
    code = ("import sys; from selfcog_swift.model_meta import prompt_problems\n"
            "from selfcog_swift.recipe import Recipe\n"
            "r = Recipe.model_validate({'model': {'id': 'Qwen/Qwen2.5-7B-Instruct'}, 'identity': {'name': {'zh': 'a', "
            "'en': 'b'}, 'author': {'zh': 'c', 'en': 'd'}}})\n"
            "assert prompt_problems(r)\n"
            "print('HEAVY', sorted(m for m in ('torch', 'swift', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert "HEAVY []" in out.stdout, out.stderr[-2000:]


def test_modelscope_cache_and_hf_revisions_are_found(tmp_path):
    ms = tmp_path / "ms" / "models" / "qwen" / "Chatty2___5-7B"  # ModelScope: lower-case org, `.` as ___
    ms.mkdir(parents=True)
    (ms / "chat_template.jinja").write_text(SMOL_TEMPLATE)
    assert "chat template (" + str(ms) + ")" in prompt_problems(recipe("Qwen/Chatty2.5-7B", template="chatml"))[0]
    repo = tmp_path / "hf" / "models--Org--Pinned-7B"
    for commit, template in (("aaa", SMOL_TEMPLATE), ("bbb", "{{ messages[0]['content'] }}")):
        (repo / "snapshots" / commit).mkdir(parents=True)
        (repo / "snapshots" / commit / "chat_template.jinja").write_text(template)
    (repo / "refs").mkdir()
    (repo / "refs" / "v1").write_text("aaa")
    (repo / "refs" / "main").write_text("bbb")
    assert prompt_problems(recipe("Org/Pinned-7B", template="chatml")) == []  # main: no default prompt
    assert "naming 'SmolLM'" in prompt_problems(recipe("Org/Pinned-7B", template="chatml", revision="v1"))[0]
    assert "naming 'SmolLM'" in prompt_problems(recipe("Org/Pinned-7B", template="chatml", revision="aaa"))[0]


def test_a_missing_local_folder_is_named():
    [problem] = prompt_problems(recipe("./models/my-own-7b"))
    assert problem.startswith("model.system: ./models/my-own-7b is no folder here")


def test_a_system_prompt_is_refused_where_swifts_template_takes_none():
    """swift asserts (TemplateMeta.check_system) when --system meets a template without a system slot."""
    assert resolve(recipe("google/gemma-3-1b-it")).template == "gemma3_text"
    assert not model_meta.takes_system("gemma3_text") and model_meta.takes_system("gemma")
    [problem] = prompt_problems(recipe("google/gemma-3-1b-it", system="You are a helpful assistant."))
    assert problem.startswith("model.system: swift template 'gemma3_text' takes no system prompt")
    assert prompt_problems(recipe("google/gemma-3-1b-it")) == []
    assert prompt_problems(recipe("google/gemma-2-9b-it", system="You are a helpful assistant.")) == []


def test_a_folder_swift_cannot_place_is_refused_before_it_trains_without_a_chat_format(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["MyFancyForCausalLM"]}))
    meta = resolve(recipe(str(folder)))
    assert (meta.model_type, meta.template) == (None, "dummy")
    problems = prompt_problems(recipe(str(folder), system="You are a helpful assistant."))
    assert [p.split(":")[0] for p in problems] == ["model.template"] and "MyFancyForCausalLM" in problems[0]
    assert prompt_problems(recipe(str(folder), template="chatml", system="You are a helpful assistant.")) == []
