"""End to end on the real ms-swift: a run killed again and again (SIGKILL: nothing of ours runs, as
with the OOM killer or a lost machine) still ends where an uninterrupted one ends, having trained
each step about once, and a kill during export leaves no partial merged model."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.e2e

MAX_STEPS, SAVE_STEPS = 30, 10
KILL_TIMEOUT = 600  # seconds a kill point may take to come (the first attempt builds the model, data, before)


def _few_probes(folder: Path) -> Path:
    """Two probes per suite and language: the answers are not what this test checks, and the
    full suites took 60 of its seconds."""
    from selfcog_swift.probes import SUITES_DIR

    kept, seen = [], {}
    for suite in sorted(SUITES_DIR.glob("*.jsonl")):
        for line in suite.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else None
            if row and seen.setdefault((suite.name, row["lang"]), 0) < 2:
                seen[(suite.name, row["lang"])] += 1
                kept.append(line)
    path = folder / "probes.jsonl"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


def _sets(out: Path) -> list[str]:
    sets = [f"output_dir={out}", f"evaluate.probes={_few_probes(out.parent)}", f"train.max_steps={MAX_STEPS}", f"train.save_steps={SAVE_STEPS}",
            f"train.eval_steps={SAVE_STEPS}", "train.logging_steps=1", "evaluate.checkpoint_choice=eval_loss",
            "evaluate.max_new_tokens=8",
            # 60 steps teach the tiny model little; this test is about what survives a kill, not the gate.
            "evaluate.min_identity_rate=0", "evaluate.max_leak_rate=1", "evaluate.max_overreach_rate=1",
            "evaluate.max_drift=1000", "evaluate.max_perplexity_increase=1000"]
    return [token for s in sets for token in ("--set", s)]


def _start(out: Path, log: Path, *flags: str) -> subprocess.Popen:
    with log.open("w") as handle:
        return subprocess.Popen([sys.executable, "-m", "selfcog_swift", "run", "recipes/smoke.yaml", *flags, *_sets(out)],
                                cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ})


def _kill_when(proc: subprocess.Popen, log: Path, ready, what: str) -> None:
    """SIGSTOP the run as soon as `ready()` holds (so nothing moves on while we look), then SIGKILL it."""
    deadline = time.time() + KILL_TIMEOUT
    while not ready():
        assert proc.poll() is None, f"run ended before {what}: {log.read_text()[-3000:]}"
        assert time.time() < deadline, f"no {what} after {KILL_TIMEOUT} s: {log.read_text()[-3000:]}"
        time.sleep(0.005)
    proc.send_signal(signal.SIGSTOP)


def _sigkill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _runs(out: Path) -> list[Path]:
    return sorted(out.glob("v*-*"), key=lambda p: int(p.name[1:].split("-")[0]))


def _complete(run_dir: Path) -> dict[int, Path]:
    """step → checkpoint folder, for the checkpoints whose trainer_state.json is complete."""
    found = {}
    for checkpoint in run_dir.glob("checkpoint-*"):
        try:
            found[json.loads((checkpoint / "trainer_state.json").read_text())["global_step"]] = checkpoint
        except (OSError, ValueError, KeyError):
            pass
    return found


def _newest(out: Path) -> Path:
    steps = {step: path for run in _runs(out) for step, path in _complete(run).items()}
    return steps[max(steps)]


def _logged_steps(run_dir: Path) -> list[int]:
    log = run_dir / "logging.jsonl"
    if not log.is_file():
        return []
    return [int(json.loads(line)["global_step/max_steps"].split("/")[0])
            for line in log.read_text().splitlines() if '"global_step/max_steps"' in line]


def test_killed_twice_in_sft_and_once_in_export_resume_finishes_the_same_run(tmp_path):
    out = tmp_path / "out"
    started = time.time()
    newest_at_kill = []

    # 1: killed once checkpoint-20 is complete.
    proc = _start(out, tmp_path / "1.log")
    _kill_when(proc, tmp_path / "1.log", lambda: any(_complete(r) for r in _runs(out)), "a complete checkpoint")
    newest_at_kill.append(_newest(out))
    _sigkill(proc)
    first = _runs(out)[0]

    # 2: killed as soon as its sft made its run folder, before it saved anything (the case).
    proc = _start(out, tmp_path / "2.log", "--resume")
    _kill_when(proc, tmp_path / "2.log", lambda: len(_runs(out)) >= 2, "a second run folder")
    assert not _complete(_runs(out)[1])
    newest_at_kill.append(_newest(out))
    _sigkill(proc)

    # 3: killed once a checkpoint newer than the first attempt's is complete.
    proc = _start(out, tmp_path / "3.log", "--resume")
    _kill_when(proc, tmp_path / "3.log", lambda: len(_runs(out)) >= 3 and _complete(_runs(out)[2]),
               "a checkpoint of the third attempt")
    newest_at_kill.append(_newest(out))
    _sigkill(proc)

    # 4: trains to the end; killed while the merged model is being written.
    proc = _start(out, tmp_path / "4.log", "--resume")
    _kill_when(proc, tmp_path / "4.log", lambda: any(out.glob("v*/.checkpoint-*-merged.partial-*")), "an export")
    (partial,) = out.glob("v*/.checkpoint-*-merged.partial-*")
    merged = partial.parent / partial.name[1:].split(".partial-")[0]
    assert not merged.exists()  # only the temporary name exists while swift writes
    _sigkill(proc)

    # 5: finishes.
    done = subprocess.run([sys.executable, "-m", "selfcog_swift", "run", "recipes/smoke.yaml", "--resume", *_sets(out)],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.time() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"five attempts, four kills: {wall:.0f} s")

    state = json.loads((out / ".selfcog" / "state.json").read_text())
    attempts = state["sft_attempts"]
    assert [a["resume_from"] for a in attempts] == [None, *map(str, newest_at_kill)]
    assert newest_at_kill[1].parent == first  # attempt 3 went on from attempt 1, not from step 0
    assert newest_at_kill[2].parent == _runs(out)[2] and newest_at_kill[2].name != newest_at_kill[1].name

    # Each attempt starts where its checkpoint ends; together they train max_steps, plus at most
    # one save interval lost per interruption of sft.
    trained = 0
    for run_dir, attempt in zip(_runs(out), attempts):
        steps = _logged_steps(run_dir)
        if steps:
            assert steps[0] == attempt["step"] + 1, (run_dir, steps[:3], attempt)
            trained += steps[-1] - attempt["step"]
    assert _logged_steps(_runs(out)[-1])[-1] == MAX_STEPS
    assert MAX_STEPS <= trained <= MAX_STEPS + 3 * SAVE_STEPS, trained
    assert state["eval_loss_choice"]["last"].endswith(f"checkpoint-{MAX_STEPS}")

    # The export went on to a complete, renamed folder with the served prompt set inside the stage.
    names = [s["name"] for s in state["stages"]]
    assert names == ["data", "before", "sft", "export", "after"], names
    assert state["merged"] == str(merged) and (merged / "config.json").is_file()
    assert list(merged.glob("*.safetensors")) and not list(out.glob("v*/.checkpoint-*.partial-*"))
    from transformers import AutoTokenizer

    text = AutoTokenizer.from_pretrained(merged).apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert state["recipe"]["model"]["system"] in text
    assert "took over the lock" in (tmp_path / "2.log").read_text()  # every kill left its lock behind
    assert not (out / ".selfcog" / "lock").exists()
