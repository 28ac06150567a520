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
    except SelfcogError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


def test_probe_errors_name_file_and_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"question": "Who are you?", "lang": "en", "asks": "name"}\n{"question": "x", "lang": "fr", '
                    '"asks": "name"}\n')
    with pytest.raises(SelfcogError, match=rf"{path}:2: lang: must be zh or en"):
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


@pytest.mark.parametrize("trusted", [False, True], ids=["off", "on"])
def test_trust_remote_code_is_off_unless_the_recipe_turns_it_on(tmp_path, trusted):
    """A model folder whose config names its own Python code: the code runs only when the recipe
    sets model.trust_remote_code; `ask` (and so chat and eval) never runs it."""
    import os
    import shutil

    from selfcog_swift.models import prepare

    folder = tmp_path / "evil-model"
    shutil.copytree(prepare("tiny"), folder)
    marker = tmp_path / "code-ran"
    # The folder's class is Qwen2Config itself, so the model loads the same either way.
    (folder / "configuration_evil.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from transformers import Qwen2Config\nEvilConfig = Qwen2Config\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_evil.EvilConfig"}
    (folder / "config.json").write_text(json.dumps(config))
    argv = ["--model", str(folder), "--model_type", "qwen2", "--template", "qwen"]
    sets = (f"model.id={folder}", f"model.trust_remote_code={str(trusted).lower()}")
    code = ("from selfcog_swift.invocation import prepare_model\n"
            "from selfcog_swift.inference import ask, generate, load_engine\n"
            "from selfcog_swift.recipe import load_recipe\n"
            f"prepare_model(load_recipe({str(BASE)!r}, {sets!r}))\n"
            f"pipeline = load_engine({argv!r})\n"
            "print('RUN', generate(pipeline, [[{'role': 'user', 'content': 'hi'}]], 4))\n"
            f"if not {trusted}:\n"
            f"    print('ASK', ask({argv!r}, ['hi'], 4))\n")
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "RUN [" in out.stdout and ("ASK [" in out.stdout) is not trusted, out.stdout
    if trusted:
        assert marker.read_text() == "ran", "the recipe trusts the folder's code, yet it did not run"
    else:
        assert not marker.exists(), "the model folder's own code ran without trust_remote_code"
