"""selfcog-swift benchmarks: each figure against a baseline measured side by side in the same run.

    make bench                      # all comparisons, writes bench/results.json
    .venv/bin/python bench/run.py --only start,eval --reps 3
    .venv/bin/python bench/run.py --mix-gb 0.2          # a smaller mixing input

Comparisons (medians over --reps):
  run       `selfcog-swift run` on recipes/smoke.yaml vs the same stages as raw swift CLI commands
            (swift infer on the base, swift sft, swift export, swift infer on the merged model)
  start     `--help` and `render` vs `swift sft --help` (swift reaching argument parsing)
  mix       mixing a generated JSONL down to 100k rows vs swift's load_dataset(['file#100000'])
  eval      greedy generation of the probes one by one and in batches of 8-64 (swift's TransformersEngine)
  workers   answers to every probe and their NLL on one engine of two threads vs two engines of one
            thread, loading included (engines.py)
  flops     sft's achieved FLOP/s on the demo against this machine's matmul peak, padding share,
            under a few settings (bench/train_speed.py)
  gkd       swift's GKD (base as teacher) against plain sft, seconds per step
  demo      `run recipes/demo.yaml`: each stage's seconds, the evaluation share, and the run's floor
            (its FLOPs at the matmul peak, bench/floor.py)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from train_speed import bench_demo, bench_flops, bench_gkd  # bench/ is the script's own folder
from selfcog_swift.inference import BATCH_SIZE
from selfcog_swift.models import builtin

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SWIFT = str(Path(PY).parent / "swift")
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def timed(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command; fails loudly.

    The peak is the command's own: it runs under a fresh Python that forks it and reads its
    child's ru_maxrss (RUSAGE_CHILDREN here would carry the largest of every earlier child).
    """
    probe = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
             "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=cwd, env={**os.environ, **OFFLINE, **(env or {})},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd[:6])}… failed:\n{done.stderr[-3000:]}")
    peak_kb = int(done.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    return seconds, peak_kb / 1024


def median_of(reps: int, fn) -> float:
    return statistics.median(fn() for _ in range(reps))


def bench_start(reps: int) -> dict:
    help_s = median_of(reps, lambda: timed([PY, "-m", "selfcog_swift", "--help"])[0])
    render_s = median_of(reps, lambda: timed([PY, "-m", "selfcog_swift", "render", "recipes/biancang.yaml"])[0])
    swift_s = median_of(reps, lambda: timed([SWIFT, "sft", "--help"])[0])
    return {"help_seconds": round(help_s, 3), "render_seconds": round(render_s, 3),
            "swift_sft_help_seconds": round(swift_s, 3)}


def _smoke_stages(out: Path) -> dict:
    """The rendered argv of each smoke stage (the same lists `run` passes to swift's API)."""
    got = subprocess.run([PY, "-m", "selfcog_swift", "render", "recipes/smoke.yaml", "--format", "json",
                          "--set", f"output_dir={out}", "--checkpoint", "CKPT"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(got.stdout)


def _questions_file(folder: Path) -> Path:
    """The questions `run` asks (display questions + probes) as a dataset swift infer reads."""
    sys.path.insert(0, str(ROOT))
    from selfcog_swift.probes import load_probes
    from selfcog_swift.recipe import load_recipe

    recipe = load_recipe(ROOT / "recipes" / "smoke.yaml")
    conversations = [[{"role": "user", "content": q}] for q in recipe.evaluate.questions]
    conversations += [p.conversation(recipe.model.system) for p in load_probes()]
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps({"messages": c}, ensure_ascii=False) + "\n" for c in conversations),
                    encoding="utf-8")
    return path


def _raw_cli(folder: Path) -> float:
    """swift infer (base), swift sft, swift export, swift infer (merged): four interpreters."""
    out = folder / "raw"
    stages = _smoke_stages(out)
    questions = _questions_file(folder)
    start = time.perf_counter()
    subprocess.run([PY, "-m", "selfcog_swift", "data", "recipes/smoke.yaml", "--set", f"output_dir={out}",
                    "--out", str(out / "data" / "mix.jsonl")], cwd=ROOT, check=True, capture_output=True)
    infer = stages["infer"]["argv"]
    base = subprocess.run([PY, "-m", "selfcog_swift", "models", "prepare", "tiny"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    infer_base = [x if x != "CKPT-merged" else base for x in infer]
    common = ["--val_dataset", str(questions), "--max_batch_size", "16", "--stream", "false"]
    timed([SWIFT, *infer_base[1:], *common, "--result_path", str(folder / "before.jsonl")])
    timed([SWIFT, *stages["sft"]["argv"][1:]])
    run_dir = max(out.glob("v*-*"), key=lambda p: p.stat().st_mtime)
    checkpoint = max(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    timed([SWIFT, *[str(checkpoint) if x == "CKPT" else x for x in stages["export"]["argv"][1:]]])
    infer_merged = [f"{checkpoint}-merged" if x == "CKPT-merged" else x for x in infer]
    timed([SWIFT, *infer_merged[1:], *common, "--result_path", str(folder / "after.jsonl")])
    return time.perf_counter() - start


def bench_run(reps: int) -> dict:
    ours, raw = [], []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            ours.append(timed([PY, "-m", "selfcog_swift", "run", "recipes/smoke.yaml", "--set",
                               f"output_dir={tmp}/ours", "--set", "evaluate.checkpoint_choice=eval_loss"])[0])
            raw.append(_raw_cli(Path(tmp)))
    run_s, raw_s = statistics.median(ours), statistics.median(raw)
    return {"run_seconds": round(run_s, 2), "raw_cli_seconds": round(raw_s, 2),
            "run_vs_cli_ratio": round(run_s / raw_s, 3)}


def _make_big_jsonl(path: Path, gigabytes: float) -> int:
    row = {"messages": [{"role": "user", "content": "Explain item {i} of the catalogue in plain words, please."},
                        {"role": "assistant", "content": "Item {i} is a sample entry. " * 4}]}
    template = json.dumps(row)
    target, rows = int(gigabytes * 1024 ** 3), 0
    with path.open("w", encoding="utf-8") as handle:
        while handle.tell() < target:
            handle.write("".join(template.replace("{i}", str(rows + k)) + "\n" for k in range(10000)))
            rows += 10000
    return rows


MIX_OURS = """
import sys, time
from selfcog_swift.recipe import load_recipe
from selfcog_swift.data import mix
recipe = load_recipe(sys.argv[1], ("data.self_cognition=0", "data.datasets=[{path: %s, sample: 100000}]" % sys.argv[2]))
mix(recipe, sys.argv[3])
"""
MIX_SWIFT = """
import sys
from swift.dataset import load_dataset
load_dataset([sys.argv[2] + "#100000"], split_dataset_ratio=0, load_from_cache_file=False, num_proc=1)
"""


def bench_mix(reps: int, gigabytes: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.jsonl"
        rows = _make_big_jsonl(big, gigabytes)
        recipe = ROOT / "recipes" / "smoke.yaml"
        ours = [timed([PY, "-c", MIX_OURS, str(recipe), str(big), f"{tmp}/mix.jsonl"]) for _ in range(reps)]
        cache = {"HF_DATASETS_CACHE": f"{tmp}/hf", "MODELSCOPE_CACHE": f"{tmp}/ms"}
        theirs = []
        for _ in range(reps):
            theirs.append(timed([PY, "-c", MIX_SWIFT, str(recipe), str(big)], env=cache))
            shutil.rmtree(f"{tmp}/hf", ignore_errors=True)
        size_mb = big.stat().st_size / 1024 ** 2
    ours_s, swift_s = statistics.median(t for t, _ in ours), statistics.median(t for t, _ in theirs)
    return {"mix_input_mb": round(size_mb), "mix_input_rows": rows, "mix_seconds": round(ours_s, 2),
            "swift_load_seconds": round(swift_s, 2), "mix_speedup": round(swift_s / ours_s, 2),
            "mix_peak_rss_mb": round(max(r for _, r in ours)), "swift_peak_rss_mb": round(max(r for _, r in theirs))}


EVAL = """
import sys, time
import selfcog_swift.inference as inference
from selfcog_swift.inference import generate, load_engine
from selfcog_swift.probes import load_probes
from selfcog_swift.models import prepare
pipeline = load_engine(["--model", str(prepare(sys.argv[1])), "--model_type", sys.argv[2], "--template", sys.argv[3]],
                       max(EVAL_BATCHES))
prompts = [p.conversation(None) for p in load_probes()][: int(sys.argv[4])]
generate(pipeline, prompts[:2], 8)  # warm-up
for size in [1, *EVAL_BATCHES]:
    inference.BATCH_SIZE = size
    start = time.perf_counter()
    generate(pipeline, prompts, int(sys.argv[5]))
    print(size, time.perf_counter() - start)
"""
# Batch sizes tried for generation; inference.BATCH_SIZE is set to the best of them as measured here.
EVAL_BATCHES = (8, 16, 32, 64)
EVAL_PROMPTS, EVAL_TOKENS = 64, 48


def _swift_spec(model: str) -> tuple[str, str]:
    """model_type and template of a builtin model, from the registry `render` uses."""
    spec = builtin(model)
    return spec.model_type, spec.template


def bench_eval(reps: int, model: str) -> dict:
    runs: dict[int, list[float]] = {}
    code = EVAL.replace("EVAL_BATCHES", repr(EVAL_BATCHES))
    for _ in range(reps):
        got = subprocess.run([PY, "-c", code, model, *_swift_spec(model), str(EVAL_PROMPTS), str(EVAL_TOKENS)], cwd=ROOT,
                             capture_output=True, text=True, env={**os.environ, **OFFLINE})
        if got.returncode != 0:
            raise SystemExit(f"bench eval failed:\n{got.stderr[-3000:]}")
        for line in got.stdout.strip().splitlines()[-1 - len(EVAL_BATCHES):]:
            size, seconds = line.split()
            runs.setdefault(int(size), []).append(float(seconds))
    seconds = {size: round(statistics.median(values), 2) for size, values in runs.items()}
    best = min(EVAL_BATCHES, key=seconds.get)
    return {"eval_model": model, "eval_seconds_by_batch": seconds, "eval_best_batch": best,
            "eval_batch_in_use": BATCH_SIZE, "eval_batch_speedup": round(seconds[1] / seconds[best], 2)}


WORKERS = """
import sys, time
from selfcog_swift.engines import Engines
from selfcog_swift.probes import load_probes
from selfcog_swift.models import prepare
argv = ["--model", str(prepare(sys.argv[1])), "--model_type", sys.argv[2], "--template", sys.argv[3]]
prompts = [p.conversation(None) for p in load_probes()][: int(sys.argv[4])]
start = time.perf_counter()
with Engines(argv, workers=int(sys.argv[6])) as engines:
    answers = engines.generate(prompts, int(sys.argv[5]))
    engines.answer_nll([(p, a) for p, a in zip(prompts, answers)])
print(time.perf_counter() - start)
"""


# The workers job asks every probe, as the after stage does (fewer stay in one process: MIN_WORK).
WORKER_PROMPTS, WORKER_TOKENS = 10_000, 64


def bench_workers(reps: int, model: str) -> dict:
    """Answers to every probe and their NLL on one engine of two threads vs two worker engines of
    one thread, loading included (engines.py)."""
    seconds = {}
    for workers in (1, 2):
        runs = []
        for _ in range(reps):
            got = subprocess.run([PY, "-c", WORKERS, model, *_swift_spec(model), str(WORKER_PROMPTS), str(WORKER_TOKENS),
                                  str(workers)], cwd=ROOT, capture_output=True, text=True,
                                 env={**os.environ, **OFFLINE, "OMP_NUM_THREADS": "2"})
            if got.returncode != 0:
                raise SystemExit(f"bench workers failed:\n{got.stderr[-3000:]}")
            runs.append(float(got.stdout.split()[-1]))
        seconds[workers] = round(statistics.median(runs), 1)
    return {"eval_workers_seconds": seconds, "eval_workers_speedup": round(seconds[1] / seconds[2], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="start,eval,workers,mix,run,flops,gkd,demo",
                        help="comma-separated: start, eval, workers, mix, run, flops, gkd, demo")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--mix-gb", type=float, default=1.0, help="size of the generated mixing input")
    parser.add_argument("--eval-model", default="smollm2", choices=["smollm2", "tiny"])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    results: dict = {}
    path = Path(args.out)
    if path.is_file():
        results.update(json.loads(path.read_text()))
    jobs = {"start": lambda: bench_start(args.reps), "eval": lambda: bench_eval(args.reps, args.eval_model),
            "workers": lambda: bench_workers(max(1, args.reps - 2), args.eval_model),
            "mix": lambda: bench_mix(max(1, args.reps - 1), args.mix_gb), "run": lambda: bench_run(max(1, args.reps - 1)),
            "flops": bench_flops, "gkd": bench_gkd, "demo": bench_demo}
    for name in args.only.split(","):
        print(f"bench: {name} …", flush=True)
        results.update(jobs[name]())
        path.write_text(json.dumps(results, indent=2) + "\n")
    goals = {"run_vs_cli_ratio": ("<=", 0.65), "render_seconds": ("<=", 0.5), "help_seconds": ("<=", 0.5),
             "mix_speedup": (">=", 5), "mix_peak_rss_mb": ("<=", 300), "eval_batch_speedup": (">=", 3),
             "sft_flops_ratio": (">=", 0.5), "demo_evaluation_share": ("<=", 0.2), "demo_wall_seconds": ("<=", 360)}
    print(f"\n{'figure':28} {'value':>10}  goal")
    for key, value in results.items():
        goal = goals.get(key)
        mark = ""
        if goal:
            ok = value <= goal[1] if goal[0] == "<=" else value >= goal[1]
            mark = f"{goal[0]} {goal[1]}  {'ok' if ok else 'MISSED'}"
        if isinstance(value, dict):
            value = json.dumps(value)
        print(f"{key:28} {value!s:>10}  {mark}")
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
