import json
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import RECIPES, ROOT, run_cli
from selfcog_swift.errors import SelfcogError
from selfcog_swift.recipe import load_recipe
from selfcog_swift.render import STAGES, render, stage_command, stages_for
from selfcog_swift.swift_flags import hybrid_thinking_templates, known_flags

BIANCANG = ROOT / "recipes" / "biancang.yaml"
AUTHOR_ZH = "齐鲁工业大学(山东省科学院)计算机科学与技术学部自然语言处理与认知计算研究组"


def bash_argv(script: str, checkpoint: str = "/ckpt/checkpoint-20") -> list[list[str]]:
    """Run a rendered script with `swift` and `python` replaced by recorders; return swift's argv."""
    # Each call is recorded as its argument count, then its arguments, all NUL-terminated: a value may
    # hold any other byte (a newline first, say), so nothing else can tell where a call ends.
    recorder = (
        'swift() { printf "%s\\0" "$#" "$@" >> "$REC"; }\n'
        'python() { :; }\n'
        'export -f swift python 2>/dev/null || true\n'
    )
    # Bytes, not text mode: universal newlines would turn a "\r" in a value into "\n".
    out = subprocess.run(["bash", "-c", recorder + 'source /dev/stdin "$CKPT"'], input=script.encode(),
                         capture_output=True, env={"REC": "/dev/stdout", "CKPT": checkpoint, "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    tokens, calls = out.stdout.decode().split("\0")[:-1], []
    while tokens:
        count, tokens = int(tokens[0]), tokens[1:]
        calls.append(tokens[:count])
        tokens = tokens[count:]
    return calls


GOLDEN_RECIPES = ["recipes/biancang.yaml", "tests/golden/recipes/multinode.yaml",
                  "tests/golden/recipes/fsdp_user_deepspeed.yaml"]


@pytest.mark.parametrize("ref", GOLDEN_RECIPES)
def test_golden_scripts_match_committed_files(ref):
    """`make golden` rewrites these after an intended change."""
    recipe = load_recipe(ROOT / ref)
    folder = ROOT / "tests" / "golden" / Path(ref).stem
    for stage in STAGES:
        assert render(recipe, stage, "sh", [ref]) == (folder / f"{stage}.sh").read_text(encoding="utf-8"), stage
    assert render(recipe, "sft", "yaml", [ref]) == (folder / "sft.yaml").read_text(encoding="utf-8")


def test_multinode_renders_one_sft_script_per_node():
    recipe = load_recipe(ROOT / "tests/golden/recipes/multinode.yaml")
    scripts = render(recipe, "sft", "sh", ["x.yaml"]).split("#!/usr/bin/env bash")[1:]
    assert len(scripts) == 2
    for rank, script in enumerate(scripts):
        (recorded,) = bash_argv("#!/usr/bin/env bash" + script)
        assert recorded[recorded.index("--deepspeed") + 1] == "zero3"
        assert f"NODE_RANK={rank} " in script and "NNODES=2 " in script and "MASTER_ADDR=10.0.0.1 " in script


@pytest.mark.parametrize("stage", STAGES)
def test_bash_accepts_rendered_scripts(stage):
    out = run_cli("render", "recipes/biancang.yaml", "--stage", stage)
    assert out.returncode == 0 and f"\nswift {stage} \\\n" in out.stdout, out.stderr  # empty input passes bash -n
    assert subprocess.run(["bash", "-n"], input=out.stdout, text=True).returncode == 0


@pytest.mark.parametrize("stage", STAGES)
def test_bash_reads_back_exactly_the_driver_argv(stage):
    recipe = load_recipe(BIANCANG)
    script = render(recipe, stage, "sh", ["recipes/biancang.yaml"])
    (recorded,) = bash_argv(script)
    command = stage_command(recipe, stage)
    assert recorded == [stage, *command.argv({"CHECKPOINT": "/ckpt/checkpoint-20"})]


def test_author_with_parentheses_reads_back_as_one_exact_string():
    recipe = load_recipe(BIANCANG, ("data.source=swift",))
    (recorded,) = bash_argv(render(recipe, "sft", "sh", ["x.yaml"]))
    at = recorded.index("--model_author")
    assert recorded[at + 1:at + 3] == [AUTHOR_ZH, "QLU-NLP Research Group"]


HOSTILE = ["it's \"quoted\"", "$(touch /tmp/pwned)", "`id`", "line\nbreak", "（括号）、「引号」；", "a\\b $HOME *"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_identity_strings_survive_bash_exactly(text, tmp_path):
    recipe = load_recipe(BIANCANG, ("data.source=swift",))
    recipe.identity.author.zh = text
    recipe.model.system = text
    (recorded,) = bash_argv(render(recipe, "sft", "sh", ["x.yaml"]))
    assert recorded[recorded.index("--model_author") + 1] == text
    assert recorded[recorded.index("--system") + 1] == text
    assert not Path("/tmp/pwned").exists()


def test_rendered_flags_pass_swift_parsers(swift_parsers):
    for path in [*RECIPES, *(ROOT / "tests" / "golden" / "recipes").glob("*.yaml")]:
        recipe = load_recipe(path)
        for stage in stages_for(recipe, "all"):
            argv = stage_command(recipe, stage).argv({"CHECKPOINT": "/tmp/ckpt"})
            _, remaining = swift_parsers[stage].parse_known_args(argv)
            assert remaining == [], (path.name, stage, remaining)


def test_swift_flags_file_matches_installed_swift():
    import dataclasses

    from swift.arguments import ExportArguments, InferArguments, SftArguments

    known = known_flags()
    for stage, cls in (("sft", SftArguments), ("export", ExportArguments), ("infer", InferArguments)):
        assert known[stage] == {f.name for f in dataclasses.fields(cls) if f.init}, stage
    from swift.template import TEMPLATE_MAPPING

    assert hybrid_thinking_templates() == {
        k for k, m in TEMPLATE_MAPPING.items() if getattr(m, "is_thinking", False) and getattr(m, "non_thinking_prefix", "")}


def test_swift_args_pass_through_and_unknown_ones_are_rejected(swift_parsers):
    recipe = load_recipe(BIANCANG, ("swift_args.sft.lr_scheduler_type=cosine", "swift_args.sft.learning_rate=2e-5"))
    argv = stage_command(recipe, "sft").argv()
    assert argv[argv.index("--lr_scheduler_type") + 1] == "cosine"
    assert argv.count("--learning_rate") == 1 and argv[argv.index("--learning_rate") + 1] == "2e-5"
    assert swift_parsers["sft"].parse_known_args(argv)[1] == []
    bad = load_recipe(BIANCANG, ("swift_args.sft.lora_dropout_p=0.1", "swift_args.sft.sft_type=lora"))
    with pytest.raises(SelfcogError, match=r"rejects: lora_dropout_p \(did you mean lora_dropout\?\), sft_type"):
        stage_command(bad, "sft")


def test_yaml_format_is_swift_native():
    from swift.cli.main import parse_yaml_args

    recipe = load_recipe(BIANCANG)
    text = render(recipe, "sft", "yaml", ["x"])
    path = ROOT / ".pytest_cache" / "sft.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    argv = [str(path)]
    parse_yaml_args(argv)
    # swift writes YAML booleans as str(True); its parser reads True/true alike.
    assert [{"True": "true", "False": "false"}.get(t, t) for t in argv] == stage_command(recipe, "sft").argv()
    assert yaml.safe_load(text)["ENV"]["NPROC_PER_NODE"] == "8"


def test_json_format_lists_env_and_argv():
    out = run_cli("render", "recipes/biancang.yaml", "--format", "json", "--checkpoint", "/c/checkpoint-9")
    data = json.loads(out.stdout)
    assert data["export"]["argv"][:4] == ["swift", "export", "--adapters", "/c/checkpoint-9"]
    assert data["sft"]["env"]["CUDA_VISIBLE_DEVICES"] == "0,1,2,3,4,5,6,7"
    assert data["infer"]["argv"][data["infer"]["argv"].index("--model") + 1] == "/c/checkpoint-9-merged"


def test_mlp_targets_and_full_tuning():
    recipe = load_recipe(BIANCANG, ("tuning.target_modules=mlp",))
    argv = stage_command(recipe, "sft").argv()
    assert argv[argv.index("--target_modules") + 1:argv.index("--target_modules") + 4] == [
        "gate_proj", "up_proj", "down_proj"]
    full = load_recipe(BIANCANG, ("tuning.method=full",))
    assert "--lora_rank" not in stage_command(full, "sft").argv()
    assert stages_for(full, "all") == ["sft", "infer"]


def test_render_imports_neither_torch_nor_swift():
    code = ("import sys, runpy; sys.argv=['selfcog_swift','render','recipes/biancang.yaml'];\n"
            "try: runpy.run_module('selfcog_swift', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "heavy=[m for m in ('torch','swift','transformers') if m in sys.modules]; print('HEAVY', heavy, file=sys.stderr)")
    out = subprocess.run([__import__("sys").executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert "HEAVY []" in out.stderr, out.stderr


def test_revision_and_dtype_reach_every_stage_that_loads_the_model(tmp_path, swift_parsers):
    """sft trains one revision in one dtype; replay, before, choose, after, eval and serve load the same."""
    from selfcog_swift.invocation import infer_argv_for
    from selfcog_swift.serve import deploy_argv

    recipe = load_recipe(BIANCANG, ("model.revision=v1.2", "model.torch_dtype=bfloat16"))
    lora = tmp_path / "checkpoint-9"
    lora.mkdir()
    (lora / "adapter_config.json").write_text("{}")
    merged = tmp_path / "checkpoint-9-merged"
    merged.mkdir()
    (merged / "config.json").write_text("{}")
    infer = {"infer.sh": stage_command(recipe, "infer").argv({"CHECKPOINT": str(lora)}),
             "replay and before (the base)": infer_argv_for(recipe, recipe.model.id),
             "choose and eval (LoRA on the base)": infer_argv_for(recipe, str(lora)),
             "after and eval (merged)": infer_argv_for(recipe, str(merged))}
    loading = {"sft": stage_command(recipe, "sft").argv(), **infer,
               "serve": deploy_argv(str(merged), recipe, "127.0.0.1", 8000, "transformers")}
    for name, argv in loading.items():
        assert argv[argv.index("--model_revision") + 1] == "v1.2", name
        assert argv[argv.index("--torch_dtype") + 1] == "bfloat16", name
    for name, argv in infer.items():
        assert swift_parsers["infer"].parse_known_args(argv)[1] == [], name
    bare = load_recipe(BIANCANG)
    assert "--model_revision" not in infer_argv_for(bare, str(merged))


@pytest.mark.parametrize("flag", ["external_plugins", "custom_register_path", "local_repo_path"])
@pytest.mark.parametrize("stage", STAGES)
def test_flags_that_import_code_need_allow_code(flag, stage):
    """A recipe whose swift_args make swift import a Python file is code, and has to say so."""
    sets = (f"swift_args.{stage}.{flag}=[/tmp/plugin.py]",)
    with pytest.raises(SelfcogError, match=rf"^swift_args\.{stage}\.{flag}: .*allow_code: true"):
        stage_command(load_recipe(BIANCANG, sets), stage)
    argv = stage_command(load_recipe(BIANCANG, (*sets, "allow_code=true")), stage).argv({"CHECKPOINT": "/c/ckpt-1"})
    assert argv[argv.index(f"--{flag}") + 1] == "/tmp/plugin.py"
    out = run_cli("render", "recipes/biancang.yaml", "--stage", stage, "--set", sets[0])
    assert out.returncode == 2 and "allow_code" in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_code_flags_are_swift_flags_that_import_files():
    """Each refused flag is one swift 4.6 accepts (the table would not list a renamed one)."""
    from selfcog_swift.render import CODE_FLAGS

    for flag in CODE_FLAGS:
        assert all(flag in known_flags()[stage] for stage in STAGES), flag
