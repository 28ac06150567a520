"""preflight.py: everything `run` would refuse, all at once, each problem `WHERE: field: message`."""

import json
import re
import shlex
import subprocess
import sys

import pytest

from conftest import RECIPES, ROOT, run_cli
from selfcog_swift.preflight import PREFIX_ROWS, checked_recipe, problems_of
from selfcog_swift.recipe_files import PATH_RULE, RecipeProblems

IDENTITY = "identity:\n  name: {zh: 小黄, en: Xiao Huang}\n  author: {zh: 魔搭, en: ModelScope}\n"
GOOD_ROW = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
# WHERE: field: message — WHERE is file:line or --set
SHAPE = re.compile(r"^error: (\S+:\d+|--set): [\w.\[\]]+: \S")


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rows(path, items):
    return write(path, "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items))


def recipe_text(data="", extra=""):
    return f"model:\n  id: builtin:tiny\n  system: You are a helpful assistant.\n{IDENTITY}data:\n{data}{extra}"


def error_lines(out):
    return [line for line in out.stderr.splitlines() if line.startswith("error: ")]


def test_validate_lists_every_problem_with_its_line(tmp_path):
    rows(tmp_path / "bad.jsonl", [GOOD_ROW, GOOD_ROW, "{not json"])
    path = write(tmp_path / "r.yaml", recipe_text(
        "  datasets:\n"
        "    - {path: AI-ModelScope/alpaca-gpt4-data-zh}\n"
        "    - {path: nowhere.jsonl}\n"
        "    - {path: bad.jsonl}\n",
        "train:\n  learning_rat: 1\nswift_args:\n  sft: {lora_rnk: 8}\n"))
    out = run_cli("validate", str(path), "--set", "train.epochs=many")
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    lines = error_lines(out)
    assert len(lines) == len(out.stderr.splitlines()) == 6, out.stderr
    assert all(SHAPE.match(line) for line in lines), out.stderr
    expected = [
        f"{path}:13: train.learning_rat: unknown key; did you mean 'learning_rate'?",
        "--set: train.epochs: Input should be a valid number",
        f"{path}:9: data.datasets[0].path: 'AI-ModelScope/alpaca-gpt4-data-zh' looks like a hub dataset id",
        f"{path}:10: data.datasets[1].path: file not found: {tmp_path / 'nowhere.jsonl'} ({PATH_RULE})",
        f"{path}:11: data.datasets[2].path: {tmp_path / 'bad.jsonl'}:3: malformed JSON",
        f"{path}:15: swift_args.sft.lora_rnk: swift sft has no such flag; did you mean lora_rank?",
    ]
    for text in expected:
        assert any(text in line for line in lines), (text, out.stderr)
    assert "modelscope download --dataset AI-ModelScope/alpaca-gpt4-data-zh" in out.stderr


@pytest.mark.parametrize("command", [["render"], ["run", "--dry-run"], ["run"], ["data", "--out", "mix.jsonl"]])
def test_every_command_refuses_with_every_problem(tmp_path, command):
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 5\n  datasets: [{path: org/some-set}]\n",
                                                  "output_dir: out\nswift_args: {sft: {lora_rnk: 8}}\n"))
    out = run_cli(command[0], str(path), *command[1:], cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(error_lines(out)) == 2 and all(SHAPE.match(line) for line in error_lines(out)), out.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "mix.jsonl").exists()


def test_a_plain_string_where_two_languages_are_needed_gets_an_example(tmp_path):
    path = write(tmp_path / "r.yaml", "model: {id: builtin:tiny}\nidentity: {name: 小黄, author: ModelScope}\n")
    with pytest.raises(RecipeProblems) as exc:
        checked_recipe(path)
    assert str(exc.value).splitlines() == [
        f"{path}:2: identity.name: needs one name per language, e.g. name: {{zh: 小黄, en: <in English>}}",
        f"{path}:2: identity.author: needs one author per language, e.g. author: {{zh: <中文>, en: ModelScope}}"]


def test_set_values_are_blamed_on_set_not_on_a_file_line(tmp_path):
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 5\n"))
    problems, _ = problems_of(path, ("train.learning_rate=fast", "identity.name=小黄", "nonsense"))
    assert [str(p) for p in problems] == [
        "--set: 'nonsense': expected key.path=value",
        "--set: identity.name: needs one name per language, e.g. name: {zh: 小黄, en: <in English>}",
        "--set: train.learning_rate: Input should be a valid number, unable to parse string as a number"]


def test_an_across_sections_error_names_the_line_of_its_field(tmp_path):
    path = write(tmp_path / "r.yaml", recipe_text("  source: swift\n  self_cognition: 5\n",
                                                  "train:\n  epochs: 1\n  batches: similar_length\n"))
    problems, _ = problems_of(path)
    assert [p.where for p in problems] == [f"{path}:12"] and problems[0].field == "train.batches"


def test_errors_in_a_parent_recipe_name_the_parent_file(tmp_path):
    parent = write(tmp_path / "base" / "base.yaml", recipe_text("  datasets:\n    - {path: gone.jsonl}\n"))
    child = write(tmp_path / "child.yaml", "extends: base/base.yaml\ntrain: {epochs: 1}\n")
    problems, _ = problems_of(child)
    assert [str(p) for p in problems] == [
        f"{parent}:9: data.datasets[0].path: file not found: {tmp_path / 'base' / 'gone.jsonl'} ({PATH_RULE})"]


def test_relative_paths_are_read_from_the_file_that_states_them(tmp_path, monkeypatch):
    """The path rule, for every path field: the recipe file's folder; --set values: the working directory."""
    folder = tmp_path / "project"
    rows(folder / "data" / "a.jsonl", [GOOD_ROW])
    rows(folder / "data" / "ident.jsonl", [{"query": "Who are you?", "response": "I am {{NAME}}."}])
    rows(folder / "prompts.jsonl", [{"prompt": "hi"}])
    write(folder / "probes.jsonl", "".join(json.dumps({"question": "Who are you?", "lang": lang, "asks": "name"}) + "\n"
                                           for lang in ("zh", "en")))
    write(folder / "base.yaml", recipe_text(
        "  self_cognition: 5\n  identity_file: data/ident.jsonl\n  datasets: [{path: data/a.jsonl}]\n"
        "  replay: {prompts: prompts.jsonl}\n", "evaluate: {probes: probes.jsonl}\noutput_dir: runs/x\n"))
    write(folder / "recipes" / "child.yaml", "extends: ../base.yaml\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    recipe = checked_recipe(folder / "recipes" / "child.yaml")
    assert recipe.data.datasets[0].path == str(folder / "data" / "a.jsonl")
    assert recipe.data.identity_file == str(folder / "data" / "ident.jsonl")
    assert recipe.data.replay.prompts == str(folder / "prompts.jsonl")
    assert recipe.evaluate.probes == str(folder / "probes.jsonl")
    assert recipe.output_dir == str(folder / "runs" / "x")
    rows(elsewhere / "b.jsonl", [GOOD_ROW])
    recipe = checked_recipe(folder / "base.yaml", ("data.datasets=[{path: b.jsonl}]", "output_dir=out"))
    assert (recipe.data.datasets[0].path, recipe.output_dir) == ("b.jsonl", "out")


def test_committed_recipes_land_where_the_readme_says():
    for name, output in (("demo", "output/demo"), ("smoke", "output/smoke")):
        out = run_cli("render", f"recipes/{name}.yaml", "--stage", "sft")
        assert out.returncode == 0 and out.stderr == "", out.stderr
        assert f"--output_dir {output} " in out.stdout.replace("\\\n", " ").replace("    ", "")
    from_recipes = run_cli("render", "smoke.yaml", "--stage", "sft", cwd=ROOT / "recipes").stdout
    assert "--output_dir ../output/smoke " in from_recipes  # the same folder, from ./recipes


def test_missing_files_refuse_every_check_and_name_the_rule(tmp_path):
    path = write(tmp_path / "r.yaml", recipe_text(
        "  self_cognition: 5\n  identity_file: id.jsonl\n  replay: {prompts: p.jsonl}\n", "evaluate: {probes: pr.jsonl}\n"))
    problems, recipe = problems_of(path)
    assert recipe is not None and all(p.missing for p in problems)
    assert [(p.field, p.message) for p in problems] == [
        ("data.identity_file", f"file not found: {tmp_path / 'id.jsonl'} ({PATH_RULE})"),
        ("data.replay.prompts", f"file not found: {tmp_path / 'p.jsonl'} ({PATH_RULE})"),
        ("evaluate.probes", f"file not found: {tmp_path / 'pr.jsonl'} ({PATH_RULE})")]


def test_render_warns_of_files_absent_here_but_refuses_what_is_wrong_anywhere(tmp_path):
    out = run_cli("render", "recipes/biancang.yaml", "--stage", "sft")
    assert out.returncode == 0 and "swift sft" in out.stdout
    assert out.stderr.startswith("warning: recipes/biancang.yaml:19: data.datasets[0].path: file not found")
    assert run_cli("validate", "recipes/biancang.yaml").returncode == 2  # run would refuse it on this machine


def test_an_empty_mix_is_refused(tmp_path):
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 0\n"))
    out = run_cli("validate", str(path))
    assert out.returncode == 2
    assert error_lines(out) == [f"error: {path}:8: data.self_cognition: nothing to train on: no identity rows (0), "
                                "no datasets and no replay; set data.self_cognition (e.g. 500)"]


def test_malformed_rows_are_named_by_line_or_row(tmp_path):
    jsonl = rows(tmp_path / "a.jsonl", [GOOD_ROW, "", {"instruction": "x"}])
    json_list = write(tmp_path / "b.json", json.dumps([GOOD_ROW, {"messages": []}]))
    path = write(tmp_path / "r.yaml", recipe_text("  datasets: [{path: a.jsonl}, {path: b.json}]\n"))
    messages = [p.message for p in problems_of(path)[0]]
    assert messages[0].startswith(f"{jsonl}:3: unknown row format")
    assert messages[1] == f"{json_list}: row 2: messages must be a non-empty list"


def test_rows_are_checked_only_in_a_bounded_prefix(tmp_path):
    """A 200 MB dataset costs milliseconds: a bad row past PREFIX_ROWS is found when `data` draws it."""
    rows(tmp_path / "big.jsonl", [GOOD_ROW] * PREFIX_ROWS + ["{bad"])
    path = write(tmp_path / "r.yaml", recipe_text("  datasets: [{path: big.jsonl}]\n"))
    assert problems_of(path)[0] == []


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_committed_recipes_pass_or_only_lack_private_data(path):
    problems, recipe = problems_of(path)
    assert recipe is not None and all(p.missing for p in problems), [str(p) for p in problems]


@pytest.mark.parametrize("name, identity, total", [("demo", 400, 799), ("smoke", 200, 216)])
def test_committed_recipes_trigger_none_of_our_warnings(name, identity, total):
    """demo: 400 identity rows, 399 replay rows kept; smoke: builtin:tiny has random weights."""
    from selfcog_swift.guards import advice
    from selfcog_swift.recipe import load_recipe

    assert advice(load_recipe(ROOT / "recipes" / f"{name}.yaml"), identity, total) == []


def test_run_refuses_bad_data_before_any_model_loads(tmp_path):
    """Replay comes first in `run`; a missing dataset must stop it before swift is imported or
    anything (replay cache, run state) is written."""
    out_dir = tmp_path / "out"
    code = ("import sys\nfrom selfcog_swift.cli import cli\n"
            f"args = ['run', 'recipes/smoke.yaml', '--set', 'output_dir={out_dir}', '--set', 'data.replay={{sample: 4}}',"
            f" '--set', 'data.datasets=[{{path: {tmp_path}/missing.jsonl}}]']\n"
            "try: cli(args)\nexcept SystemExit as exc: print('EXIT', exc.code, file=sys.stderr)\n"
            "print('HEAVY', sorted(m for m in ('torch', 'swift', 'transformers') if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert "EXIT 2" in out.stderr and "HEAVY []" in out.stderr, out.stderr[-2000:]
    assert f"error: --set: data.datasets[0].path: file not found: {tmp_path}/missing.jsonl" in out.stderr
    assert not out_dir.exists()


def test_dry_run_prints_shell_a_person_can_paste(tmp_path):
    system = "It's \"you\"; $HOME `id` & a\ttab"
    out = run_cli("run", "recipes/smoke.yaml", "--dry-run", "--set", f"output_dir={tmp_path}/o dir",
                  "--set", f"model.system={json.dumps(system)}", "--set", "launch.cuda_visible_devices='0,1'")
    assert out.returncode == 0, out.stderr
    commands = [line for line in out.stdout.splitlines() if line and not line.startswith("===")]
    assert len(commands) == 3
    script = tmp_path / "dry.sh"
    script.write_text("\n".join(commands) + "\n")
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    sft = shlex.split(commands[0])
    assert sft[0] == "CUDA_VISIBLE_DEVICES=0,1" and sft[sft.index("--system") + 1] == system
    assert sft[sft.index("--output_dir") + 1] == f"{tmp_path}/o dir"
    assert '--adapters "${CHECKPOINT}"' in commands[1]


def test_a_schema_error_in_a_section_does_not_hide_the_other_problems_of_that_section(tmp_path):
    """A negative sample next to a hub id and a missing file: all three named, each by its line."""
    path = write(tmp_path / "r.yaml", recipe_text(
        "  self_cognition: -5\n"
        "  datasets:\n"
        "    - {path: org/some-set}\n"
        "    - {path: nowhere.jsonl, sample: -3}\n",
        "train: {epochs: 0}\nswift_args: {sft: {lora_rnk: 8}}\n"))
    problems, recipe = problems_of(path)
    assert recipe is None
    assert [(p.where, p.field) for p in problems] == [
        (f"{path}:8", "data.self_cognition"), (f"{path}:11", "data.datasets[1].sample"), (f"{path}:12", "train.epochs"),
        (f"{path}:10", "data.datasets[0].path"), (f"{path}:11", "data.datasets[1].path"),
        (f"{path}:13", "swift_args.sft.lora_rnk")]
    assert "nothing to train on" not in str(problems)  # self_cognition's own error says it


def test_names_the_identity_rows_cannot_carry_and_an_output_dir_too_long_are_refused(tmp_path):
    path = write(tmp_path / "r.yaml", "model: {id: builtin:tiny, system: Hi.}\n"
                 "identity:\n  name: {zh: '小黄 {{AUTHOR}}', en: '  '}\n  author: {zh: 魔搭, en: '<NAME> Labs'}\n"
                 f"data: {{self_cognition: 5}}\noutput_dir: out/{'x' * 256}\n")
    problems, _ = problems_of(path)
    assert [(p.where, p.field) for p in problems] == [
        (f"{path}:3", "identity.name.zh"), (f"{path}:3", "identity.name.en"), (f"{path}:4", "identity.author.en"),
        (f"{path}:6", "output_dir")]


def test_a_set_that_makes_an_unknown_section_is_blamed_on_set(tmp_path):
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 5\n"))
    problems, _ = problems_of(path, ("nonexistent.key=1", "train.lerning_rate=1"))
    assert [(p.where, p.field) for p in problems] == [("--set", "train.lerning_rate"), ("--set", "nonexistent")]
    problems, _ = problems_of(write(tmp_path / "s.yaml", recipe_text("  self_cognition: 5\n", "nonexistent: 1\n")),
                              ("train.epochs=1",))
    assert [p.where for p in problems] == [f"{tmp_path / 's.yaml'}:9"]


def test_a_local_model_folder_absent_from_the_working_directory_is_named(tmp_path, monkeypatch):
    """model.id goes to swift as written: from another folder `./my-model` is no folder (render only warns)."""
    (tmp_path / "my-model").mkdir()
    path = write(tmp_path / "r.yaml", "model: {id: ./my-model, model_type: qwen2, template: chatml, system: Hi.}\n"
                 f"{IDENTITY}data: {{self_cognition: 5}}\n")
    monkeypatch.chdir(tmp_path)
    assert problems_of(path)[0] == []
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    [problem] = problems_of(path)[0]
    assert (problem.where, problem.field, problem.missing) == (f"{path}:1", "model.id", True)
    assert str(tmp_path / "elsewhere" / "my-model") in problem.message
    out = run_cli("render", str(path), cwd=tmp_path / "elsewhere")
    assert out.returncode == 0 and out.stderr.startswith("warning: ")


def test_a_section_written_twice_and_yaml_booleans_where_text_is_needed(tmp_path):
    path = write(tmp_path / "r.yaml", "model: {id: builtin:tiny, system: Hi.}\n"
                 "identity: {name: {zh: 小黄, en: no}, author: {zh: 魔搭, en: 2024}}\n"
                 "data:\n  self_cognition: 10\ntrain: {epochs: 2, epochs: 3}\ndata:\n  self_cognition: 20\n")
    problems, _ = problems_of(path)
    assert [(p.where, p.field) for p in problems] == [
        (f"{path}:5", "train.epochs"), (f"{path}:6", "data"), (f"{path}:2", "identity.name.en"),
        (f"{path}:2", "identity.author.en")]
    assert "line 3" in problems[1].message and "False" in problems[2].message and "2024" in problems[3].message


@pytest.mark.parametrize("row, why", [
    ({"query": "Who are you?", "response": "I am a bot."}, "no en identity row says 'Xiao Huang' or 'ModelScope'"),
    ({"lang": "fr", "query": "Qui es-tu ?", "response": "Je suis {{NAME}}."}, ":1: a fr row, but identity.name has no fr"),
    ({"query": "Who are you?", "response": "I am <NAME>."}, ":1: leftover placeholder '<NAME>'"),
])
def test_identity_rows_data_would_refuse_are_refused_by_validate(tmp_path, row, why):
    ident = rows(tmp_path / "ident.jsonl", [row])
    path = write(tmp_path / "r.yaml", recipe_text(f"  self_cognition: 5\n  identity_file: {ident.name}\n",
                                                  "output_dir: out\n"))
    [problem] = problems_of(path)[0]
    assert problem.field == "data.identity_file" and why in problem.message
    data = run_cli("data", str(path), "--out", str(tmp_path / "mix.jsonl"))
    assert data.returncode == 2 and not (tmp_path / "mix.jsonl").exists()


def test_template_syntax_in_a_dataset_is_data_but_an_identity_placeholder_is_a_leftover(tmp_path):
    code = {"query": "A Jinja loop?", "response": "{% for x in xs %}{{ x }}{% endfor %}"}
    rows(tmp_path / "code.jsonl", [code])
    rows(tmp_path / "named.jsonl", [GOOD_ROW, {"query": "Who?", "response": "I am {{NAME}}"}])
    path = write(tmp_path / "r.yaml", recipe_text("  datasets: [{path: code.jsonl}, {path: named.jsonl}]\n",
                                                  "output_dir: out\n"))
    [problem] = problems_of(path)[0]
    assert problem.field == "data.datasets[1].path" and "named.jsonl:2: leftover placeholder" in problem.message


@pytest.mark.parametrize("lines, line", [(['{"prompt": "hi"}', '{"text": "x"}', "not json"], 2),
                                         (['"just a string"'], 1)])
def test_a_replay_prompt_row_replay_cannot_read_is_named_by_its_line(tmp_path, lines, line):
    """The first row replay refuses, not only the first that is not JSON."""
    from selfcog_swift.recipe import load_recipe
    from selfcog_swift.replay import pool_prompts

    prompts = rows(tmp_path / "p.jsonl", lines)
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 5\n  replay: {prompts: p.jsonl, sample: 1}\n"))
    [problem] = problems_of(path)[0]
    assert problem.field == "data.replay.prompts" and problem.message.startswith(f"{prompts}:{line}: ")
    with pytest.raises(Exception, match=rf"p.jsonl:{line}: "):
        pool_prompts(load_recipe(path))


def test_a_user_only_chat_row_is_a_replay_prompt(tmp_path):
    from selfcog_swift.recipe import load_recipe
    from selfcog_swift.replay import pool_prompts

    rows(tmp_path / "p.jsonl", [{"messages": [{"role": "user", "content": "What is 2+2?"}]},
                                {"conversations": [{"from": "human", "value": "Name a colour."}]}])
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 5\n  replay: {prompts: p.jsonl}\n"))
    assert problems_of(path)[0] == []
    assert sorted(q for _, q in pool_prompts(load_recipe(path))) == ["Name a colour.", "What is 2+2?"]


@pytest.mark.parametrize("model_id, fix", [
    ("Qwen/Qwen2.5-7B-Instruct@v1.0", "model.id: Qwen/Qwen2.5-7B-Instruct, model.revision: v1.0"),
    ("Qwen/Qwen2.5-7B-Instruct:main", "model.id: Qwen/Qwen2.5-7B-Instruct, model.revision: main"),
    ("https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/tree/main", "model.id: Qwen/Qwen2.5-7B-Instruct"),
    ("https://modelscope.cn/models/qwen/Qwen2.5-7B-Instruct", "model.id: qwen/Qwen2.5-7B-Instruct"),
    ("Qwen/Qwen2.5-7B-Instruct/", "model.id: Qwen/Qwen2.5-7B-Instruct"),
    ("Qwen2.5-7B-Instruct", "ORG/NAME"),
])
def test_a_model_id_swift_cannot_download_is_named_with_the_id_it_should_be(tmp_path, model_id, fix):
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 5\n"))
    [problem] = problems_of(path, (f"model.id={model_id}",))[0]
    assert (problem.where, problem.field) == ("--set", "model.id") and fix in problem.message
    assert problems_of(path, ("model.id=Qwen/Qwen2.5-7B-Instruct",))[0] == []


def test_a_dataset_written_as_a_plain_path_gets_the_section_it_should_be(tmp_path):
    rows(tmp_path / "a.jsonl", [GOOD_ROW])
    problems, _ = problems_of(write(tmp_path / "r.yaml", recipe_text("  datasets: [a.jsonl]\n")))
    assert [(p.field, p.message.split("; write e.g. ")[1]) for p in problems] == [
        ("data.datasets[0]", "- {path: a.jsonl}")]
    problems, _ = problems_of(write(tmp_path / "s.yaml", recipe_text("  datasets: a.jsonl\n")))
    assert [(p.field, p.message.split("; write e.g. ")[1]) for p in problems] == [
        ("data.datasets", "datasets: [{path: a.jsonl}]")]


def test_a_gate_rate_written_as_a_percentage_is_refused_before_a_run_it_would_fail(tmp_path):
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 5\n", "evaluate: {min_identity_rate: 90}\n"))
    problems, _ = problems_of(path, ("evaluate.max_leak_rate={zh: 5, en: 0}", "evaluate.max_drift=2"))
    assert [(p.where, p.field) for p in problems] == [
        (f"{path}:9", "evaluate.min_identity_rate"), ("--set", "evaluate.max_leak_rate.zh")]
    assert "0.9 for 90%" in problems[0].message


def test_set_reaches_a_list_item_and_keeps_text_yaml_would_bend(tmp_path):
    rows(tmp_path / "a.jsonl", [GOOD_ROW])
    path = write(tmp_path / "r.yaml", recipe_text("  datasets: [{path: a.jsonl}]\n"))
    problems, _ = problems_of(path, ("data.datasets[0].sample=-1", "data.datasets.0.path=nowhere.jsonl",
                                     "data.datasets[4].path=x.jsonl"))
    assert [(p.where, p.field or p.message.split(":")[0]) for p in problems] == [
        ("--set", "'data.datasets[4].path=x.jsonl'"), ("--set", "data.datasets[0].sample"),
        ("--set", "data.datasets[0].path")]
    assert "has 1 items" in problems[0].message
    recipe = checked_recipe(path, ("identity.name.en=Xiao: Huang #1", "data.datasets[0].sample=3"))
    assert (recipe.identity.name.en, recipe.data.datasets[0].sample) == ("Xiao: Huang #1", 3)


def test_a_json_file_holding_one_object_says_so_and_where_the_rows_are(tmp_path):
    write(tmp_path / "wrapped.json", json.dumps({"data": [GOOD_ROW]}, indent=2))
    write(tmp_path / "pretty.json", json.dumps(GOOD_ROW, indent=2))
    path = write(tmp_path / "r.yaml", recipe_text("  datasets: [{path: wrapped.json}, {path: pretty.json}]\n"))
    problems, _ = problems_of(path)
    assert [p.message.split(": ")[0] for p in problems] == [str(tmp_path / "wrapped.json"), str(tmp_path / "pretty.json")]
    assert "under 'data'" in problems[0].message and "one JSON object (keys: messages)" in problems[1].message


def test_a_folder_named_as_a_dataset_gets_its_files_as_written_from_the_recipe(tmp_path):
    rows(tmp_path / "data" / "set" / "a.jsonl", [GOOD_ROW])
    path = write(tmp_path / "recipes" / "r.yaml", recipe_text("  datasets: [{path: ../data/set}]\n"))
    [problem] = problems_of(path)[0]
    assert problem.field == "data.datasets[0].path" and problem.message.endswith("e.g. {path: ../data/set/a.jsonl}")


def test_a_csv_dataset_gets_a_conversion_that_works(tmp_path):
    write(tmp_path / "rows.csv", "instruction,output\nhi,hello\nWho are you?,A helper.\n")
    path = write(tmp_path / "r.yaml", recipe_text("  datasets: [{path: rows.csv}]\n"))
    [problem] = problems_of(path)[0]
    command = re.search(r'python -c "(.+)" and name', problem.message).group(1)
    subprocess.run([sys.executable, "-c", command], check=True, cwd=ROOT)
    assert problems_of(write(path, recipe_text("  datasets: [{path: rows.jsonl}]\n")))[0] == []


@pytest.mark.parametrize("out", ["a.jsonl", "r.yaml", "ident.jsonl"])
def test_data_never_writes_its_mix_over_a_file_the_recipe_reads(tmp_path, out):
    rows(tmp_path / "a.jsonl", [GOOD_ROW])
    rows(tmp_path / "ident.jsonl", [{"query": "Who are you?", "response": "I am {{NAME}}."}])
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 2\n  identity_file: ident.jsonl\n"
                                                  "  datasets: [{path: a.jsonl}]\n", "output_dir: out\n"))
    before = (tmp_path / out).read_bytes()
    result = run_cli("data", str(path), "--out", str(tmp_path / out))
    assert result.returncode == 2 and f"--out {tmp_path / out}" in result.stderr
    assert (tmp_path / out).read_bytes() == before
    assert run_cli("data", str(path), "--out", str(tmp_path / "mix.jsonl")).returncode == 0


def test_an_output_dir_whose_mix_would_replace_a_dataset_is_refused(tmp_path):
    rows(tmp_path / "data" / "mix.jsonl", [GOOD_ROW])
    path = write(tmp_path / "r.yaml", recipe_text("  datasets: [{path: data/mix.jsonl}]\n", "output_dir: .\n"))
    [problem] = problems_of(path)[0]
    assert (problem.where, problem.field) == (f"{path}:9", "output_dir")
    assert problems_of(path, ("output_dir=" + str(tmp_path / "out"),))[0] == []


@pytest.mark.parametrize("sets, field", [
    (("launch.cuda_visible_devices=0,1", "launch.nproc_per_node=4"), "launch.nproc_per_node"),
    (("launch.cuda_visible_devices=0 1",), "launch.cuda_visible_devices"),
    (("launch.cuda_visible_devices=0;1",), "launch.cuda_visible_devices"),
])
def test_gpus_torchrun_cannot_use_are_refused(tmp_path, sets, field):
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 5\n"))
    assert [p.field for p in problems_of(path, sets)[0]] == [field]


def test_gpus_written_as_cuda_reads_them_pass(tmp_path):
    path = write(tmp_path / "r.yaml", recipe_text("  self_cognition: 5\n"))
    for sets in (("launch.cuda_visible_devices=0,1,2,3", "launch.nproc_per_node=4"),
                 ("launch.cuda_visible_devices=GPU-8f2a1c3e-aaaa-bbbb-cccc-000000000000",),
                 ("launch.cuda_visible_devices=''", "launch.nproc_per_node=2", "launch.ddp_backend=gloo")):
        assert problems_of(path, sets)[0] == [], sets


def test_an_odd_unknown_key_is_named_and_a_stand_in_model_never_shows(tmp_path):
    """A key that is no identifier is not a pydantic union tag; checks of a section the schema
    refused never report the stand-in put there to check the rest."""
    path = write(tmp_path / "r.yaml", '(: 1\nmodel: {id: builtin:tiny, "a b": 1}\n')
    problems, _ = problems_of(path)
    assert sorted((p.where, p.field) for p in problems) == [
        (f"{path}:1", "("), (f"{path}:1", "identity"), (f"{path}:2", "model.a b")]
    assert "stand-in" not in " ".join(p.message for p in problems)
