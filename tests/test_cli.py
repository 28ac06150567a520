import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import ROOT, run_cli
from selfcog_swift.cli import cli

# Every command the README documents; a missing one fails its test.
COMMANDS = [[], ["render"], ["validate"], ["schema"], ["run"], ["data"], ["replay"], ["models"],
            ["models", "prepare"], ["best"], ["merge"], ["ask"], ["chat"], ["serve"], ["import-legacy"], ["eval"], ["init"]]


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
