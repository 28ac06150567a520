"""checkpoints.py on hand-built run folders shaped like ms-swift 4.6 output.

Formats follow swift's source: patcher.py appends each `on_log` dict (plus global_step/max_steps,
elapsed_time, remaining_time, train_speed) to logging.jsonl; sft.py appends a final record
(model_parameter_info, last/best_model_checkpoint, best_metric, global_step, log_history, memory)
and logs `last_model_checkpoint: …` / `best_model_checkpoint: …`; transformers writes
trainer_state.json with `json.dumps(asdict(state), indent=2, sort_keys=True)`.
"""

import json
import os
from pathlib import Path

import pytest

from selfcog_swift.checkpoints import (READ_BLOCK, CheckpointChoice, choose_checkpoint, choose_from_result,
                                       find_run_dir, list_checkpoints)
from selfcog_swift.errors import SelfcogError

# Copied verbatim from the tutorial (/work/shared/seeds/000_e77020bbcd00054c.txt, lines 66-67).
TUTORIAL_LOG = """\
[INFO:swift] last_model_checkpoint: /yldm0226/llm_sft_output/qwen1half-14b-chat/v22-20240308-092709/checkpoint-282
[INFO:swift] best_model_checkpoint: /yldm0226/llm_sft_output/qwen1half-14b-chat/v22-20240308-092709/checkpoint-280
"""
TUTORIAL_RUN = "/yldm0226/llm_sft_output/qwen1half-14b-chat/v22-20240308-092709"


# ---------------------------------------------------------------- builders


def train_log(step, max_steps=60, loss=2.0):
    """One training line as swift's ProgressCallbackNew.on_log appends it."""
    return {"loss": loss, "grad_norm": 1.8, "learning_rate": 9.5e-05, "token_acc": 0.61, "epoch": step / max_steps,
            "global_step/max_steps": f"{step}/{max_steps}", "elapsed_time": "12s", "remaining_time": "30s",
            "memory(GiB)": 1.2, "train_speed(s/it)": 0.31}


def eval_log(step, eval_loss, max_steps=60):
    return {"eval_loss": eval_loss, "eval_token_acc": 0.7, "eval_runtime": 1.5, "eval_samples_per_second": 13.3,
            "eval_steps_per_second": 6.7, "epoch": step / max_steps,
            "global_step/max_steps": f"{step}/{max_steps}", "elapsed_time": "20s", "remaining_time": "10s",
            "memory(GiB)": 1.2, "train_speed(s/it)": 0.31}


def history(evals, max_steps=60):
    """trainer.state.log_history: train entries every 10 steps, eval entries at the given steps."""
    entries = [{"loss": 2.0, "grad_norm": 1.8, "learning_rate": 9e-05, "epoch": s / max_steps, "step": s}
               for s in range(10, max_steps + 1, 10)]
    entries += [{"eval_loss": loss, "eval_token_acc": 0.7, "eval_runtime": 1.5, "eval_samples_per_second": 13.3,
                 "eval_steps_per_second": 6.7, "epoch": s / max_steps, "step": s} for s, loss in evals.items()]
    return sorted(entries, key=lambda e: e["step"])


def final_record(run, last, best, best_metric, log_history):
    """The record sft.py `_save_trainer_state` appends last."""
    return {"model_parameter_info": "PeftModelForCausalLM: 135.5M Params (0.9M Trainable [0.69%]), 0.0M Buffers.",
            "train_dataset": "123.4±20.1, min=80, max=190, size=480",
            "last_model_checkpoint": last and str(run / last), "best_model_checkpoint": best and str(run / best),
            "best_metric": best_metric, "global_step": 60, "log_history": log_history, "memory": 1.2}


def trainer_state(run, step, best_step=None, best_metric=None, evals=None):
    """checkpoint-<step>/trainer_state.json as TrainerState.save_to_json writes it."""
    state = {"best_global_step": best_step, "best_metric": best_metric,
             "best_model_checkpoint": str(run / f"checkpoint-{best_step}") if best_step else None,
             "epoch": step / 60, "eval_steps": 20, "global_step": step, "is_hyper_param_search": False,
             "is_local_process_zero": True, "is_world_process_zero": True,
             "log_history": history(evals or {}, max_steps=step), "logging_steps": 10, "max_steps": 60,
             "num_input_tokens_seen": 0, "num_train_epochs": 1, "save_steps": 20, "stateful_callbacks": {},
             "total_flos": 1234.0, "train_batch_size": 2, "trial_name": None, "trial_params": None}
    path = run / f"checkpoint-{step}" / "trainer_state.json"
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def make_run(root, name="v0-20260101-120000", steps=(20, 40, 60), args=None):
    """A run folder with args.json and LoRA checkpoint folders, as sft leaves it."""
    run = root / name
    run.mkdir(parents=True)
    (run / "args.json").write_text(json.dumps(args or {"split_dataset_ratio": 0.01, "eval_strategy": "steps",
                                                       "val_dataset": [], "metric_for_best_model": "loss"}))
    for step in steps:
        (run / f"checkpoint-{step}").mkdir()
        (run / f"checkpoint-{step}" / "adapter_config.json").write_text("{}")
    return run


def write_jsonl(path, records, tail=""):
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        f.write(tail)


def training_lines(evals):
    lines = []
    for step in range(10, 61, 10):
        lines.append(train_log(step))
        if step in evals:
            lines.append(eval_log(step, evals[step]))
    return lines


EVALS = {20: 1.5, 40: 1.234, 60: 1.3}


# ---------------------------------------------------------------- run folders


def test_best_from_logging_jsonl(tmp_path):
    run = make_run(tmp_path)
    write_jsonl(run / "logging.jsonl", training_lines(EVALS)
                + [final_record(run, "checkpoint-60", "checkpoint-40", 1.234, history(EVALS))])

    choice = choose_checkpoint(run)

    assert choice.path == str(run / "checkpoint-40")
    assert choice.source == "logging.jsonl"
    assert choice.reason == "lowest eval_loss 1.234 at step 40 (logging.jsonl)"
    assert (choice.best, choice.last) == (str(run / "checkpoint-40"), str(run / "checkpoint-60"))
    assert choice.best_metric == pytest.approx(1.234)
    assert choice.eval_ran is True


def test_best_none_takes_last_and_says_no_eval(tmp_path):
    run = make_run(tmp_path, args={"split_dataset_ratio": 0.0, "eval_strategy": "no", "val_dataset": []})
    record = final_record(run, "checkpoint-60", None, None, history({}))
    write_jsonl(run / "logging.jsonl", training_lines({}) + [record])

    choice = choose_checkpoint(run)

    assert choice.path == str(run / "checkpoint-60")
    assert choice.best is None and choice.eval_ran is False
    assert "no evaluation ran" in choice.reason and "split_dataset_ratio 0" in choice.reason
    assert choice.reason.endswith("taking the last checkpoint checkpoint-60 (logging.jsonl)")


def test_eval_ran_without_best_is_not_called_no_eval(tmp_path):
    run = make_run(tmp_path)
    write_jsonl(run / "logging.jsonl", [final_record(run, "checkpoint-60", None, None, history({30: 1.4}))])

    choice = choose_checkpoint(run)

    assert choice.path == str(run / "checkpoint-60")
    assert choice.eval_ran is True
    assert "evaluation ran but swift recorded no best checkpoint" in choice.reason


def test_trainer_state_fallback_when_run_was_killed(tmp_path):
    run = make_run(tmp_path, steps=(20, 40))
    write_jsonl(run / "logging.jsonl", training_lines({20: 1.1, 40: 1.6})[:5])  # no final record
    trainer_state(run, 20, best_step=20, best_metric=1.1, evals={20: 1.1})
    trainer_state(run, 40, best_step=20, best_metric=1.1, evals={20: 1.1, 40: 1.6})

    choice = choose_checkpoint(run)

    assert choice.source == "trainer_state.json"
    assert choice.path == str(run / "checkpoint-20")
    assert choice.last == str(run / "checkpoint-40")
    assert choice.reason == "lowest eval_loss 1.1 at step 20 (trainer_state.json)"


def test_trainer_state_of_half_saved_checkpoint_is_skipped(tmp_path):
    run = make_run(tmp_path, steps=(20, 40))
    trainer_state(run, 20, best_step=20, best_metric=1.1, evals={20: 1.1})
    (run / "checkpoint-40" / "trainer_state.json").write_text('{"best_global_step": 4')  # killed mid-write

    choice = choose_checkpoint(run)

    assert (choice.source, choice.path, choice.last) == ("trainer_state.json", str(run / "checkpoint-20"),
                                                         str(run / "checkpoint-20"))


def test_directory_fallback_sorts_numerically(tmp_path):
    run = make_run(tmp_path, steps=(9, 10, 2))
    (run / "args.json").unlink()
    (run / "checkpoint-10-merged").mkdir()
    os.symlink(run / "checkpoint-9", run / "last-checkpoint")

    assert [p.name for p in list_checkpoints(run)] == ["checkpoint-2", "checkpoint-9", "checkpoint-10"]
    choice = choose_checkpoint(run)
    assert choice.path == str(run / "checkpoint-10")
    assert (choice.source, choice.best, choice.eval_ran) == ("directory", None, False)
    assert choice.reason == "no record of evaluation found; taking the last checkpoint checkpoint-10"


def test_output_dir_picks_highest_version_numerically(tmp_path):
    for name in ("v0-20260101-120000", "v1-20260101-130000", "v10-20260101-100000", "v2-20260102-090000"):
        make_run(tmp_path, name=name)
    (tmp_path / "images").mkdir()

    assert find_run_dir(tmp_path).name == "v10-20260101-100000"
    assert choose_checkpoint(tmp_path).path == str(tmp_path / "v10-20260101-100000" / "checkpoint-60")


def test_run_dir_is_returned_as_is(tmp_path):
    run = make_run(tmp_path, steps=())
    assert find_run_dir(run) == run


def test_best_deleted_by_save_total_limit_falls_back_to_last(tmp_path):
    run = make_run(tmp_path, steps=(60,))  # checkpoint-40 was rotated away
    write_jsonl(run / "logging.jsonl", [final_record(run, "checkpoint-60", "checkpoint-40", 1.234, history(EVALS))])

    choice = choose_checkpoint(run)

    assert choice.path == str(run / "checkpoint-60")
    assert choice.best == str(run / "checkpoint-40")  # still reported
    assert "checkpoint-40" in choice.reason and "gone from disk" in choice.reason
    assert "taking the last checkpoint checkpoint-60" in choice.reason


def test_run_dir_copied_from_another_machine_is_found_by_name(tmp_path):
    run = make_run(tmp_path)
    record = final_record(Path(TUTORIAL_RUN), "checkpoint-60", "checkpoint-40", 1.234, history(EVALS))
    write_jsonl(run / "logging.jsonl", [record])

    choice = choose_checkpoint(run)

    assert choice.path == str(run / "checkpoint-40")
    assert choice.best == f"{TUTORIAL_RUN}/checkpoint-40"


def test_checkpoint_folder_is_taken_as_is(tmp_path):
    run = make_run(tmp_path)
    trainer_state(run, 60, best_step=40, best_metric=1.234, evals=EVALS)

    choice = choose_checkpoint(run / "checkpoint-60")

    assert choice.path == str(run / "checkpoint-60")
    assert choice.best == str(run / "checkpoint-40") and choice.eval_ran is True


# ---------------------------------------------------------------- logging.jsonl robustness


def test_truncated_last_line_after_final_record_is_ignored(tmp_path):
    run = make_run(tmp_path)
    write_jsonl(run / "logging.jsonl", [final_record(run, "checkpoint-60", "checkpoint-40", 1.234, history(EVALS))],
                tail='{"loss": 1.9, "grad_norm": 2.')

    assert choose_checkpoint(run).path == str(run / "checkpoint-40")


def test_truncated_final_record_falls_back_to_trainer_state(tmp_path):
    run = make_run(tmp_path)
    full = json.dumps(final_record(run, "checkpoint-60", "checkpoint-40", 1.234, history(EVALS)))
    write_jsonl(run / "logging.jsonl", training_lines(EVALS), tail=full[: len(full) // 2])
    trainer_state(run, 60, best_step=40, best_metric=1.234, evals=EVALS)

    choice = choose_checkpoint(run)

    assert (choice.source, choice.path) == ("trainer_state.json", str(run / "checkpoint-40"))


def test_final_record_longer_than_read_block(tmp_path):
    run = make_run(tmp_path)
    long_history = history(EVALS) * 800  # a long run's log_history: the last line alone is > 64 KiB
    write_jsonl(run / "logging.jsonl", training_lines(EVALS)
                + [final_record(run, "checkpoint-60", "checkpoint-20", 1.5, long_history)])
    assert (run / "logging.jsonl").stat().st_size > 2 * READ_BLOCK

    assert choose_checkpoint(run).path == str(run / "checkpoint-20")


def test_logging_jsonl_file_given_directly(tmp_path):
    run = make_run(tmp_path)
    write_jsonl(run / "logging.jsonl", [final_record(run, "checkpoint-60", "checkpoint-40", 1.234, history(EVALS))])

    choice = choose_checkpoint(run / "logging.jsonl")

    assert (choice.path, choice.source) == (str(run / "checkpoint-40"), "logging.jsonl")
    assert choice.reason == "lowest eval_loss 1.234 at step 40 (logging.jsonl)"  # named by the run's args.json


def test_the_metric_is_the_one_args_json_names(tmp_path):
    # eval_token_acc is 0.7 at every eval: a value that matches eval_loss too must not rename it.
    run = make_run(tmp_path, args={"metric_for_best_model": "token_acc", "greater_is_better": True})
    write_jsonl(run / "logging.jsonl", [final_record(run, "checkpoint-60", "checkpoint-40", 0.7,
                                                     history({20: 0.7, 40: 0.7, 60: 0.7}))])

    assert choose_checkpoint(run).reason == "highest eval_token_acc 0.7 at step 40 (logging.jsonl)"


def test_without_args_json_the_metric_is_not_named(tmp_path):
    run = make_run(tmp_path)
    (run / "args.json").unlink()
    write_jsonl(run / "logging.jsonl", [final_record(run, "checkpoint-60", "checkpoint-40", 1.234, history(EVALS))])

    assert choose_checkpoint(run).reason == "best eval metric 1.234 at step 40 (logging.jsonl)"


# ---------------------------------------------------------------- text logs


def test_tutorial_log_lines_pick_checkpoint_280(tmp_path):
    log = tmp_path / "sft.log"
    log.write_text("自我认知微调后的效果\n" + TUTORIAL_LOG + "可以知道验证效果最好的模型检查点位于…\n",
                   encoding="utf-8")

    choice = choose_checkpoint(log)

    assert choice.path == f"{TUTORIAL_RUN}/checkpoint-280"  # as written: another machine's path
    assert choice.last == f"{TUTORIAL_RUN}/checkpoint-282"
    assert (choice.source, choice.eval_ran) == ("log", True)
    assert "checkpoint-280" in choice.reason


def test_ansi_coloured_log_takes_last_occurrences(tmp_path):
    green, reset = "\x1b[32m", "\x1b[0m"
    earlier = "[INFO:swift] best_model_checkpoint: /old/v0-20260101-000000/checkpoint-5\n"
    # A progress bar redrawn with \r right after a log line, as in `2>&1 | tee` captures.
    lines = [f"{green}[INFO:swift]{reset} last_model_checkpoint: {green}/runs/v3-20260101-120000/checkpoint-60{reset}"
             "\rVal: 100%|██████████| 3/3 [00:01<00:00]",
             f"Train: 100%|██████████| 60/60\r{green}[INFO:swift]{reset} best_model_checkpoint: "
             f"{green}/runs/v3-20260101-120000/checkpoint-40{reset}",
             "[INFO:swift] images_dir: /runs/v3-20260101-120000/images"]
    log = tmp_path / "train.log"
    log.write_text(earlier + "\r\n".join(lines) + "\r\n", encoding="utf-8")

    choice = choose_checkpoint(log)

    assert choice.path == "/runs/v3-20260101-120000/checkpoint-40"
    assert choice.last == "/runs/v3-20260101-120000/checkpoint-60"


def test_log_with_best_none_takes_last(tmp_path):
    log = tmp_path / "sft.log"
    log.write_text("[INFO:swift] last_model_checkpoint: /r/v0-20260101-000000/checkpoint-60\n"
                   "[INFO:swift] best_model_checkpoint: None\n")

    choice = choose_checkpoint(log)

    assert choice.path == "/r/v0-20260101-000000/checkpoint-60"
    assert choice.best is None and choice.eval_ran is False
    assert "no evaluation ran" in choice.reason


def test_interrupted_log_uses_last_saved_checkpoint(tmp_path):
    log = tmp_path / "sft.log"
    log.write_text("[INFO:swift] Saving model checkpoint to /r/v0-20260101-000000/checkpoint-20\n"
                   "[INFO:swift] Saving model checkpoint to /r/v0-20260101-000000/checkpoint-40\n"
                   "Train:  70%|███████   | 42/60\n")

    choice = choose_checkpoint(log)

    assert choice.path == "/r/v0-20260101-000000/checkpoint-40"
    assert "interrupted" in choice.reason


def test_log_without_checkpoints_raises(tmp_path):
    log = tmp_path / "sft.log"
    log.write_text("[INFO:swift] Start time of running main: 2026-01-01\n")

    with pytest.raises(SelfcogError, match="no checkpoint in .*sft.log"):
        choose_checkpoint(log)


# ---------------------------------------------------------------- nothing found


def test_empty_dir_raises_with_listing(tmp_path):
    with pytest.raises(SelfcogError) as raised:
        choose_checkpoint(tmp_path)
    message = str(raised.value)
    assert str(tmp_path) in message and "empty" in message and "\n" not in message


def test_run_without_checkpoints_lists_what_it_saw(tmp_path):
    run = make_run(tmp_path, steps=())
    write_jsonl(run / "logging.jsonl", training_lines({})[:2])

    with pytest.raises(SelfcogError, match=r"no checkpoint in .*v0-20260101-120000: saw args\.json, logging\.jsonl$"):
        choose_checkpoint(run)


def test_missing_path_raises(tmp_path):
    with pytest.raises(SelfcogError, match="no such file or folder"):
        choose_checkpoint(tmp_path / "nope")


# ---------------------------------------------------------------- sft_main's result


def test_choose_from_result_takes_best(tmp_path):
    run = make_run(tmp_path)
    result = final_record(run, "checkpoint-60", "checkpoint-40", 1.234, history(EVALS))

    choice = choose_from_result(result)

    assert isinstance(choice, CheckpointChoice)
    assert (choice.path, choice.source) == (str(run / "checkpoint-40"), "result")
    assert choice.reason == "lowest eval_loss 1.234 at step 40 (result)"
    assert json.loads(json.dumps(choice.to_dict()))["best_metric"] == pytest.approx(1.234)


def test_choose_from_result_checks_the_disk(tmp_path):
    run = make_run(tmp_path, steps=(60,))  # save_total_limit removed checkpoint-40
    choice = choose_from_result(final_record(run, "checkpoint-60", "checkpoint-40", 1.234, history(EVALS)))

    assert choice.path == str(run / "checkpoint-60")
    assert choice.best == str(run / "checkpoint-40") and "gone from disk" in choice.reason


def test_choose_from_result_without_eval_takes_last(tmp_path):
    run = make_run(tmp_path, args={"split_dataset_ratio": 0.0, "eval_strategy": "no", "val_dataset": []})
    choice = choose_from_result(final_record(run, "checkpoint-60", None, None, history({})), run_dir=run)

    assert choice.path == str(run / "checkpoint-60")
    assert choice.reason == ("no evaluation ran (split_dataset_ratio 0 and no val_dataset): "
                             "taking the last checkpoint checkpoint-60 (result)")


def test_choose_from_result_with_nothing_saved_raises():
    with pytest.raises(SelfcogError, match="sft returned no checkpoint"):
        choose_from_result({"last_model_checkpoint": None, "best_model_checkpoint": None, "global_step": 3})
