"""Two processes (torchrun, gloo) train the tiny model; the checkpoint merges and answers."""

import json
from pathlib import Path

import pytest

from conftest import run_cli

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("hold", [False, True], ids=["plain", "hold_base"])
def test_two_process_gloo_training_merges_and_answers(tmp_path, hold):
    out = tmp_path / "ddp"
    sets = [f"output_dir={out}", "launch.nproc_per_node=2", "launch.ddp_backend=gloo", "launch.master_port=29533",
            "train.max_steps=30", "train.save_steps=15", "train.eval_steps=15",
            "evaluate.checkpoint_choice=eval_loss", "evaluate.min_identity_rate=0", "evaluate.max_perplexity_increase=10"]
    if hold:  # the hold_base plugin's trainer in each rank (its settings reach torchrun's children)
        sets.append("tuning.hold_base={weight: 1, rows: general}")
    result = run_cli("run", "recipes/smoke.yaml", *[t for s in sets for t in ("--set", s)])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    manifest = json.loads(next(out.glob("v*-*/manifest.json")).read_text())
    args = json.loads((Path(manifest["run_dir"]) / "args.json").read_text())
    assert args["local_world_size"] == 2 and args["ddp_backend"] == "gloo"
    # swift's own output (torchrun's children included) goes to the run folder's log
    assert "world_size: 2, local_world_size: 2" in (Path(manifest["run_dir"]) / "logs" / "swift.log").read_text()
    assert Path(manifest["merged"]).is_dir()
    assert all(isinstance(a, str) and a for a in manifest["after"]["questions"])
    logs = [json.loads(line) for line in (Path(manifest["run_dir"]) / "logging.jsonl").read_text().splitlines()]
    kls = [entry["kl_base"] for entry in logs if "kl_base" in entry]  # the last line also holds log_history
    assert (len(kls) >= 3 and max(kls) > 1e-3) if hold else not kls, kls
