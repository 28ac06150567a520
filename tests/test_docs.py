"""The documentation stays true to the code: generated pages are current, every command named in
README.md and docs/*.md exists, links and make targets resolve, and the README stays short and inside
the repository."""

import importlib.util
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conftest import ROOT
from selfcog_swift.cli import cli

GENERATOR = ROOT / "tools" / "make_docs.py"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200
# A command line in code: `selfcog-swift WORD…` or `python -m selfcog_swift WORD…` (not a path such as
# ~/.cache/selfcog-swift/, not the package name in prose).
COMMAND = re.compile(r"(?:(?<![\w/.-])selfcog-swift|python3? -m selfcog_swift)((?:[ \t]+[a-z][a-z0-9-]*)*)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _generator():
    spec = importlib.util.spec_from_file_location("make_docs", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _code(text: str) -> list[str]:
    """The fenced blocks and inline code spans of a Markdown page."""
    blocks = FENCE.findall(text)
    return blocks + SPAN.findall(FENCE.sub("", text))


def command_paths(text: str) -> set[tuple[str, ...]]:
    """Each command a page names in code, as the CLI path it stands for (("models", "prepare"))."""
    found = set()
    for code in _code(text):
        for match in COMMAND.finditer(code):
            words, path, group = match.group(1).split(), [], cli
            for word in words:
                path.append(word)
                command = group.commands.get(word) if isinstance(group, click.Group) else None
                if not isinstance(command, click.Group):
                    break
                group = command
            if path:
                found.add(tuple(path))
    return found


def documented_commands() -> dict[tuple[str, ...], str]:
    named = {}
    for page in PAGES:
        for path in command_paths(page.read_text(encoding="utf-8")):
            named.setdefault(path, page.name)
    return named


@pytest.mark.parametrize("name", ["recipe.md", "commands.md"])
def test_generated_page_is_current(name):
    """docs/recipe.md and docs/commands.md are what tools/make_docs.py writes from the code now."""
    page = ROOT / "docs" / name
    expected = _generator().PAGES[name]()
    assert page.is_file(), f"docs/{name} is missing: run `make docs`"
    if page.read_text(encoding="utf-8") != expected:
        pytest.fail(f"docs/{name} is stale (the recipe schema or the CLI changed): run `make docs`")


def test_recipe_page_lists_every_field():
    """Each leaf field of the schema has a row, with its default (a check on the generator itself)."""
    from selfcog_swift.recipe import Recipe

    text = (ROOT / "docs" / "recipe.md").read_text(encoding="utf-8")
    for section, field in Recipe.model_fields.items():
        annotation = field.annotation
        names = getattr(annotation, "model_fields", None)
        if names and set(names) != {"zh", "en"}:
            for name in names:
                assert f"| `{section}.{name}" in text, f"{section}.{name} has no row in docs/recipe.md"
        else:
            assert f"| `{section}` |" in text
    assert "| `train.learning_rate` | number > 0 | `1e-4` |" in text


def test_every_documented_command_exists():
    """A command the docs name (a typo, one removed or renamed) fails here with the page naming it."""
    named = documented_commands()
    assert {("run",), ("validate",), ("render",), ("serve",)} <= set(named), sorted(named)
    runner = CliRunner()
    for path, page in sorted(named.items()):
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, f"{page} names `selfcog-swift {' '.join(path)}`, which has no --help:\n" \
                                      f"{result.output}"


def test_command_finder_sees_commands_and_ignores_prose():
    text = ("Run `selfcog-swift run recipes/x.yaml` or\n```bash\n.venv/bin/python -m selfcog_swift models prepare "
            "smollm2\n```\nThe cache is `~/.cache/selfcog-swift/x` and `selfcog-swift` is the program; "
            "selfcog-swift is its name.")
    assert command_paths(text) == {("run",), ("models", "prepare")}


def test_readme_is_short_and_inside_the_repository():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    for page in PAGES:
        assert "../" not in page.read_text(encoding="utf-8"), f"{page.name} names a path outside the repository"


def test_relative_links_resolve():
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            assert path.exists(), f"{page.name} links to {target}, which does not exist"


def test_make_targets_named_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    for page in PAGES:
        for code in _code(page.read_text(encoding="utf-8")):
            for target in re.findall(r"(?<![\w-])make ([a-z][a-z-]*)", code):
                assert target in targets, f"{page.name} names `make {target}`, which the Makefile lacks"


def test_code_map_names_every_module():
    """A module added or renamed shows up here until docs/code-map.md says what it is for."""
    text = (ROOT / "docs" / "code-map.md").read_text(encoding="utf-8")
    package = ROOT / "selfcog_swift"
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if path.name in ("__init__.py", "__main__.py") or "__pycache__" in relative.parts:
            continue
        names = [f"`{relative.as_posix()}`"] + ([f"`{relative.parts[0]}/`"] if len(relative.parts) > 1 else [])
        assert any(name in text for name in names), f"docs/code-map.md does not name selfcog_swift/{relative}"
