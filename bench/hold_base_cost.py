"""Seconds per training step with `tuning.hold_base` against plain sft, on the demo's mix.

    .venv/bin/python bench/run.py --only hold_base                  # as a bench job (results.json)
    .venv/bin/python bench/hold_base_cost.py --steps 20 --pairs 2   # alone, printing its figures

Both arms run the demo's rendered sft command (`render recipes/demo.yaml`, with and without
`--set tuning.hold_base={weight: 1}`) through the swift CLI, on the same mix file (written once,
with the rows' channels, which plain sft ignores), the same seed and so the same batches, with
evaluation and checkpoint saving off and max_steps cut. The arms alternate (plain, hold, plain,
hold, ...) so that a load change on a shared machine hits both. A step's seconds come from
swift's cumulative `train_speed(s/it)` at two log points, which leaves the first --warmup steps
out. The replay answers are made once and cached in output/bench/hold_base/data/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "output" / "bench" / "hold_base"
DEMO = "recipes/demo.yaml"
PY = sys.executable
SWIFT = str(Path(PY).parent / "swift")


def _cli(*args: str) -> None:
    done = subprocess.run([PY, "-m", "selfcog_swift", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench hold_base: selfcog_swift {' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")


def _argv(recipe, steps: int, warmup: int, out: Path) -> tuple[list[str], dict]:
    """The demo's rendered sft argv with steps cut, eval and saving off, logging at warmup steps."""
    from selfcog_swift.render import StageCommand, stage_command

    command = stage_command(recipe, "sft")
    args = dict(command.args)
    args.update({"max_steps": str(steps), "logging_steps": str(warmup), "eval_strategy": "no",
                 "save_strategy": "no", "output_dir": str(out)})
    return StageCommand("sft", command.env, tuple(args.items())).argv(), dict(command.env)


def _seconds_per_step(out: Path, warmup: int) -> float:
    """Seconds per step after the first `warmup` steps, from swift's cumulative train_speed(s/it)."""
    (log,) = out.glob("v*-*/logging.jsonl")
    points = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if "train_speed(s/it)" in entry:
            step = int(entry["global_step/max_steps"].split("/")[0])
            points[step] = entry["train_speed(s/it)"] * step  # seconds since the first step began
    first, last = warmup, max(points)
    return (points[last] - points[first]) / (last - first)


def measure(args: argparse.Namespace) -> dict:
    """Both arms, alternating, on the same mix; returns seconds per step of each and their ratio."""
    from selfcog_swift.recipe import load_recipe

    hold_set = f"tuning.hold_base={{weight: {args.weight}, rows: {args.rows}}}"
    folder = Path(args.folder)
    base_sets = (f"output_dir={folder}", *args.set)
    recipes = {"plain": load_recipe(ROOT / DEMO, base_sets), "hold": load_recipe(ROOT / DEMO, (*base_sets, hold_set))}
    sets = [t for s in (*base_sets, hold_set) for t in ("--set", s)]
    if recipes["hold"].data.replay:
        _cli("replay", DEMO, *sets)  # cached after the first run
    _cli("data", DEMO, *sets, "--out", str(folder / "data" / "mix.jsonl"))  # rows with their channel
    seconds: dict[str, list[float]] = {"plain": [], "hold": []}
    for pair in range(args.pairs):
        for arm in ("plain", "hold"):
            out = folder / "runs" / f"{arm}-{pair}"
            subprocess.run(["rm", "-rf", str(out)], check=True)
            argv, env = _argv(recipes[arm], args.steps, args.warmup, out)
            done = subprocess.run([SWIFT, "sft", *argv], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise SystemExit(f"bench hold_base: {arm} sft failed:\n{done.stderr[-3000:]}")
            seconds[arm].append(_seconds_per_step(out, args.warmup))
            print(f"  {arm} pair {pair}: {seconds[arm][-1]:.2f} s/step", flush=True)
    plain, hold = statistics.median(seconds["plain"]), statistics.median(seconds["hold"])
    return {"hold_base_weight": args.weight, "hold_base_rows": args.rows, "hold_base_sets": list(args.set),
            "hold_base_steps_timed": (args.steps - args.warmup) * args.pairs,
            "hold_base_seconds_per_step": round(hold, 3), "plain_sft_seconds_per_step": round(plain, 3),
            "hold_base_runs_seconds_per_step": {k: [round(v, 3) for v in vs] for k, vs in seconds.items()},
            "hold_base_cost_ratio": round(hold / plain, 3)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The job's options (bench/run.py adds them to its own)."""
    parser.add_argument("--steps", type=int, default=20, help="hold_base job: training steps per run")
    parser.add_argument("--warmup", type=int, default=4, help="hold_base job: first steps left out of the timing")
    parser.add_argument("--pairs", type=int, default=2, help="hold_base job: plain/hold run pairs")
    parser.add_argument("--weight", type=float, default=1.0, help="hold_base job: tuning.hold_base.weight")
    parser.add_argument("--rows", default="replay", help="hold_base job: tuning.hold_base.rows")
    parser.add_argument("--set", action="append", default=[], help="hold_base job: another demo recipe override")
    parser.add_argument("--folder", default=str(OUT), help="hold_base job: output_dir of both arms (replay cache)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    print(json.dumps(measure(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
