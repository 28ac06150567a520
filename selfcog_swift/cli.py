"""The command line: click only. Each command calls one function of a stage module."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import SelfcogError, StageError

SET_OPTION = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                          help="Override a recipe field, e.g. --set train.learning_rate=2e-5 (repeatable).")


class _Cli(click.Group):
    """Turns our errors into one stderr line: exit 2 for bad input, 1 for a failed swift stage."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except StageError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except SelfcogError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


def recipe_path(value: str) -> Path:
    """A recipe file, or the name of one in ./recipes (biancang → recipes/biancang.yaml)."""
    path = Path(value)
    named = Path("recipes") / f"{value}.yaml"
    return named if not path.exists() and named.exists() else path


def _load(recipe: str, sets: tuple[str, ...]):
    from .recipe import load_recipe

    return load_recipe(recipe_path(recipe), sets)


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
    click.echo(render_recipe(_load(recipe, sets), stage, fmt, _recipe_ref(recipe, sets), bindings), nl=False)


@cli.command()
@click.argument("recipe")
@SET_OPTION
def validate(recipe, sets):
    """Check a recipe and list every problem at once."""
    from .recipe import validation_errors

    errors = validation_errors(recipe_path(recipe), sets)
    for line in errors:
        click.echo(f"error: {line}", err=True)
    if errors:
        sys.exit(2)
    click.echo(f"{recipe_path(recipe)}: ok")


@cli.command()
def schema():
    """Print the recipe JSON Schema (for editors' YAML completion)."""
    from .recipe import json_schema

    click.echo(json.dumps(json_schema(), ensure_ascii=False, indent=2))


def main():
    cli(prog_name="selfcog-swift")
