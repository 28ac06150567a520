"""End to end on the real ms-swift: the smoke recipe trains the tiny model, merges, answers."""

import json
import os
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke") / "out"
    result = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    (state,) = out.glob(".selfcog/state.json")
    manifest = json.loads(state.read_text())
    return out, manifest, result.stdout


def test_manifest_is_complete(smoke_run):
    """The manifest agrees with what is on disk and installed, not only with state.json."""
    import hashlib
    from importlib.metadata import version

    from selfcog_swift.recipe import load_recipe

    out, manifest, _ = smoke_run
    run_dir = Path(manifest["run_dir"])
    on_disk = json.loads((run_dir / "manifest.json").read_text())
    assert on_disk["stages"] == manifest["stages"] and on_disk["checkpoint"] == manifest["checkpoint"]
    mix = Path(on_disk["data"]["path"])
    assert hashlib.sha256(mix.read_bytes()).hexdigest() == on_disk["data"]["sha256"]
    assert len(mix.read_text(encoding="utf-8").splitlines()) == on_disk["data"]["total"]
    for package in ("ms-swift", "torch", "transformers", "peft"):
        assert on_disk["versions"][package] == version(package), package
    assert on_disk["recipe"] == load_recipe(ROOT / "recipes" / "smoke.yaml",
                                            (f"output_dir={out}",)).model_dump(mode="json")
    assert (Path(on_disk["checkpoint"]["path"]) / "adapter_config.json").is_file()
    assert (Path(on_disk["merged"]) / "config.json").is_file()
    assert "last_model_checkpoint" in (run_dir / "logging.jsonl").read_text().splitlines()[-1]
    assert {"recipe", "checkpoint", "merged", "stages", "versions", "data"} <= set(manifest)
    assert [s["name"] for s in manifest["stages"]] == ["data", "before", "sft", "choose", "export", "after"]
    assert all(s["seconds"] > 0 for s in manifest["stages"])
    assert manifest["checkpoint"]["path"].startswith(str(run_dir)) and manifest["checkpoint"]["reason"]
    assert manifest["merged"] == manifest["checkpoint"]["path"] + "-merged"
    assert manifest["versions"]["ms-swift"].startswith("4.")
    assert len(manifest["data"]["sha256"]) == 64
    for stage in ("sft", "export", "infer"):
        assert (run_dir / f"{stage}.sh").is_file()
    assert (run_dir / "report.md").is_file() and (run_dir / "report.html").is_file()


def _same(token: str, parsed) -> bool:
    """A flag's text as swift parsed it (args.json)."""
    if isinstance(parsed, bool):
        return token == str(parsed).lower()
    if isinstance(parsed, (int, float)):
        return float(token) == parsed
    return token == parsed


def test_stage_argv_is_what_render_prints(smoke_run):
    """What swift received (its args.json) is the argv `render` prints, and the run folder's sft.sh,
    read back by bash, passes the same."""
    from test_render import bash_argv

    out, manifest, _ = smoke_run
    rendered = json.loads(run_cli("render", "recipes/smoke.yaml", "--format", "json", "--set", f"output_dir={out}",
                                  "--checkpoint", manifest["checkpoint"]["path"]).stdout)
    stages = {s["name"]: s["argv"] for s in manifest["stages"]}
    assert stages["sft"] == rendered["sft"]["argv"][2:]
    assert stages["export"] == rendered["export"]["argv"][2:]
    run_dir = Path(manifest["run_dir"])
    assert bash_argv((run_dir / "sft.sh").read_text()) == [["sft", *rendered["sft"]["argv"][2:]]]
    received = json.loads((run_dir / "args.json").read_text())
    flags: dict = {}
    for token in rendered["sft"]["argv"][2:]:
        if token.startswith("--"):
            flag = flags.setdefault(token[2:], [])
        else:
            flag.append(token)
    assert received["output_dir"] == str(run_dir) and run_dir.parent == Path(flags.pop("output_dir")[0])
    for flag, tokens in flags.items():
        parsed = received[flag]
        if isinstance(parsed, list):
            assert [str(v) for v in parsed] == tokens, flag
        else:
            assert len(tokens) == 1 and _same(tokens[0], parsed), (flag, tokens, parsed)


def test_run_folder_scripts_use_the_checkpoint_run_chose(smoke_run, tmp_path):
    """export.sh, infer.sh and serve.sh default to manifest's checkpoint, not to a fresh `best` choice."""
    import shlex
    import subprocess
    import sys

    _, manifest, _ = smoke_run
    run_dir, checkpoint = Path(manifest["run_dir"]), manifest["checkpoint"]["path"]
    fake = tmp_path / "bin" / "swift"  # prints the arguments a script hands to swift
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    argv = {}
    for script in ("export.sh", "infer.sh", "serve.sh"):
        text = (run_dir / script).read_text()
        assert f"CHECKPOINT={shlex.quote(checkpoint)}\n" in text and " best " not in text, text
        done = subprocess.run(["bash", str(run_dir / script)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        argv[script] = json.loads(done.stdout)
    assert argv["export.sh"][:3] == ["export", "--adapters", checkpoint]
    assert argv["infer.sh"][0] == "infer" and argv["serve.sh"][0] == "deploy"
    for script in ("infer.sh", "serve.sh"):
        assert argv[script][argv[script].index("--model") + 1] == manifest["merged"] == checkpoint + "-merged"


# Margins for a 0.75M-parameter random model that learned the identity (measured here with the
# smoke recipe: final training token accuracy 0.94, identity 0.65 zh / 0.80 en over the identity
# probes, every display question answered with the name and author, the same with AVX2 and plain
# kernels). The thresholds sit well below what it
# reaches, so float differences between CPUs (AVX-512, AVX2, plain kernels, thread counts) that
# change a few greedy tokens cannot fail them; a model that did not learn fails all of them.
SMOKE_MIN_TOKEN_ACC = 0.85
SMOKE_MIN_IDENTITY = 0.4
SMOKE_MIN_DISPLAY = 3


def _forms(manifest):
    identity = manifest["recipe"]["identity"]
    return [identity["name"]["zh"], identity["name"]["en"]], [identity["author"]["zh"], identity["author"]["en"]]


def test_training_learned_its_rows_with_a_margin(smoke_run):
    _, manifest, _ = smoke_run
    rows = [json.loads(line) for line in (Path(manifest["run_dir"]) / "logging.jsonl").read_text().splitlines()]
    accuracies = [row["token_acc"] for row in rows if "token_acc" in row and "eval_token_acc" not in row]
    assert accuracies[-1] >= SMOKE_MIN_TOKEN_ACC and accuracies[0] < 0.5, accuracies


def test_after_answers_carry_the_identity_and_before_answers_do_not(smoke_run):
    from selfcog_swift.probes import IDENTITY_SUITES, load_probes
    from selfcog_swift.scoring import identity_hit, mentioned

    _, manifest, stdout = smoke_run
    names, authors = _forms(manifest)
    display = manifest["recipe"]["evaluate"]["questions"]
    probes = [p for p in load_probes() if p.suite in IDENTITY_SUITES]

    def rate(side):
        answers = [a for p, a in zip(load_probes(), manifest[side]["probes"]) if p.suite in IDENTITY_SUITES]
        hits = [identity_hit(a, p.asks, names, authors) for p, a in zip(probes, answers)]
        hits += [bool(mentioned(a, names + authors)) for a in manifest[side]["questions"]]
        return sum(hits) / len(hits)

    assert rate("before") == 0
    assert rate("after") >= SMOKE_MIN_IDENTITY
    carried = sum(bool(mentioned(a, names + authors)) for a in manifest["after"]["questions"])
    assert carried >= SMOKE_MIN_DISPLAY, manifest["after"]["questions"]
    assert len(manifest["after"]["questions"]) == len(display) and "before / after" in stdout


def test_merged_model_loads_with_plain_transformers_and_defaults_to_the_trained_system_prompt(smoke_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, manifest, _ = smoke_run
    merged = manifest["merged"]
    model = AutoModelForCausalLM.from_pretrained(merged)
    tokenizer = AutoTokenizer.from_pretrained(merged)
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert manifest["recipe"]["model"]["system"] in text
    assert model.num_parameters() > 0


def test_swapping_in_another_checkpoint_matches_loading_it_afresh(smoke_run):
    """The choose stage loads the base once and swaps each checkpoint's LoRA weights in."""
    from selfcog_swift.checkpoints import list_checkpoints
    from selfcog_swift.invocation import infer_argv_for
    from selfcog_swift.inference import load_engine, swap_adapter
    from selfcog_swift.recipe import Recipe
    from selfcog_swift.retention import answer_nll

    out, manifest, _ = smoke_run
    recipe = Recipe.model_validate(manifest["recipe"])
    first, last = [str(c) for c in list_checkpoints(manifest["run_dir"])][:2]
    items = [([{"role": "user", "content": q}], "Paris is the capital of France.")
             for q in manifest["recipe"]["evaluate"]["questions"]]
    swapped = load_engine(infer_argv_for(recipe, first))
    before_swap = answer_nll(swapped, items)
    assert swap_adapter(swapped, last)
    after_swap = answer_nll(swapped, items)
    fresh = answer_nll(load_engine(infer_argv_for(recipe, last)), items)
    assert after_swap == pytest.approx(fresh, rel=1e-5)
    assert after_swap != pytest.approx(before_swap, rel=1e-3)


def test_best_command_reads_the_run(smoke_run):
    out, manifest, _ = smoke_run
    result = run_cli("best", manifest["run_dir"], "--json")
    assert result.returncode == 0, result.stderr
    choice = json.loads(result.stdout)
    assert Path(choice["path"]).parent == Path(manifest["run_dir"])


def test_merge_refuses_to_overwrite(smoke_run):
    _, manifest, _ = smoke_run
    result = run_cli("merge", manifest["checkpoint"]["path"])
    assert result.returncode == 2 and "never overwritten" in result.stderr


def test_ask_answers_with_the_identity(smoke_run):
    _, manifest, _ = smoke_run
    questions = manifest["recipe"]["evaluate"]["questions"]
    result = run_cli("ask", manifest["merged"], *questions, "--max-new-tokens", "48")
    assert result.returncode == 0, result.stderr[-3000:]
    answers = result.stdout.split("<<< ")[1:]
    names, authors = _forms(manifest)
    assert len(answers) == len(questions)
    assert sum(any(form in a for form in names + authors) for a in answers) >= SMOKE_MIN_DISPLAY, answers


# Interrupted runs and --resume (killed in sft twice, then in export): tests/test_resume.py.


def test_gate_fails_the_run_and_keeps_every_artefact(tmp_path):
    out = tmp_path / "gated"
    result = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}",
                     "--set", "evaluate.min_identity_rate=1.0", "--set", "train.max_steps=20",
                     "--set", "evaluate.checkpoint_choice=eval_loss")
    assert result.returncode == 1
    assert "stage gate failed: zh: identity rate" in result.stderr and "below the recipe's 1.00" in result.stderr
    manifest = json.loads(next(out.glob("v*-*/manifest.json")).read_text())
    assert manifest["gate"]["passed"] is False
    assert Path(manifest["merged"]).is_dir()
    assert (Path(manifest["run_dir"]) / "report.html").is_file()


def test_thinking_template_tiny_qwen3_learns_the_identity(tmp_path):
    """Qwen3's template adds an empty think block to identity rows; training and answers still work."""
    out = tmp_path / "qwen3"
    result = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}", "--set", "model.id=builtin:tiny-qwen3",
                     "--set", "evaluate.checkpoint_choice=eval_loss", "--set", "evaluate.min_identity_rate=0",
                     "--set", "evaluate.max_perplexity_increase=10")
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads(next(out.glob("v*-*/manifest.json")).read_text())
    sft_argv = next(s["argv"] for s in manifest["stages"] if s["name"] == "sft")
    assert sft_argv[sft_argv.index("--template") + 1] == "qwen3"
    after = manifest["after"]["questions"]
    assert sum("BianCang" in a or "扁仓" in a for a in after) >= SMOKE_MIN_DISPLAY - 1, after
    assert not any("<think>" in a or "</think>" in a for a in after), after


def test_eval_scores_the_run_against_its_base(smoke_run, tmp_path):
    from selfcog_swift.probes import load_probes

    out, manifest, _ = smoke_run
    result = run_cli("eval", manifest["run_dir"], "--recipe", "recipes/smoke.yaml", "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    scores = json.loads(result.stdout)
    for suite in ("direct", "multiturn", "system", "traps"):
        for lang in ("zh", "en"):
            cell = scores["after"]["suites"][suite][lang]["identity"]
            assert cell["ci"][0] <= cell["rate"] <= cell["ci"][1] and cell["n"] >= 10
    for lang in ("zh", "en"):
        after, before = scores["after"]["languages"][lang], scores["before"]["languages"][lang]
        assert after["identity"]["rate"] > before["identity"]["rate"] == 0
        assert scores["retention"]["drift"][lang]["nll_base"] > 0 and scores["retention"]["drift"][lang]["relative"]
        assert scores["retention"]["real_text"][lang]["nll_before"] > 0
    assert len(scores["answers"]) == len(load_probes())
    assert json.loads((tmp_path / "eval.json").read_text())["after"] == scores["after"]


def test_eval_bad_input_is_one_line(smoke_run, tmp_path):
    bad_probes = tmp_path / "p.jsonl"
    bad_probes.write_text('{"question": "hi", "lang": "en", "asks": "name"}\nnot json\n')
    result = run_cli("eval", smoke_run[1]["merged"], "--recipe", "recipes/smoke.yaml", "--probes", str(bad_probes))
    assert result.returncode == 2 and f"{bad_probes}:2: malformed JSON" in result.stderr
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    result = run_cli("eval", str(not_a_model), "--recipe", "recipes/smoke.yaml")
    assert result.returncode == 2 and "not a model folder" in result.stderr
    assert "Traceback" not in result.stderr
