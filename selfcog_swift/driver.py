"""Runs a recipe's stages in one process through swift's Python API.

data → before answers → sft_main → choose checkpoint → export_main (merge) → after answers.
Every swift call receives exactly the argument list `render` prints (`StageCommand.argv`).
Progress lives in `<output_dir>/.selfcog/state.json` until swift's run folder is known, then
in that folder's `manifest.json`; `--resume` continues from it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Optional

from . import checkpoints
from .errors import SelfcogError, StageError
from .invocation import infer_argv_for, prepare_model, sft_value, stage_env
from .recipe import Recipe
from .render import data_path, render_script, serve_script, stage_command, stages_for
from .runstate import Echo, RunState, banner, resume_argv, run_dirs, run_stage


def check_prompts(recipe: Recipe) -> None:
    """Stop before anything runs (no download, no build) when swift would refuse the model section or
    the trained or served system prompt names another identity (model_meta.prompt_problems)."""
    from .model_meta import prompt_problems

    problems = prompt_problems(recipe)
    if problems:
        raise SelfcogError("; ".join(problems))


def fix_served_prompt(recipe: Recipe, model_dir: str, echo: Echo) -> None:
    """The served model's chat template defaults to the trained system prompt."""
    from .guards import set_default_system
    from .model_meta import resolve

    system = recipe.model.system or resolve(recipe).default_system
    if system:
        set_default_system(Path(model_dir), system)
        echo(f"{model_dir}: chat template now defaults to the system prompt {system!r}")


def is_distributed(recipe: Recipe) -> bool:
    return bool(recipe.launch.nproc_per_node or recipe.launch.nnodes)


def _torchrun_sft(output_dir: str, argv: list[str], earlier_runs: set[str]) -> None:
    """Launch sft the way `swift sft` does with NPROC_PER_NODE/NNODES set: torchrun, no launcher of ours."""
    import importlib.util

    from swift.cli.main import get_torchrun_args

    script = importlib.util.find_spec("swift.cli.sft").origin
    cmd = [sys.executable, "-m", "torch.distributed.run", *get_torchrun_args(), script, *argv]
    code = subprocess.call(cmd)
    if code != 0 and not _training_finished(output_dir, earlier_runs):
        raise StageError("sft", f"torchrun exited with {code}")
    if code != 0:
        # Seen here with gloo: every step and the final record written, then one rank aborts
        # while the process group is torn down. The run itself is complete.
        print(f"warning: torchrun exited with {code} after training finished (final record in logging.jsonl)")


def _training_finished(output_dir: str, earlier_runs: set[str]) -> bool:
    """swift appends last/best_model_checkpoint to logging.jsonl once training has ended."""
    try:
        run_dir = checkpoints.find_run_dir(output_dir)
        log = run_dir / "logging.jsonl"
        return str(run_dir) not in earlier_runs and \
            "last_model_checkpoint" in log.read_text(encoding="utf-8").splitlines()[-1]
    except (SelfcogError, OSError, IndexError):
        return False


def _sft(state: RunState, recipe: Recipe, echo: Echo) -> None:
    command = stage_command(recipe, "sft")
    argv = command.argv() + (resume_argv(state, recipe) if state.data["runs_before_sft"] is not None else [])
    state.data["runs_before_sft"] = state.data["runs_before_sft"] or sorted(run_dirs(recipe.output_dir))
    state.save()
    from .console import training_bar

    earlier = set(state.data["runs_before_sft"])
    with run_stage(state, "sft", argv, echo), stage_env(command), training_bar(echo, recipe.output_dir, earlier):
        if is_distributed(recipe):
            _torchrun_sft(recipe.output_dir, argv, set(state.data["runs_before_sft"]))
            run_dir = checkpoints.find_run_dir(recipe.output_dir)
            choice = checkpoints.choose_checkpoint(run_dir)
        else:
            from swift.pipelines import sft_main

            result = sft_main(argv)
            choice = checkpoints.choose_from_result(result)
            run_dir = Path(choice.last or choice.path).parent
        state.data["run_dir"] = str(run_dir)
        if hasattr(echo, "move_log"):
            echo.move_log(run_dir)
        state.data["checkpoint"] = choice.to_dict()
        state.data["eval_loss_choice"] = choice.to_dict()
    echo(f"checkpoint: {choice.path}\n  why: {choice.reason}")


def _export(state: RunState, recipe: Recipe, echo: Echo) -> None:
    checkpoint = state.data["checkpoint"]["path"]
    merged = merged_folder(checkpoint)
    command = stage_command(recipe, "export")
    argv = command.argv({"CHECKPOINT": checkpoint})
    with run_stage(state, "export", argv, echo), stage_env(command):
        from swift.pipelines import export_main

        export_main(argv)
        state.data["merged"] = merged
    fix_served_prompt(recipe, merged, echo)


def merged_folder(checkpoint: str) -> str:
    """Where `swift export --merge_lora` writes a checkpoint's merged model; refuses one that exists
    (swift would fail on it, or skip it with --exist_ok, and we never overwrite)."""
    merged = f"{str(checkpoint).rstrip('/')}-merged"
    if Path(merged).exists():
        raise SelfcogError(f"{merged} already exists; move it away first (never overwritten)")
    return merged


def merge(checkpoint: str, echo: Echo = print) -> str:
    """Merge a LoRA checkpoint into its base model (swift export); never overwrites."""
    if not (Path(checkpoint) / "adapter_config.json").is_file():
        raise SelfcogError(f"{checkpoint}: not a LoRA checkpoint (no adapter_config.json)")
    merged = merged_folder(checkpoint)
    argv = ["--adapters", checkpoint.rstrip("/"), "--merge_lora", "true"]
    banner(echo, "export", ["swift", "export", *argv])
    from swift.pipelines import export_main

    from .inference import allow_remote_code

    allow_remote_code(False)
    export_main(argv)
    return merged


def served_model(state: RunState) -> str:
    return state.data["merged"] or state.data["checkpoint"]["path"]


def _examine(state: RunState, recipe: Recipe, name: str, model: str, echo: Echo) -> None:
    """The display questions and the held-out suites, asked of the base ("before") or tuned model."""
    from .evaluate import base_answers, examine
    from .probes import load_probes

    command = stage_command(recipe, "infer")
    argv = infer_argv_for(recipe, model)
    ev = recipe.evaluate
    with run_stage(state, name, argv, echo), stage_env(command):
        probes = load_probes(ev.probes)  # read inside the evaluation stages only
        if name == "before":
            state.data[name], cached = base_answers(model, argv, ev.questions, probes, recipe.model.system,
                                                    ev.max_new_tokens, echo)
            if cached:
                echo("before: the base model's answers and NLLs come from the cache (same model, probes, settings)")
        else:
            state.data[name] = examine(argv, ev.questions, probes, recipe.model.system, ev.max_new_tokens,
                                       state.data["before"]["probes"], echo=echo)


def _choose_by_identity(state: RunState, recipe: Recipe, echo: Echo) -> None:
    """Score each saved checkpoint on the validation split's identity rows plus retention; pick the best."""
    from .evaluate import choose_by_identity

    with run_stage(state, "choose", [], echo), stage_env(stage_command(recipe, "infer")):
        scored, choice = choose_by_identity(recipe, Path(state.data["run_dir"]),
                                            lambda ckpt: infer_argv_for(recipe, str(ckpt)), echo)
        state.data["checkpoint_scores"] = scored
        if choice:
            state.data["checkpoint"] = choice
    echo(f"checkpoint: {state.data['checkpoint']['path']}\n  why: {state.data['checkpoint']['reason']}")


def _write_scripts(state: RunState, recipe: Recipe, recipe_ref: list[str]) -> None:
    """recipe.json and sft/export/infer/serve.sh in the run folder; export, infer and serve default to
    the checkpoint `run` chose (manifest.json's checkpoint.path), not to a fresh `best` choice."""
    run_dir = Path(state.data["run_dir"])
    chosen = state.data["checkpoint"]["path"]
    (run_dir / "recipe.json").write_text(json.dumps(state.data["recipe"], ensure_ascii=False, indent=2),
                                         encoding="utf-8")
    for stage in stages_for(recipe, "all"):
        (run_dir / f"{stage}.sh").write_text(render_script(recipe, stage, recipe_ref, chosen=chosen), encoding="utf-8")
    (run_dir / "serve.sh").write_text(serve_script(recipe, recipe_ref, chosen), encoding="utf-8")


def build_replay(recipe: Recipe, echo: Echo = print):
    """The base model's answers to the replay prompts (cached under the output dir; see replay.py)."""
    from .replay import build

    prepare_model(recipe)
    base = sft_value(recipe, "model")
    with stage_env(stage_command(recipe, "infer")):
        return build(recipe, infer_argv_for(recipe, base), base, echo)


def mix_data(recipe: Recipe, out: str, echo: Echo = print):
    """The mixed training file: identity rows, datasets and, when the recipe replays, the replay rows."""
    replay = build_replay(recipe, echo) if recipe.data.replay else None
    return _mix(recipe, out, replay.path if replay else None)


def _mix(recipe: Recipe, out: str, replay_path: Optional[str]):
    from .data import mix, token_counter

    counter = token_counter(sft_value(recipe, "model")) if recipe.train.batches == "similar_length" else None
    return mix(recipe, out, Path(replay_path) if replay_path else None, counter)


def _replay(state: RunState, recipe: Recipe, echo: Echo) -> None:
    with run_stage(state, "replay", [], echo):
        summary = build_replay(recipe, echo)
        state.data["replay"] = summary.to_json()
    echo(f"replay: {summary.kept} of {summary.prompts} answers kept, dropped {summary.dropped}"
         f"{' (cached)' if summary.cached else ''} -> {summary.path}")


def _data(state: RunState, recipe: Recipe, echo: Echo) -> None:
    replay = state.data.get("replay")
    with run_stage(state, "data", [], echo):
        summary = _mix(recipe, data_path(recipe), replay["path"] if replay else None)
        state.data["data"] = summary.to_json()
    echo(summary.table())
    from .guards import advice

    for note in advice(recipe, summary.identity_rows, summary.total):
        echo(f"warning: {note}")


def dry_run(recipe: Recipe, echo: Echo) -> None:
    """Print every stage and its exact argument list, running nothing."""
    check_prompts(recipe)
    if recipe.data.replay:
        spec = recipe.data.replay
        how = "greedy" if spec.temperature == 0 else f"temperature {spec.temperature}, top_p {spec.top_p}"
        banner(echo, f"replay: the base model answers {spec.sample or 'all'} prompts of {spec.prompts} ({how}, "
                     f"{spec.max_new_tokens} new tokens), cached under {Path(recipe.output_dir) / 'data'}")
    banner(echo, f"data -> {data_path(recipe)}")
    banner(echo, "before: answers of the base model")
    for stage in stages_for(recipe, "all"):
        command = stage_command(recipe, stage)
        env = " ".join(f"{k}={v}" for k, v in command.env)
        banner(echo, stage, [env, "swift", stage, *command.argv(keep_unbound=True)] if env else
               ["swift", stage, *command.argv(keep_unbound=True)])
    banner(echo, "after: answers of the tuned model")


def run(recipe: Recipe, recipe_ref: list[str], resume: bool = False, echo: Echo = print) -> dict:
    """Run a recipe end to end; returns the manifest.

    Args:
        recipe: A validated recipe.
        recipe_ref: How scripts written into the run folder refer back to the recipe.
        resume: Continue the interrupted run in recipe.output_dir: finished stages are skipped and
            training restarts from its last checkpoint.
        echo: Where banners and tables go.

    Raises:
        SelfcogError: bad input (exit 2); StageError: a swift stage failed (exit 1).
    """
    from .console import swift_output

    check_prompts(recipe)  # first: a refused recipe writes, builds or downloads nothing
    state = RunState.open(recipe, resume)
    if state.data["run_dir"] and hasattr(echo, "move_log"):
        echo.move_log(Path(state.data["run_dir"]))
    with swift_output(echo):
        prepare_model(recipe)
    base_model = sft_value(recipe, "model")
    if recipe.data.replay and not state.done("replay"):
        _replay(state, recipe, echo)
    if not state.done("data"):
        _data(state, recipe, echo)
    if not state.done("before"):
        _examine(state, recipe, "before", base_model, echo)
    if not state.done("sft"):
        _sft(state, recipe, echo)
    if recipe.evaluate.checkpoint_choice == "identity" and not state.done("choose"):
        _choose_by_identity(state, recipe, echo)
    _write_scripts(state, recipe, recipe_ref)  # after the choice: the scripts default to it
    if recipe.tuning.method == "lora" and not state.done("export"):
        _export(state, recipe, echo)
    if not state.done("after"):
        if recipe.tuning.method == "full":
            fix_served_prompt(recipe, served_model(state), echo)
        _examine(state, recipe, "after", served_model(state), echo)
    return _conclude(state, recipe, echo)


def _conclude(state: RunState, recipe: Recipe, echo: Echo) -> dict:
    """Before/after table, scores, report files, and the recipe's gate."""
    from .evaluate import compare, gate
    from .probes import load_probes
    from .report import before_after_table, summary_lines, write_reports

    banner(echo, "before / after")
    echo(before_after_table(recipe.evaluate.questions, state.data["before"]["questions"],
                            state.data["after"]["questions"]))
    result = compare(recipe, load_probes(recipe.evaluate.probes), state.data["before"], state.data["after"])
    failures = gate(recipe, result)
    state.data["evaluation"] = {k: v for k, v in result.items() if k != "answers"}
    state.data["gate"] = {"passed": not failures, "failures": failures}
    state.data["finished"] = True
    state.save()
    reports = write_reports(Path(state.data["run_dir"]), state.data, result)
    banner(echo, "scores on the held-out suites (after training; before for comparison)")
    for line in summary_lines(result, failures):
        echo(line)
    echo(f"\nrun folder: {state.data['run_dir']}\nmodel: {served_model(state)}\nreport: {reports[0]}")
    if failures:
        raise StageError("gate", "; ".join(failures) + f" (artefacts kept in {state.data['run_dir']})")
    return state.data
