"""runstate.py and runlock.py without swift: one run per output_dir, refusing to overwrite an
unfinished run, resume from the newest complete checkpoint of any attempt, damaged state files."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from selfcog_swift import runlock
from selfcog_swift.atomic import write_json
from selfcog_swift.errors import SelfcogError, StageError
from selfcog_swift.recipe import Recipe
from selfcog_swift.runstate import RunState, begin_sft, check_mix, newest_checkpoint, run_stage


def _recipe(out: Path) -> Recipe:
    return Recipe.model_validate({"model": {"id": "builtin:tiny"}, "output_dir": str(out),
                                  "identity": {"name": {"zh": "扁仓", "en": "BianCang"},
                                               "author": {"zh": "齐鲁工大", "en": "QLU-NLP"}}})


@pytest.fixture(autouse=True)
def _no_version_lookup(monkeypatch):
    monkeypatch.setattr("selfcog_swift.runstate.versions", lambda: {})


# ------------------------------------------------------------------------------------ state.json


def test_a_fresh_run_over_an_unfinished_one_refuses_and_names_both_ways_out(tmp_path):
    recipe = _recipe(tmp_path / "out")
    state = RunState.open(recipe, resume=False)
    state.record("data", [], 1.0)
    with pytest.raises(SelfcogError) as info:
        RunState.open(recipe, resume=False)
    message = str(info.value)
    assert "unfinished run" in message and "stages done: data" in message
    assert "--resume" in message and "--restart" in message
    assert RunState.open(recipe, resume=True).done("data")
    fresh = RunState.open(recipe, resume=False, restart=True)
    assert fresh.data["stages"] == [] and fresh.data["runs_before_sft"] is None


def test_a_finished_run_may_be_run_again(tmp_path):
    recipe = _recipe(tmp_path / "out")
    state = RunState.open(recipe, resume=False)
    state.data["finished"] = True
    state.save()
    assert RunState.open(recipe, resume=False).data["stages"] == []


def test_resume_and_restart_exclude_each_other_and_resume_needs_a_run(tmp_path):
    recipe = _recipe(tmp_path / "out")
    with pytest.raises(SelfcogError, match="exclude each other"):
        RunState.open(recipe, resume=True, restart=True)
    with pytest.raises(SelfcogError, match="no interrupted run"):
        RunState.open(recipe, resume=True)


@pytest.mark.parametrize("text, word", [('{"recipe": {"model": {"id": "built', "truncated"),
                                        ("{oops}", "corrupt"), ("[1, 2]", "not a run state")])
def test_a_damaged_state_is_one_line_naming_it(tmp_path, text, word):
    recipe = _recipe(tmp_path / "out")
    path = tmp_path / "out" / ".selfcog" / "state.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    for resume in (True, False):
        with pytest.raises(SelfcogError) as info:
            RunState.open(recipe, resume=resume)
        assert str(path) in str(info.value) and word in str(info.value) and "\n" not in str(info.value)
    assert RunState.open(recipe, resume=False, restart=True).data["stages"] == []  # --restart gets past it


def test_state_and_manifest_are_replaced_whole_with_unique_temp_names(tmp_path, monkeypatch):
    recipe = _recipe(tmp_path / "out")
    state = RunState.open(recipe, resume=False)
    state.data["run_dir"] = str(tmp_path / "out" / "v0-x")
    temps = []
    import selfcog_swift.atomic as atomic

    real = atomic.tempfile.mkstemp
    monkeypatch.setattr(atomic.tempfile, "mkstemp", lambda **kw: temps.append(real(**kw)) or temps[-1])
    state.save()
    state.save()
    assert len({name for _, name in temps}) == 4  # state + manifest, twice, never one name twice
    manifest = json.loads((tmp_path / "out" / "v0-x" / "manifest.json").read_text())
    assert manifest == json.loads(state.path.read_text()) == state.data
    assert sorted(p.name for p in state.path.parent.iterdir()) == ["state.json"]


# ------------------------------------------------------------------------------------ run_stage


def test_a_failing_first_stage_keeps_its_error_when_selfcog_folder_is_missing(tmp_path):
    """With -v nothing creates .selfcog/ before the first stage; the traceback file must not hide the error."""
    recipe = _recipe(tmp_path / "out")
    state = RunState.open(recipe, resume=False)
    assert not state.path.parent.exists()
    with pytest.raises(StageError) as info:
        with run_stage(state, "replay", [], lambda line: None):
            raise ValueError("the real reason")
    assert "ValueError: the real reason" in str(info.value)
    log = state.path.parent / "replay-error.log"
    assert f"traceback: {log}" in str(info.value) and "the real reason" in log.read_text()


def test_a_traceback_that_cannot_be_saved_still_shows_the_stage_error(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".selfcog").write_text("a file where the folder should be")
    state = RunState(out / ".selfcog" / "state.json", {"stages": []})
    with pytest.raises(StageError) as info:
        with run_stage(state, "data", [], lambda line: None):
            raise KeyError("missing column")
    assert "KeyError: 'missing column'" in str(info.value) and "traceback not saved" in str(info.value)


# ------------------------------------------------------------------------------------ resume


def _attempt(out: Path, name: str, steps: dict[int, bool], max_steps: int = 60) -> Path:
    """A fake swift run folder with checkpoint-N folders, complete (trainer_state.json) or cut off."""
    run_dir = out / name
    run_dir.mkdir(parents=True)
    for step, complete in steps.items():
        checkpoint = run_dir / f"checkpoint-{step}"
        checkpoint.mkdir()
        (checkpoint / "adapter_model.safetensors").write_bytes(b"w")
        if complete:
            (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step, "max_steps": max_steps}))
    return run_dir


def test_resume_takes_the_newest_complete_checkpoint_of_any_attempt(tmp_path):
    """The issue's case, in a fresh output_dir: attempt 2 is killed before it saves; attempt 3 must
    go on from attempt 1's step (it trained from step 1: `[] or ...` took attempt 1 for an earlier run)."""
    out = tmp_path / "out"
    state = RunState.open(_recipe(out), resume=False)
    assert begin_sft(state, str(out)) == set() and state.data["runs_before_sft"] == []
    assert newest_checkpoint(state, str(out)) is None
    _attempt(out, "v0-20260101-000001", {20: True})
    assert newest_checkpoint(state, str(out)).path == out / "v0-20260101-000001" / "checkpoint-20"
    begin_sft(state, str(out))  # the first --resume: "before sft" must not grow
    assert state.data["runs_before_sft"] == []
    _attempt(out, "v1-20260101-000002", {})  # killed as soon as its folder existed
    begin_sft(state, str(out))
    resumable = newest_checkpoint(state, str(out))
    assert resumable.path == out / "v0-20260101-000001" / "checkpoint-20" and resumable.step == 20
    _attempt(out, "v10-20260101-000003", {40: True, 60: False})  # 60 cut off mid-save; v10 sorts after v1
    resumable = newest_checkpoint(state, str(out))
    assert resumable.path.name == "checkpoint-40" and not resumable.finished
    (out / "v10-20260101-000003" / "checkpoint-60" / "trainer_state.json").write_text('{"global_step": 6')
    assert newest_checkpoint(state, str(out)).path.name == "checkpoint-40"  # a truncated trainer_state
    _attempt(out, "v11-20260101-000004", {60: True})
    assert newest_checkpoint(state, str(out)).finished


def test_run_folders_from_before_the_first_attempt_are_never_resumed_from(tmp_path):
    out = tmp_path / "out"
    _attempt(out, "v0-20260101-000000", {100: True})  # an earlier run's folder
    state = RunState.open(_recipe(out), resume=False)
    begin_sft(state, str(out))
    assert state.data["runs_before_sft"] == [str(out / "v0-20260101-000000")]
    assert newest_checkpoint(state, str(out)) is None
    _attempt(out, "v1-20260101-000001", {10: True})
    begin_sft(state, str(out))
    assert state.data["runs_before_sft"] == [str(out / "v0-20260101-000000")]
    assert newest_checkpoint(state, str(out)).step == 10


def test_a_changed_mix_is_refused_before_sft(tmp_path):
    import hashlib

    out = tmp_path / "out"
    recipe = _recipe(out)
    state = RunState.open(recipe, resume=False)
    mix = out / "data" / "mix.jsonl"
    mix.parent.mkdir(parents=True)
    mix.write_text('{"messages": []}\n')
    state.data["data"] = {"sha256": hashlib.sha256(mix.read_bytes()).hexdigest()}
    argv = ["--dataset", str(mix)]
    check_mix(state, recipe, argv)
    mix.write_text('{"messages": [1]}\n')
    with pytest.raises(SelfcogError, match="changed since this run's data stage.*--restart"):
        check_mix(state, recipe, argv)
    check_mix(state, recipe, ["--dataset", "swift/self-cognition#10"])  # sft does not read it: no matter
    mix.unlink()
    with pytest.raises(SelfcogError, match="missing, though this run's data stage wrote it"):
        check_mix(state, recipe, argv)


# ------------------------------------------------------------------------------------ the lock

HOLD = """
import sys, time
from selfcog_swift.runlock import holding
with holding(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(out: Path, seconds: float = 60) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out), str(seconds)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_is_refused_naming_the_holder_and_the_lock_goes_with_sigterm(tmp_path):
    out = tmp_path / "out"
    proc = _holder(out)
    try:
        holder = json.loads(runlock.lock_path(str(out)).read_text())
        assert holder["pid"] == proc.pid and holder["host"] == socket.gethostname() and holder["started"]
        with pytest.raises(SelfcogError) as info:
            runlock.acquire(str(out))
        assert f"pid {proc.pid} on {socket.gethostname()}" in str(info.value)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert not runlock.lock_path(str(out)).exists()


def test_a_dead_holders_lock_is_taken_over_with_a_warning(tmp_path):
    out = tmp_path / "out"
    proc = _holder(out)
    proc.send_signal(signal.SIGKILL)  # no cleanup: the lock stays
    proc.wait()
    assert runlock.lock_path(str(out)).exists()
    said = []
    with runlock.holding(str(out), said.append):
        assert json.loads(runlock.lock_path(str(out)).read_text())["pid"] == os.getpid()
    assert said and f"pid {proc.pid}" in said[0] and "took over" in said[0]
    assert not runlock.lock_path(str(out)).exists()


def test_a_lock_of_another_host_is_not_taken_and_says_how_to_clear_it(tmp_path):
    path = runlock.lock_path(str(tmp_path))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": "then"}))
    with pytest.raises(SelfcogError, match=f"pid 1 on elsewhere since then.*remove {path}"):
        runlock.acquire(str(tmp_path))


def test_a_lock_still_being_written_is_not_taken_but_an_old_empty_one_is(tmp_path):
    path = runlock.lock_path(str(tmp_path))
    path.parent.mkdir(parents=True)
    path.write_text("")
    with pytest.raises(SelfcogError, match="no holder"):
        runlock.acquire(str(tmp_path))
    old = time.time() - runlock.EMPTY_GRACE_SECONDS - 5
    os.utime(path, (old, old))
    said = []
    runlock.release(str(tmp_path), runlock.acquire(str(tmp_path), said.append))
    assert "took over" in said[0] and not path.exists()


def test_the_lock_is_released_on_errors_and_ctrl_c(tmp_path):
    for error in (ValueError, KeyboardInterrupt):
        with pytest.raises(error):
            with runlock.holding(str(tmp_path)):
                raise error()
        assert not runlock.lock_path(str(tmp_path)).exists()


TAKE = """
import sys
from selfcog_swift.errors import SelfcogError
from selfcog_swift.runlock import acquire
try:
    acquire(sys.argv[1], lambda line: None)
    print("won", flush=True)
except SelfcogError:
    print("lost", flush=True)
sys.stdin.read()  # a winner holds the lock until every contender has tried
"""


def test_of_many_runs_that_find_a_dead_lock_one_takes_it(tmp_path):
    path = runlock.lock_path(str(tmp_path))
    path.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "started": "x"}))
    procs = [subprocess.Popen([sys.executable, "-c", TAKE, str(tmp_path)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(6)]
    results = sorted(p.stdout.readline().strip() for p in procs)
    for p in procs:
        p.communicate("")
    assert results == ["lost"] * 5 + ["won"], results


# ------------------------------------------------------------------------------------ the CLI


def test_cli_run_refuses_a_busy_output_dir_and_a_damaged_state_in_one_line(tmp_path):
    out = tmp_path / "out"
    path = runlock.lock_path(str(out))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "now",
                                "ticks": runlock._start_ticks(os.getpid())}))
    busy = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}")
    assert busy.returncode == 2 and busy.stderr.count("\n") == 1, busy.stderr[-2000:]
    assert f"another run is using this output_dir (pid {os.getpid()}" in busy.stderr
    path.unlink()
    state = out / ".selfcog" / "state.json"
    state.write_text('{"recipe": {"model": ')
    damaged = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}")
    assert damaged.returncode == 2 and damaged.stderr.count("\n") == 1, damaged.stderr[-2000:]
    assert f"error: {state}: run state is truncated" in damaged.stderr and "Traceback" not in damaged.stderr
    assert not path.exists()  # the refused run let go of the lock


def test_cli_eval_of_a_run_folder_with_a_truncated_manifest_is_one_line(tmp_path):
    run_dir = tmp_path / "v0-20260101-000000"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text('{"merged": "/x", "checkpoint": {"pa')
    result = run_cli("eval", str(run_dir), "--recipe", "recipes/smoke.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert f"{run_dir / 'manifest.json'}: manifest is truncated" in result.stderr


def test_write_json_of_state_is_what_open_reads(tmp_path):
    recipe = _recipe(tmp_path / "out")
    path = tmp_path / "out" / ".selfcog" / "state.json"
    write_json(path, {"recipe": recipe.model_dump(mode="json"), "stages": [{"name": "data"}]})
    assert RunState.open(recipe, resume=True).done("data")


# ------------------------------------------------------------------------------------ export


class _FakeSwift:
    """Stands in for swift.pipelines (importing it takes ~20 s here): export_main writes a model
    folder where --output_dir says, file by file, and can be told to stop half way."""

    def __init__(self):
        self.calls, self.stop_after = [], None

    def export_main(self, argv):
        self.calls.append(argv)
        out = Path(argv[argv.index("--output_dir") + 1])
        out.mkdir()
        for index, name in enumerate(("config.json", "model.safetensors", "tokenizer.json")):
            if index == self.stop_after:
                raise KeyboardInterrupt
            (out / name).write_text(name)


@pytest.fixture
def exporting(tmp_path, monkeypatch):
    import types

    from selfcog_swift import driver

    fake = _FakeSwift()
    monkeypatch.setitem(sys.modules, "swift.pipelines", types.SimpleNamespace(export_main=fake.export_main))
    fixed = []
    monkeypatch.setattr(driver, "fix_served_prompt",
                        lambda recipe, folder, echo: fixed.append((folder, sorted(os.listdir(folder)))))
    out = tmp_path / "out"
    checkpoint = out / "v0-20260101-000000" / "checkpoint-30"
    checkpoint.mkdir(parents=True)
    state = RunState.open(_recipe(out), resume=False)
    state.data["checkpoint"] = {"path": str(checkpoint)}
    return driver, fake, fixed, state, Path(f"{checkpoint}-merged")


def test_an_interrupted_export_leaves_no_merged_folder_and_resume_completes_it(exporting):
    driver, fake, fixed, state, merged = exporting
    recipe = Recipe.model_validate(state.data["recipe"])
    fake.stop_after = 1
    with pytest.raises(KeyboardInterrupt):
        driver._export(state, recipe, lambda line: None)
    assert not merged.exists() and not state.done("export")
    assert sorted(os.listdir(merged.parent)) == ["checkpoint-30"]  # the partial copy is gone too
    # A SIGKILL leaves a partial folder behind: the next export clears it.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = merged.with_name(f".{merged.name}.partial-{int(dead.stdout)}-0000")
    leftover.mkdir()
    fake.stop_after = None
    driver._export(state, recipe, lambda line: None)
    assert sorted(os.listdir(merged)) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert state.done("export") and state.data["merged"] == str(merged) and not leftover.exists()
    (folder, files), = fixed  # the served prompt was set on the complete folder, before its rename
    assert ".partial-" in folder and files == ["config.json", "model.safetensors", "tokenizer.json"]
    assert fake.calls[-1][-2:] == ["--output_dir", folder]


def test_an_export_killed_after_its_rename_is_recorded_without_merging_again(exporting):
    driver, fake, fixed, state, merged = exporting
    recipe = Recipe.model_validate(state.data["recipe"])
    state.data["exporting"] = str(merged)
    merged.mkdir()
    driver._export(state, recipe, lambda line: None)
    assert not fake.calls and state.done("export") and state.data["merged"] == str(merged)


def test_a_merged_folder_from_elsewhere_is_never_overwritten(exporting):
    driver, fake, fixed, state, merged = exporting
    merged.mkdir()
    with pytest.raises(SelfcogError, match="never overwritten"):
        driver._export(state, Recipe.model_validate(state.data["recipe"]), lambda line: None)
    assert not fake.calls


# ------------------------------------------------------------------------------------ replay metadata


def test_cut_off_replay_metadata_means_answer_again_not_a_traceback(tmp_path, monkeypatch):
    from selfcog_swift import inference, replay
    from selfcog_swift.recipe import load_recipe

    recipe = load_recipe(ROOT / "recipes" / "smoke.yaml", (f"output_dir={tmp_path}", "data.replay={sample: 6}"))
    calls = []
    monkeypatch.setattr(inference, "model_fingerprint", lambda model: "m")
    monkeypatch.setattr(replay, "_answer", lambda argv, prompts, generation, echo: calls.append(1) or
                        [f"Rain falls from clouds when droplets grow heavy, case {i}." for i in range(len(prompts))])
    first = replay.build(recipe, [], "base")
    meta = Path(first.path).with_suffix(".json")
    assert json.loads(meta.read_text())["kept"] == 6 and not first.cached
    assert replay.build(recipe, [], "base").cached and len(calls) == 1
    meta.write_text(meta.read_text()[:40])
    said = []
    again = replay.build(recipe, [], "base", said.append)
    assert len(calls) == 2 and not again.cached and again.kept == 6
    assert f"{meta}: replay metadata is truncated" in said[0] and "answering again" in said[0]
    assert json.loads(meta.read_text())["kept"] == 6


def test_two_real_runs_side_by_side_the_second_is_refused_and_ctrl_c_frees_the_first(tmp_path):
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "selfcog_swift", "run", "recipes/smoke.yaml", "--set",
                              f"output_dir={out}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lock = runlock.lock_path(str(out))
    deadline = time.time() + 120
    while not (lock.is_file() and lock.read_text()):
        assert first.poll() is None and time.time() < deadline, first.stderr.read()[-2000:]
        time.sleep(0.05)
    try:
        second = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}")
        assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr[-2000:]
        assert f"another run is using this output_dir (pid {first.pid} on {socket.gethostname()}" in second.stderr
        assert first.poll() is None and json.loads(lock.read_text())["pid"] == first.pid  # the first goes on
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=120)
    assert not lock.exists()


def test_cli_run_over_an_unfinished_run_refuses_and_restart_is_passed_on(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from selfcog_swift import driver
    from selfcog_swift.cli import cli

    out = tmp_path / "out"
    write_json(out / ".selfcog" / "state.json", {"recipe": {}, "stages": [{"name": "data"}, {"name": "before"}]})
    refused = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr[-2000:]
    assert "unfinished run is here (stages done: data, before)" in refused.stderr
    assert "--resume" in refused.stderr and "--restart" in refused.stderr
    calls = []
    monkeypatch.setattr(driver, "run", lambda *args, **kwargs: calls.append(kwargs))
    result = CliRunner().invoke(cli, ["run", "recipes/smoke.yaml", "--restart", "--set", f"output_dir={out}"])
    assert result.exit_code == 0, result.output
    assert calls[0]["restart"] is True and calls[0]["resume"] is False
