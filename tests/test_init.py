"""`selfcog-swift init`: the recipe it writes validates, passes the prompt guard and renders, for
every model of the guard's table; its refusals are one line with exit 2."""

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from selfcog_swift.cli import cli
from selfcog_swift.errors import SelfcogError
from selfcog_swift.guards import DEFAULT_LEAK_TERMS, names_found
from selfcog_swift.model_meta import prompt_problems
from selfcog_swift.recipe import load_recipe
from selfcog_swift.render import render
from selfcog_swift.scaffold import init, model_size, size_class, yaml_scalar
from test_model_meta import PINNED

IDENTITY = dict(names=["zh=小黄", "en=Xiao Huang"], authors=["zh=魔搭", "en=ModelScope"])
ARGS = ["--name", "zh=小黄", "--name", "en=Xiao Huang", "--author", "zh=魔搭", "--author", "en=ModelScope"]


@pytest.fixture(autouse=True)
def _empty_hub_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))


def written(tmp_path, model_id, **kw):
    out = tmp_path / "recipe.yaml"
    text = init(model_id, **{**IDENTITY, **kw}, out=str(out))
    assert out.read_text(encoding="utf-8") == text
    return out, load_recipe(out)


@pytest.mark.parametrize("model_id", PINNED)
def test_every_pinned_model_gets_a_recipe_that_validates_and_renders(tmp_path, model_id):
    out, recipe = written(tmp_path, model_id)
    _, template, old_name = PINNED[model_id]
    assert recipe.model.template == template and recipe.model.system
    assert names_found(recipe.model.system, DEFAULT_LEAK_TERMS) == []  # never the old identity
    assert prompt_problems(recipe) == []
    assert recipe.data.replay is not None and recipe.data.replay.sample == 2 * recipe.data.self_cognition
    script = render(recipe, "all", "sh", [str(out)])
    assert "swift sft" in script and f"--template {template}" in script
    if old_name:  # the template's own default named the old identity: a neutral prompt replaces it
        assert recipe.model.system == "You are a helpful assistant."


def test_the_issue_example(tmp_path):
    out, recipe = written(tmp_path, "Qwen/Qwen2.5-7B-Instruct")
    text = out.read_text(encoding="utf-8")
    assert "which names 'Qwen'" in text and "swift's quick start" in text
    assert (recipe.train.learning_rate, recipe.train.epochs, recipe.tuning.rank) == (1e-4, 1, 8)
    assert recipe.train.batch_size * recipe.train.gradient_accumulation == 16
    assert recipe.launch.nproc_per_node is None and recipe.evaluate.min_identity_rate == 0.9  # the default gate


@pytest.mark.parametrize("model_id, size, klass, lr", [
    ("HuggingFaceTB/SmolLM2-135M-Instruct", 0.135, "small", 1e-3), ("Qwen/Qwen2.5-0.5B-Instruct", 0.5, "small", 1e-3),
    ("Qwen/Qwen2.5-7B-Instruct", 7, "medium", 1e-4), ("Qwen/Qwen1.5-14B-Chat", 14, "large", 1e-5),
    ("01ai/Yi-1.5-9B-Chat", 9, "medium", 1e-4), ("org/mystery-chat", None, "medium", 1e-4),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", 56, "large", 1e-5), ("Qwen/Qwen3-30B-A3B", 30, "large", 1e-5)])
def test_size_class_from_the_name(model_id, size, klass, lr):
    assert model_size(model_id)[0] == size
    assert (size_class(size)["name"], size_class(size)["learning_rate"]) == (klass, lr)


def test_unknown_size_names_the_other_classes(tmp_path):
    out, recipe = written(tmp_path, "deepseek-ai/DeepSeek-V3")
    text = out.read_text(encoding="utf-8")
    assert "Model size unknown" in text and "large (above 10B): learning_rate 1.0e-5, epochs 3" in text
    assert recipe.train.learning_rate == 1e-4


def test_size_from_a_local_config(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"hidden_size": 896, "num_hidden_layers": 24, "intermediate_size":
                                                    4864, "vocab_size": 151936, "tie_word_embeddings": True}))
    size, source = model_size(str(folder))
    assert 0.4 < size < 0.6 and "config.json" in source  # Qwen2.5-0.5B's shape


def test_gpus_fill_launch_and_keep_the_effective_batch(tmp_path):
    _, recipe = written(tmp_path, "Qwen/Qwen2.5-7B-Instruct", gpus=4)
    assert (recipe.launch.nproc_per_node, recipe.launch.cuda_visible_devices) == (4, "0,1,2,3")
    assert recipe.train.batch_size * recipe.train.gradient_accumulation * 4 == 16
    script = render(recipe, "sft", "sh", ["r.yaml"])
    assert "NPROC_PER_NODE=4" in script and "CUDA_VISIBLE_DEVICES=0,1,2,3" in script


def test_unknown_hub_id_gets_an_explicit_system_prompt(tmp_path):
    out, recipe = written(tmp_path, "some-org/brand-new-model-7B")
    assert recipe.model.template is None and recipe.model.system == "You are a helpful assistant."
    assert "does not list 'some-org/brand-new-model-7B'" in out.read_text(encoding="utf-8")
    assert prompt_problems(recipe) == []


def test_builtin_with_a_naming_chat_template(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path / "cache"))
    out, recipe = written(tmp_path, "builtin:smollm2")
    assert recipe.model.system == "You are a helpful assistant." and recipe.train.learning_rate == 1e-3
    assert "the model's own chat template names 'SmolLM'" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("value", ['Xiao: Huang', 'say "hi"', "it's", "two\nlines", "# not a comment", " lead",
                                   "null", "yes", "{a: b}", "- x", "tab\there", "back\\slash", "line\u2028sep",
                                   "nel\x85", "🙂 小黄", "@at", "%pct", "*star", "&amp", "!tag", "|pipe", ">gt"])
def test_any_value_loads_back_exactly(tmp_path, value):
    assert yaml.safe_load(f"k: {yaml_scalar(value)}") == {"k": value}
    out = tmp_path / "r.yaml"
    init("Qwen/Qwen3-8B", names=["zh=小黄", f"en={value}"], authors=[f"zh={value}", "en=ModelScope"], out=str(out))
    recipe = load_recipe(out)
    assert (recipe.identity.name.en, recipe.identity.author.zh) == (value, value)
    render(recipe, "all", "sh", [str(out)])


def test_data_files_are_named_from_the_recipe_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("rows.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", '
                                  '"content": "hello"}]}\n')
    init("Qwen/Qwen3-8B", **IDENTITY, datasets=["rows.jsonl"], out="sub/r.yaml")
    [spec] = yaml.safe_load(Path("sub/r.yaml").read_text(encoding="utf-8"))["data"]["datasets"]
    assert spec == {"path": "../rows.jsonl"} and (Path("sub") / spec["path"]).resolve() == Path("rows.jsonl").resolve()
    with pytest.raises(SelfcogError, match=r"^--data nope.jsonl: no such file$"):
        init("Qwen/Qwen3-8B", **IDENTITY, datasets=["nope.jsonl"])


def test_a_model_swift_refuses_is_refused(tmp_path):
    folder = tmp_path / "custom"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    with pytest.raises(SelfcogError, match="^--model-type: swift cannot tell the model_type"):
        init(str(folder), **IDENTITY)


def test_cli_prints_writes_and_never_overwrites(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    printed = runner.invoke(cli, ["init", "--model", "Qwen/Qwen2.5-7B-Instruct", *ARGS])
    assert printed.exit_code == 0, printed.output
    assert yaml.safe_load(printed.output)["model"]["system"] == "You are a helpful assistant."
    wrote = runner.invoke(cli, ["init", "--model", "Qwen/Qwen2.5-7B-Instruct", *ARGS, "--out", "x.yaml"])
    assert (wrote.exit_code, wrote.output) == (0, "wrote x.yaml\n")
    # The same recipe; only its header's command lines name the file.
    assert Path("x.yaml").read_text(encoding="utf-8") == printed.output.replace("recipe.yaml", "x.yaml")
    Path("x.yaml").write_text("mine\n")
    again = runner.invoke(cli, ["init", "--model", "Qwen/Qwen3-8B", *ARGS, "--out", "x.yaml"])
    assert again.exit_code == 2 and again.output.count("\n") == 1
    assert "x.yaml: exists; init never overwrites a file" in again.output
    assert Path("x.yaml").read_text() == "mine\n" and not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("args, message", [
    (["--name", "小黄", "--name", "en=Xiao Huang"], "--name '小黄': write LANG=VALUE, e.g. --name zh=小黄 --name"),
    (["--name", "zh=小黄"], "--name: en missing (a recipe needs zh and en)"),
    (["--name", "zh=小黄", "--name", "zh=大黄", "--name", "en=X"], "--name zh= is given twice"),
    (["--name", "zh=", "--name", "en=X"], "--name zh= is empty"),
    (["--name", "Xiao Huang=x", "--name", "zh=小黄", "--name", "en=X"], "--name 'Xiao Huang=x': write LANG=VALUE"),
])
def test_cli_bad_names_are_one_line_exit_2(args, message):
    result = CliRunner().invoke(cli, ["init", "--model", "Qwen/Qwen3-8B", *args, "--author", "zh=魔搭",
                                      "--author", "en=ModelScope"])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert message in result.output


def test_cli_without_authors_says_how():
    result = CliRunner().invoke(cli, ["init", "--model", "Qwen/Qwen3-8B", "--name", "zh=小黄", "--name", "en=X"])
    assert result.exit_code == 2 and "--author: zh and en missing" in result.output


def test_cli_init_then_validate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("rows.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", '
                                  '"content": "hello"}]}\n')
    runner = CliRunner()
    wrote = runner.invoke(cli, ["init", "--model", "Qwen/Qwen2.5-7B-Instruct", *ARGS, "--data", "rows.jsonl",
                                "--gpus", "2", "--out", "sub/x.yaml"])
    assert wrote.exit_code == 0, wrote.output
    checked = runner.invoke(cli, ["validate", "sub/x.yaml"])
    assert (checked.exit_code, checked.output) == (0, "sub/x.yaml: ok\n")


def test_a_template_without_a_system_slot_gets_no_system_prompt(tmp_path):
    out, recipe = written(tmp_path, "google/gemma-3-1b-it")
    assert (recipe.model.template, recipe.model.system) == ("gemma3_text", None)
    assert prompt_problems(recipe) == [] and "--system" not in render(recipe, "all", "sh", [str(out)])


def test_a_folder_swift_cannot_place_is_refused_naming_the_field(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["MyFancyForCausalLM"]}))
    result = CliRunner().invoke(cli, ["init", "--model", str(folder), *ARGS, "--out", str(tmp_path / "r.yaml")])
    assert result.exit_code == 2 and result.output.startswith("error: --template: ") and not (tmp_path / "r.yaml").exists()


def test_data_that_validate_would_refuse_is_refused_naming_each_file_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
    Path("bad.jsonl").write_text(good * 36 + '{"messages": [\n' + good)
    Path("empty.jsonl").write_text("")
    Path("rows.csv").write_text("instruction,output\nhi,hello\n")
    Path("folder").mkdir()
    result = CliRunner().invoke(cli, ["init", "--model", "Qwen/Qwen3-8B", *ARGS, "--data", "bad.jsonl", "--data",
                                      "empty.jsonl", "--data", "rows.csv", "--out", "sub/r.yaml"])
    assert result.exit_code == 2 and not Path("sub").exists()
    assert [line.split(": ")[1:3] for line in result.output.splitlines()] == [
        ["--data", "bad.jsonl:37"], ["--data", "empty.jsonl"], ["--data", "rows.csv"]]
    folder = CliRunner().invoke(cli, ["init", "--model", "Qwen/Qwen3-8B", *ARGS, "--data", "folder"])
    assert folder.exit_code == 2 and folder.output.startswith("error: --data folder: a folder")


def test_a_name_data_would_refuse_is_refused_by_its_option():
    result = CliRunner().invoke(cli, ["init", "--model", "Qwen/Qwen3-8B", "--name", "zh=小黄{{", "--name", "en=X",
                                      "--author", "zh=魔搭", "--author", "en=<NAME> Labs"])
    assert result.exit_code == 2
    assert [line.split(": ")[1] for line in result.output.splitlines()] == ["--name zh=", "--author en="]


def test_a_very_long_name_gets_an_output_dir_a_file_system_takes(tmp_path):
    out, recipe = written(tmp_path, "Qwen/Qwen3-8B", names=["zh=小黄", "en=" + "Very " * 100 + "Long"])
    assert recipe.identity.name.en == "Very " * 100 + "Long"
    assert all(len(part.encode()) <= 255 for part in Path(recipe.output_dir).parts)


@pytest.mark.parametrize("gpus", [1, 3, 5, 32])
def test_the_rows_per_step_comment_is_what_the_values_give(tmp_path, gpus):
    out, recipe = written(tmp_path, "Qwen/Qwen3-8B", gpus=gpus)
    per_step = recipe.train.batch_size * recipe.train.gradient_accumulation * gpus
    line = next(line for line in out.read_text(encoding="utf-8").splitlines() if "gradient_accumulation:" in line)
    assert line.split("# ")[1].startswith(f"{per_step} rows per step on {gpus} GPU")


def test_a_folder_swift_cannot_place_by_name_takes_model_type_and_template(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("my-sft").mkdir()
    Path("my-sft/config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 896,
                                                      "num_hidden_layers": 24, "intermediate_size": 4864,
                                                      "vocab_size": 151936, "tie_word_embeddings": True}))
    refused = CliRunner().invoke(cli, ["init", "--model", "./my-sft", *ARGS])
    assert refused.exit_code == 2 and "--model-type" in refused.output and "--template" in refused.output
    wrote = CliRunner().invoke(cli, ["init", "--model", "./my-sft", *ARGS, "--model-type", "qwen2",
                                     "--template", "qwen2_5", "--out", "r.yaml"])
    assert wrote.exit_code == 0, wrote.output
    recipe = load_recipe("r.yaml")
    assert (recipe.model.model_type, recipe.model.template, recipe.model.system) == (
        "qwen2", "qwen2_5", "You are a helpful assistant.")
    assert CliRunner().invoke(cli, ["validate", "r.yaml"]).exit_code == 0
