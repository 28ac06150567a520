"""Hostile input: arbitrary bytes never give a traceback; values never execute; paths stay put."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from selfcog_swift.errors import SelfcogError
from selfcog_swift.probes import load_probes
from selfcog_swift.recipe import load_recipe
from selfcog_swift.render import data_path, render, stage_command
from test_render import bash_argv

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
BASE = ROOT / "recipes" / "smoke.yaml"


@FAST
@given(st.dictionaries(st.sampled_from(["model", "identity", "data", "train", "tuning", "launch", "x"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c,
                                                                                          max_size=3), max_leaves=8)))
def test_recipe_loading_arbitrary_structures(tmp_path, data):
    path = tmp_path / "r.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    try:
        load_recipe(path)
    except SelfcogError:
        pass


def _read_all_rows(path):
    from selfcog_swift.rows import read_rows

    return list(read_rows(path))


READERS = {"recipe": load_recipe, "data": _read_all_rows, "probes": lambda path: load_probes(str(path))}


@pytest.mark.parametrize("reader", READERS)
@FAST
@given(blob=st.binary(max_size=400))
def test_arbitrary_bytes_give_a_result_or_one_line_naming_the_file(tmp_path, reader, blob):
    path = tmp_path / "input.jsonl"
    path.write_bytes(blob)
    try:
        READERS[reader](path)
    except SelfcogError as exc:  # a recipe lists every problem, one a line; other readers stop at the first
        lines = str(exc).splitlines()
        assert (len(lines) == 1 or reader == "recipe") and all(str(path) in line for line in lines), str(exc)


def test_probe_errors_name_file_and_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"question": "Who are you?", "lang": "en", "asks": "name"}\n{"question": "x", "lang": "French", '
                    '"asks": "name"}\n')
    with pytest.raises(SelfcogError, match=rf"{path}:2: lang: must be a language code"):
        load_probes(str(path))


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda t: "\x00" not in t and t.strip()))
def test_any_identity_string_reads_back_exactly_from_bash(text):
    recipe = load_recipe(BASE, ("data.source=swift",))
    recipe.identity.name.en = text
    recipe.model.system = text
    (recorded,) = bash_argv(render(recipe, "sft", "sh", ["x.yaml"]))
    assert recorded[recorded.index("--model_name") + 2] == text
    assert recorded[recorded.index("--system") + 1] == text


@pytest.mark.parametrize("payload", ["{{ 7*7 }}", "{% for x in range(3) %}X{% endfor %}",
                                     "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ lipsum.__globals__ }}"])
def test_recipe_values_are_data_not_templates(payload):
    recipe = load_recipe(BASE, ("data.source=swift",))
    recipe.identity.author.en = payload
    script = render(recipe, "sft", "sh", ["x.yaml"])
    (recorded,) = bash_argv(script)
    assert recorded[recorded.index("--model_author") + 2] == payload
    assert "49" not in script and "XXX" not in script


@pytest.mark.parametrize("output_dir", ["out dir/$(touch pwned)", "../elsewhere/`id`", "/tmp/a;b"])
def test_output_paths_stay_where_the_recipe_says(output_dir):
    recipe = load_recipe(BASE, (f"output_dir={output_dir}",))
    argv = stage_command(recipe, "sft").argv()
    assert argv[argv.index("--output_dir") + 1] == output_dir
    assert Path(data_path(recipe)).parent.parent == Path(output_dir)
    (recorded,) = bash_argv(render(recipe, "sft", "sh", ["x.yaml"]))
    assert recorded[recorded.index("--output_dir") + 1] == output_dir
    assert not (ROOT / "pwned").exists()


PAYLOAD = "x\ntouch PWNED #"


def _inert(script: str, folder: Path) -> None:
    """bash reads the script; run whole, with do-nothing `swift` and `python`, it makes no file."""
    assert subprocess.run(["bash", "-n"], input=script.encode(), capture_output=True).returncode == 0, script
    fake = folder / "bin"
    fake.mkdir(parents=True)
    for name in ("swift", "python"):
        (fake / name).write_text("#!/bin/sh\nexit 0\n")
        (fake / name).chmod(0o755)
    work = folder / "work"
    work.mkdir()
    done = subprocess.run(["bash", "-c", script, "script", "/ckpt/checkpoint-20"], cwd=work, capture_output=True,
                          env={"PATH": f"{fake}:/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr.decode()
    assert list(work.iterdir()) == [] and not (ROOT / "PWNED").exists(), script


@pytest.mark.parametrize("field", ["recipe path", "--set value", "identity", "system prompt", "dataset path",
                                   "output_dir"])
def test_control_characters_never_leave_their_quoting_or_comment(tmp_path, field):
    """$'x\ntouch PWNED #' in any text that reaches a rendered script: every script passes bash -n and,
    run whole, creates nothing (a newline in a `#` comment would end it and run `touch`)."""
    from selfcog_swift.render import serve_script

    sets = ["data.source=swift"]
    recipe = load_recipe(BASE, tuple(sets))
    path = "recipes/smoke.yaml"
    if field == "recipe path":
        path = f"recipes/{PAYLOAD}.yaml"
    elif field == "--set value":
        sets.append(f"description={PAYLOAD}")
    elif field == "identity":
        recipe.identity.name.en = recipe.identity.author.zh = PAYLOAD
    elif field == "system prompt":
        recipe.model.system = PAYLOAD
    elif field == "dataset path":
        recipe.data.datasets[0].path = PAYLOAD
        sets.append(f"data.datasets=[{{path: '{PAYLOAD}'}}]")
    else:
        recipe.output_dir = f"out/{PAYLOAD}"
        sets.append(f"output_dir=out/{PAYLOAD}")
    ref = [path, *(token for s in sets for token in ("--set", s))]
    scripts = [render(recipe, stage, "sh", ref) for stage in ("sft", "export", "infer")]
    scripts.append(serve_script(recipe, ref, f"{recipe.output_dir}/v0-x/checkpoint-20"))
    for number, script in enumerate(scripts):
        _inert(script, tmp_path / str(number))


def test_control_characters_in_a_recipe_file_name_and_set_values_stay_inert_from_the_cli(tmp_path):
    recipe = tmp_path / f"{PAYLOAD}.yaml"
    recipe.write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    from conftest import run_cli

    out = run_cli("render", str(recipe), "--set", f"model.system={PAYLOAD}", "--set", "data.source=swift",
                  "--set", f"identity.name.en={PAYLOAD}")
    assert out.returncode == 0, out.stderr
    for number, script in enumerate(out.stdout.split("#!/usr/bin/env bash")[1:]):
        _inert("#!/usr/bin/env bash" + script, tmp_path / str(number))


def _evil_copy(tmp_path, name: str) -> tuple[Path, Path]:
    """The tiny model in a folder whose config names its own Python code, which leaves a marker file
    when it runs. The folder's class is Qwen2Config itself, so the model loads the same either way."""
    import shutil

    from selfcog_swift.models import prepare

    folder = tmp_path / name
    shutil.copytree(prepare("tiny"), folder)
    marker = tmp_path / f"{name}-code-ran"
    module = f"configuration_{name.replace('-', '_')}"
    (folder / f"{module}.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import Qwen2Config\nEvilConfig = Qwen2Config\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": f"{module}.EvilConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    return folder, marker


@pytest.mark.parametrize("trusted", [False, True], ids=["off", "on"])
def test_trust_remote_code_is_off_unless_the_recipe_turns_it_on(tmp_path, trusted):
    """A model folder's own code runs only when the recipe sets model.trust_remote_code; `ask` (and so
    chat) never runs a folder's code, even in a process where a recipe trusted another folder."""
    import os

    folder, marker = _evil_copy(tmp_path, "evil-model")
    other, other_marker = _evil_copy(tmp_path, "evil-asked")  # own module name: no import cache shared
    argv = ["--model", str(folder), "--model_type", "qwen2", "--template", "qwen"]
    asked = ["--model", str(other), "--model_type", "qwen2", "--template", "qwen"]
    sets = (f"model.id={folder}", f"model.trust_remote_code={str(trusted).lower()}")
    code = ("from selfcog_swift.invocation import prepare_model\n"
            "from selfcog_swift.inference import ask, generate, load_engine\n"
            "from selfcog_swift.recipe import load_recipe\n"
            f"prepare_model(load_recipe({str(BASE)!r}, {sets!r}))\n"
            f"pipeline = load_engine({argv!r})\n"
            "print('RUN', generate(pipeline, [[{'role': 'user', 'content': 'hi'}]], 4))\n"
            f"print('ASK', ask({asked!r}, ['hi'], 4))\n")
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "RUN [" in out.stdout and "ASK [" in out.stdout, out.stdout
    if trusted:
        assert marker.read_text() == "ran", "the recipe trusts the folder's code, yet it did not run"
    else:
        assert not marker.exists(), "the model folder's own code ran without trust_remote_code"
    assert not other_marker.exists(), "ask ran a model folder's own code"


def _few_probes(folder: Path) -> Path:
    """One probe per suite and language: what is scored does not matter here, only what runs."""
    from selfcog_swift.probes import SUITES_DIR

    kept = {}
    for suite in sorted(SUITES_DIR.glob("*.jsonl")):
        for line in filter(str.strip, suite.read_text(encoding="utf-8").splitlines()):
            kept.setdefault((suite.name, json.loads(line)["lang"]), line)
    path = folder / "probes.jsonl"
    path.write_text("\n".join(kept.values()) + "\n", encoding="utf-8")
    return path


@pytest.mark.e2e
def test_trust_remote_code_policy_holds_in_torchrun_ranks(tmp_path):
    """Two training processes (torchrun, gloo) are fresh interpreters: the recipe's policy (off) still
    holds there, so the folder's own code never runs in any process of the run."""
    from conftest import run_cli

    folder, marker = _evil_copy(tmp_path, "evil-ranks")
    out = tmp_path / "ddp"
    sets = [f"output_dir={out}", f"model.id={folder}", "model.model_type=qwen2", "model.template=qwen",
            "launch.nproc_per_node=2", "launch.ddp_backend=gloo", "launch.master_port=29541",
            "train.max_steps=4", "train.save_steps=4", "train.eval_steps=4", "evaluate.checkpoint_choice=eval_loss",
            "evaluate.min_identity_rate=0", "evaluate.max_leak_rate=1", "evaluate.max_overreach_rate=1",
            "evaluate.max_drift=100", "evaluate.max_perplexity_increase=100", "evaluate.max_new_tokens=8",
            f"evaluate.probes={_few_probes(tmp_path)}"]
    result = run_cli("run", "recipes/smoke.yaml", *[t for s in sets for t in ("--set", s)],
                     env={"HF_MODULES_CACHE": str(tmp_path / "modules")})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    manifest = json.loads(next(out.glob("v*-*/manifest.json")).read_text())
    assert json.loads((Path(manifest["run_dir"]) / "args.json").read_text())["local_world_size"] == 2
    assert not marker.exists(), "a torchrun rank ran the model folder's own code without trust_remote_code"
