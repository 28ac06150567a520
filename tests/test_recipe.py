import json

import pytest

from conftest import RECIPES, ROOT, run_cli
from selfcog_swift.errors import SelfcogError
from selfcog_swift.recipe import load_recipe, parse_set

GOOD = """\
model:
  id: builtin:tiny
identity:
  name: {zh: 小明, en: Xiaoming}
  author: {zh: 某团队, en: Some Team}
train:
  learning_rate: 1.0e-4
"""


def write(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_committed_recipe_validates_and_opens_with_a_comment(path):
    load_recipe(path)
    assert path.read_text(encoding="utf-8").startswith("#")
    assert f"render recipes/{path.name}" in path.read_text(encoding="utf-8")


def test_extends_and_set_override_in_order(tmp_path):
    write(tmp_path, GOOD, "base.yaml")
    child = write(tmp_path, "extends: base.yaml\ntrain:\n  epochs: 1\n", "child.yaml")
    recipe = load_recipe(child, ("train.learning_rate=2e-5", "tuning.target_modules=[q_proj, v_proj]"))
    assert recipe.train.epochs == 1 and recipe.train.learning_rate == 2e-5
    assert recipe.identity.name.zh == "小明"  # inherited
    assert recipe.tuning.target_modules == ["q_proj", "v_proj"]


@pytest.mark.parametrize("text, expected", [
    (GOOD + "train:\n  lr: [1\n", r"r\.yaml:\d+: malformed YAML"),
    (GOOD.replace("learning_rate", "learning_rte"), r"r\.yaml:7: train\.learning_rte: unknown key; did you mean 'learning_rate'\?"),
    (GOOD.replace("1.0e-4", "fast"), r"r\.yaml:7: train\.learning_rate: Input should be a valid number"),
    (GOOD.replace(", en: Xiaoming", ""), r"r\.yaml:4: identity\.name\.en: required field missing"),
    ("extends: nowhere.yaml\n" + GOOD, r"extends: file not found: .*nowhere\.yaml"),
    ("- a\n- b\n", r"a recipe must be a mapping"),
])
def test_bad_recipes_give_one_line_errors(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(SelfcogError, match=expected):
        load_recipe(path)
    out = run_cli("render", str(path))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stdout == ""


def test_extends_cycle_is_reported(tmp_path):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(SelfcogError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")


def test_set_syntax_errors():
    with pytest.raises(SelfcogError, match="expected key.path=value"):
        parse_set("train.learning_rate")
    assert parse_set("train.seed=7") == (["train", "seed"], 7)


def test_validate_lists_every_error(tmp_path):
    path = write(tmp_path, GOOD.replace("learning_rate", "lr").replace("builtin:tiny", "''"))
    out = run_cli("validate", str(path))
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert lines[0] == f"error: {path}:2: model.id: String should have at least 1 character"
    assert lines[1].startswith(f"error: {path}:7: train.lr: unknown key; known: epochs, ") and len(lines) == 2


def test_load_recipe_raises_every_problem_one_a_line(tmp_path):
    path = write(tmp_path, GOOD.replace("learning_rate", "lr").replace("zh: 某团队, ", ""))
    with pytest.raises(SelfcogError) as exc:
        load_recipe(path, ("train.epochs=-1",))
    lines = str(exc.value).splitlines()
    assert lines[0] == f"{path}:5: identity.author.zh: required field missing"
    assert lines[1] == "--set: train.epochs: Input should be greater than 0"
    assert lines[2].startswith(f"{path}:7: train.lr: unknown key") and len(lines) == 3
    out = run_cli("render", str(path), "--set", "train.epochs=-1")
    assert out.returncode == 2 and out.stderr.count("error: ") == 3 and "more)" not in out.stderr


def test_a_union_field_reports_the_branch_that_got_furthest(tmp_path):
    path = write(tmp_path, GOOD + "evaluate:\n  max_drift: {zh: 0.1, en: -1}\n  min_identity_rate: high\n"
                 "tuning: {target_modules: 5}\n")
    with pytest.raises(SelfcogError) as exc:
        load_recipe(path)
    assert set(str(exc.value).splitlines()) == {
        f"{path}:9: evaluate.max_drift.en: Input should be greater than or equal to 0",
        f"{path}:10: evaluate.min_identity_rate: Input should be a valid number, unable to parse string as a number",
        f"{path}:11: tuning.target_modules: Input should be 'all-linear' or 'mlp'"}


def test_schema_command_prints_the_recipe_schema():
    out = run_cli("schema")
    schema = json.loads(out.stdout)
    assert {"model", "identity", "data", "tuning", "train", "launch", "output_dir", "swift_args"} <= set(
        schema["properties"])
    assert json.loads((ROOT / "recipe.schema.json").read_text()) == schema


def test_recipe_name_resolves_to_recipes_folder():
    out = run_cli("render", "biancang", "--stage", "export")
    assert out.returncode == 0 and "swift export" in out.stdout
