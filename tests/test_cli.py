import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import ROOT, run_cli
from selfcog_swift.cli import cli

# Every command the README documents; a missing one fails its test.
COMMANDS = [[], ["render"], ["validate"], ["schema"], ["run"], ["data"], ["replay"], ["models"],
            ["models", "prepare"], ["best"], ["merge"], ["ask"], ["chat"], ["serve"], ["import-legacy"], ["eval"], ["init"],
            ["export-gguf"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_the_command_list_is_the_cli():
    """A command added or removed shows up here, so the help test above covers every one."""
    assert {command[0] for command in COMMANDS if command} == set(cli.commands)


def test_help_and_render_stay_light():
    code = ("import sys; from selfcog_swift.cli import cli\n"
            "for args in (['--help'], ['render', 'recipes/biancang.yaml'], ['run', 'recipes/smoke.yaml', '--dry-run'],\n"
            "             ['serve', '--help']):\n"
            "    try: cli(args, standalone_mode=False)\n"
            "    except SystemExit: pass\n"
            "print('HEAVY', sorted(m for m in ('torch', 'swift', 'transformers') if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert "HEAVY []" in out.stderr, out.stderr[-2000:]


def test_dry_run_prints_the_rendered_argv_and_runs_nothing(tmp_path):
    out = run_cli("run", "recipes/smoke.yaml", "--dry-run", "--set", f"output_dir={tmp_path}/o")
    assert out.returncode == 0, out.stderr
    assert "swift sft --model" in out.stdout and '--adapters "${CHECKPOINT}"' in out.stdout
    assert not (tmp_path / "o").exists()


def test_missing_recipe_is_one_line_exit_2():
    out = run_cli("render", "recipes/nope.yaml")
    assert out.returncode == 2
    assert out.stderr.strip() == "error: recipes/nope.yaml: recipe file not found"


def test_best_on_a_missing_path_is_one_line_exit_2(tmp_path):
    out = run_cli("best", str(tmp_path / "nothing"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_serve_defaults_are_where_serve_sh_listens():
    """`selfcog-swift serve` and the serve.sh a run writes listen at the same place by default."""
    from selfcog_swift.render import SERVE_HOST, SERVE_PORT

    defaults = {param.name: param.default for param in cli.commands["serve"].params}
    assert (defaults["host"], defaults["port"]) == (SERVE_HOST, SERVE_PORT) == ("127.0.0.1", 8000)


@pytest.mark.e2e
def test_eval_keeps_swift_output_in_a_log_file(tmp_path):
    """As `run`: swift's model repr and argument dump go to a log named at the end, not the terminal."""
    folder = run_cli("models", "prepare", "tiny").stdout.strip().splitlines()[-1]
    probes = tmp_path / "p.jsonl"
    probes.write_text(json.dumps({"question": "你是谁？", "lang": "zh", "asks": "name"}, ensure_ascii=False) + "\n"
                      + json.dumps({"question": "What is 2+2?", "lang": "en", "asks": "none"}) + "\n")
    out = run_cli("eval", folder, "--recipe", "recipes/smoke.yaml", "--probes", str(probes), "--out", str(tmp_path / "ev"))
    assert "Traceback" not in out.stderr and "identity" in out.stdout, out.stderr[-2000:]
    log = tmp_path / "ev" / "eval-swift.log"
    assert f"swift's output: {log}" in out.stderr
    assert "InferArguments(" in log.read_text() and "InferArguments(" not in out.stdout + out.stderr
    shown = [line for line in re.split(r"[\r\n]", out.stderr) if line.strip() and "it/s]" not in line
             and "s/it]" not in line and "?it/s]" not in line]
    assert len(shown) <= 5, shown


def test_data_says_before_it_loads_a_model_which_and_for_how_long(tmp_path):
    from selfcog_swift.driver import replay_notice
    from selfcog_swift.recipe import load_recipe

    recipe = load_recipe(ROOT / "recipes" / "smoke.yaml", (f"output_dir={tmp_path}", "data.replay={sample: 24}"))
    notice = replay_notice(recipe)
    assert notice.startswith("replay: loading the base model builtin:tiny to answer 24 prompts (up to 96 new tokens")
    assert "about 1 min" in notice and str(tmp_path / "data") in notice
    demo = load_recipe(ROOT / "recipes" / "demo.yaml", (f"output_dir={tmp_path}",))
    assert "answer 400 prompts" in replay_notice(demo) and "about 11 min" in replay_notice(demo)


@pytest.mark.e2e
def test_data_names_the_model_before_replay_loads_it_and_keeps_swift_quiet(tmp_path):
    out = run_cli("data", "recipes/smoke.yaml", "--out", str(tmp_path / "mix.jsonl"), "--set", f"output_dir={tmp_path}",
                  "--set", "data.replay={sample: 6, max_new_tokens: 8}")
    assert out.returncode == 0, out.stderr[-2000:]
    notice = out.stdout.index("replay: loading the base model builtin:tiny to answer 6 prompts")
    assert notice < out.stdout.index("data -> ") and (tmp_path / "mix.jsonl").is_file()
    log = (tmp_path / "logs" / "data-swift.log").read_text()
    assert "InferArguments(" in log and "InferArguments(" not in out.stdout + out.stderr


@pytest.mark.e2e
def test_replay_names_the_model_first_and_keeps_swift_quiet_unless_verbose(tmp_path):
    sets = ("--set", f"output_dir={tmp_path}", "--set", "data.replay={sample: 5, max_new_tokens: 8}")
    out = run_cli("replay", "recipes/smoke.yaml", *sets)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("replay: loading the base model builtin:tiny to answer 5 prompts")
    assert json.loads(out.stdout.strip().splitlines()[-1])["prompts"] == 5
    log = (tmp_path / "logs" / "replay-swift.log").read_text()
    assert "InferArguments(" in log and "InferArguments(" not in out.stdout + out.stderr
    loud = run_cli("replay", "recipes/smoke.yaml", "-v", *sets, "--set", "data.replay.temperature=0.5")
    assert loud.returncode == 0 and "InferArguments(" in loud.stdout + loud.stderr


def test_replay_refuses_a_recipe_without_replay_or_with_a_data_error_before_any_model_loads(tmp_path):
    none = run_cli("replay", "recipes/smoke.yaml", "--set", f"output_dir={tmp_path}")
    assert none.returncode == 2 and "data.replay" in none.stderr and "Traceback" not in none.stderr
    missing = run_cli("replay", "recipes/smoke.yaml", "--set", f"output_dir={tmp_path}",
                      "--set", "data.replay={sample: 5}", "--set", f"data.datasets=[{{path: {tmp_path}/no.jsonl}}]")
    assert missing.returncode == 2 and "data.datasets[0].path" in missing.stderr
    assert not (tmp_path / "logs").exists() and "loading the base model" not in missing.stdout
