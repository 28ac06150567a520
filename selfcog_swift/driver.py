"""Runs a recipe's stages in one process through swift's Python API.

data → before answers → sft_main → choose checkpoint → export_main (merge) → after answers.
Every swift call receives exactly the argument list `render` prints (`StageCommand.argv`).
Progress lives in `<output_dir>/.selfcog/state.json` until swift's run folder is known, then
in that folder's `manifest.json`; `--resume` continues from it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Optional

from . import checkpoints
from .atomic import clear_partials, write_json, write_text
from .errors import SelfcogError, StageError
from .invocation import infer_argv_for, prepare_model, sft_value, stage_env
from .merging import merge, merged_folder  # noqa: F401 - merge: the `merge` command's entry
from .merging import merge_into as _merge_into
from .recipe import Recipe
from .render import data_path, gguf_script, render_script, serve_script, stage_command, stages_for
from .runstate import (Echo, RunState, attempt_run_dir, banner, begin_sft, check_mix, newest_checkpoint,
                       run_stage)
from .runlock import holding


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
    """Launch sft the way `swift sft` does with NPROC_PER_NODE/NNODES set: torchrun, each rank running
    swift's sft script through sft_rank, which first applies this run's trust_remote_code policy."""
    import os

    from swift.cli.main import get_torchrun_args

    from .inference import remote_code_allowed
    from .sft_rank import POLICY_ENV

    cmd = [sys.executable, "-m", "torch.distributed.run", *get_torchrun_args(), "-m", "selfcog_swift.sft_rank", *argv]
    code = subprocess.call(cmd, env={**os.environ, POLICY_ENV: "1" if remote_code_allowed() else "0"})
    if code != 0 and not _training_finished(output_dir, earlier_runs):
        raise StageError("sft", f"torchrun exited with {code}")
    if code != 0:
        # Seen here with gloo: every step and the final record written, then one rank aborts
        # while the process group is torn down. The run itself is complete.
        print(f"warning: torchrun exited with {code} after training finished (final record in logging.jsonl)")


def _training_finished(output_dir: str, earlier_runs: set[str]) -> bool:
    """swift appends last/best_model_checkpoint to this attempt's logging.jsonl once training has ended."""
    try:
        log = attempt_run_dir(output_dir, earlier_runs) / "logging.jsonl"
        return "last_model_checkpoint" in log.read_text(encoding="utf-8").splitlines()[-1]
    except (SelfcogError, OSError, IndexError):
        return False


def _sft(state: RunState, recipe: Recipe, echo: Echo) -> None:
    """Train, or continue from the newest complete checkpoint of any earlier attempt of this run."""
    command = stage_command(recipe, "sft")
    earlier = begin_sft(state, recipe.output_dir)  # run folders present before this attempt
    newest = newest_checkpoint(state, recipe.output_dir)
    argv = command.argv() + (["--resume_from_checkpoint", str(newest.path)] if newest else [])
    check_mix(state, recipe, argv)
    state.data.setdefault("sft_attempts", []).append({"resume_from": str(newest.path) if newest else None,
                                                      "step": newest.step if newest else 0})
    state.save()
    from .console import training_bar

    with run_stage(state, "sft", argv, echo), stage_env(command), training_bar(echo, recipe.output_dir, earlier):
        if newest and newest.finished:  # killed after the last save, before the stage was recorded
            echo(f"sft: {newest.path} is the last step ({newest.step}); nothing left to train")
            run_dir = newest.path.parent
            choice = checkpoints.choose_checkpoint(run_dir)
        elif is_distributed(recipe):
            _torchrun_sft(recipe.output_dir, argv, earlier)
            run_dir = attempt_run_dir(recipe.output_dir, earlier)
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
    """Merge into a temporary folder, set its served system prompt, then rename it: a kill at any
    point leaves no partial `-merged` folder, and `--resume` merges again (or finds it renamed)."""
    checkpoint = state.data["checkpoint"]["path"]
    merged = f"{str(checkpoint).rstrip('/')}-merged"
    command = stage_command(recipe, "export")
    argv = command.argv({"CHECKPOINT": checkpoint})
    renamed = state.data.get("exporting") == merged and Path(merged).is_dir()  # killed after the rename
    if not renamed:
        clear_partials(merged)
        merged_folder(checkpoint)  # refuses one that exists
        state.data["exporting"] = merged
        state.save()
    with run_stage(state, "export", argv, echo), stage_env(command):
        if not renamed:
            _merge_into(argv, merged, lambda folder, say: fix_served_prompt(recipe, folder, say), echo)
        state.data["merged"] = merged


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
        probes = load_probes(ev.probes, recipe.languages)  # read inside the evaluation stages only
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
    write_json(run_dir / "recipe.json", state.data["recipe"])
    for stage in stages_for(recipe, "all"):
        write_text(run_dir / f"{stage}.sh", render_script(recipe, stage, recipe_ref, chosen=chosen))
    write_text(run_dir / "serve.sh", serve_script(recipe, recipe_ref, chosen))
    if recipe.export.gguf:
        write_text(run_dir / "gguf.sh", gguf_script(recipe, recipe_ref, chosen))


def build_replay(recipe: Recipe, echo: Echo = print):
    """The base model's answers to the replay prompts (cached under the output dir; see replay.py)."""
    from .replay import build

    prepare_model(recipe)
    base = sft_value(recipe, "model")
    with stage_env(stage_command(recipe, "infer")):
        return build(recipe, infer_argv_for(recipe, base), base, echo)


# The demo's replay pace, to say roughly how long `data` will take: SmolLM2-135M on 2 CPU cores
# answered 400 prompts of up to 96 new tokens in 649 s (bench/ablation.json, row ii).
REPLAY_SECONDS_PER_PROMPT, REPLAY_PACE_TOKENS = 649 / 400, 96


def replay_notice(recipe: Recipe) -> Optional[str]:
    """What `data` says before it loads the base model for replay; None when the answers are cached."""
    from .inference import model_fingerprint
    from .replay import cache_key, pool_prompts, replay_path, settings

    base, spec = sft_value(recipe, "model"), recipe.data.replay
    prompts = pool_prompts(recipe)
    if Path(base).is_dir() or not recipe.model.id.startswith("builtin:"):  # a builtin not built yet has no cache
        path = replay_path(recipe, cache_key(model_fingerprint(base), prompts, settings(recipe)))
        if path.is_file() and path.with_suffix(".json").is_file():
            return None
    minutes = len(prompts) * REPLAY_SECONDS_PER_PROMPT * spec.max_new_tokens / REPLAY_PACE_TOKENS / 60
    return (f"replay: loading the base model {recipe.model.id} to answer {len(prompts)} prompts (up to "
            f"{spec.max_new_tokens} new tokens each) before mixing; about {max(round(minutes), 1)} min at the "
            f"demo's pace (SmolLM2-135M on 2 CPU cores), less on a GPU, more for a larger model on a CPU; "
            f"the answers are cached under {Path(recipe.output_dir) / 'data'}")


def announced_replay(recipe: Recipe, echo: Echo = print):
    """build_replay, saying first which model loads for how many prompts and roughly how long;
    swift's model load and argument dump go to the log of a quiet Console (`data`, `replay`)."""
    from .console import swift_output

    notice = replay_notice(recipe)
    if notice:
        echo(notice)
    with swift_output(echo):
        return build_replay(recipe, echo)


def mix_data(recipe: Recipe, out: str, echo: Echo = print):
    """The mixed training file: identity rows, datasets and, when the recipe replays, the replay rows."""
    replay = announced_replay(recipe, echo) if recipe.data.replay else None
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


def _shell_word(word: str) -> str:
    """One argument quoted for bash; a `${NAME}` placeholder left for the shell, double-quoted."""
    if word.startswith("${") and "}" in word:
        name, rest = word[2:].split("}", 1)
        return f'"${{{name}}}"' + (shlex.quote(rest) if rest else "")
    return shlex.quote(word)


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
        # Shell a person can paste: every word quoted; ${CHECKPOINT} stays for the shell to fill.
        words = [f"{k}={shlex.quote(v)}" for k, v in command.env] + [shlex.join(["swift", stage])]
        words += [_shell_word(word) for word in command.argv(keep_unbound=True)]
        banner(echo, stage, [" ".join(words)])
    banner(echo, "after: answers of the tuned model")
    if recipe.export.gguf:
        merged = "${CHECKPOINT}-merged" if recipe.tuning.method == "lora" else "${CHECKPOINT}"
        banner(echo, "gguf", [f'python -m selfcog_swift export-gguf "{merged}" --quant {recipe.export.gguf}'])


def run(recipe: Recipe, recipe_ref: list[str], resume: bool = False, echo: Echo = print,
        restart: bool = False) -> dict:
    """Run a recipe end to end; returns the manifest.

    Args:
        recipe: A validated recipe.
        recipe_ref: How scripts written into the run folder refer back to the recipe.
        resume: Continue the interrupted run in recipe.output_dir: finished stages are skipped and
            training restarts from the newest complete checkpoint of any of its attempts.
        echo: Where banners and tables go.
        restart: Start over although an unfinished run is in recipe.output_dir (its folders stay).

    Raises:
        SelfcogError: bad input, or another run holds recipe.output_dir (exit 2); StageError: a swift
            stage failed (exit 1).
    """
    check_prompts(recipe)  # first: a refused recipe writes, builds or downloads nothing
    from .preflight import require

    require(recipe)  # every file and flag `run` needs, before replay loads a model (the CLI checked already)
    with holding(recipe.output_dir, echo):  # one run per output_dir, released however this ends
        return _run(RunState.open(recipe, resume, restart), recipe, recipe_ref, echo)


def _run(state: RunState, recipe: Recipe, recipe_ref: list[str], echo: Echo) -> dict:
    from .console import swift_output

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
    if recipe.export.gguf and not state.done("gguf"):
        _gguf(state, recipe, echo)
    return _conclude(state, recipe, echo)


def _gguf(state: RunState, recipe: Recipe, echo: Echo) -> None:
    """The served model as a GGUF with an Ollama Modelfile (export.gguf). Files an interrupted attempt
    left lie in this run's own folder, so they are replaced, not refused."""
    from .gguf import export_gguf, output_paths

    model, quant = served_model(state), recipe.export.gguf
    for path in output_paths(Path(model), quant, None):
        path.unlink(missing_ok=True)
    with run_stage(state, "gguf", [model, "--quant", quant], echo):
        state.data["gguf"] = export_gguf(model, quant, None, echo).to_json()


def _conclude(state: RunState, recipe: Recipe, echo: Echo) -> dict:
    """Before/after table, scores, report files, and the recipe's gate."""
    from .evaluate import compare, gate
    from .probes import load_probes
    from .report import before_after_table, summary_lines, write_reports

    banner(echo, "before / after")
    echo(before_after_table(recipe.evaluate.questions, state.data["before"]["questions"],
                            state.data["after"]["questions"]))
    result = compare(recipe, load_probes(recipe.evaluate.probes, recipe.languages), state.data["before"],
                     state.data["after"])
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
