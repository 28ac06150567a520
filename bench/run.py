"""selfcog-swift benchmarks: each figure against a baseline measured side by side in the same run.

    make bench                                      # start, eval, mix, run (about 10 minutes on 2 cores)
    .venv/bin/python bench/run.py --only start,eval --reps 3
    .venv/bin/python bench/run.py --only demo       # the demo once, by stage (about 16 minutes on 2 cores)
    .venv/bin/python bench/run.py --mix-gb 0.2      # a smaller mixing input

Jobs (medians over --reps); each prints its figures beside the baseline measured with them:
  start     `--help` and `render` vs `swift sft --help` (swift reaching argument parsing)
  eval      greedy generation of 64 probes one by one vs in batches of 8-64 (swift's TransformersEngine)
  mix       mixing a generated JSONL down to 100k rows vs swift's load_dataset(['file#100000'])
  run       `selfcog-swift run` on recipes/smoke.yaml vs the same stages as raw swift CLI commands
            (swift infer on the base, swift sft, swift export, swift infer on the merged model)
  demo      `run recipes/demo.yaml`: each stage's seconds against the run's wall time, and the
            after stage's scores (not in the default set: it takes as long as `make demo`)
  hold_base seconds per sft step with tuning.hold_base vs plain sft, on the demo's mix, alternating
            runs (bench/hold_base_cost.py; not in the default set: about 10 minutes on 2 cores)

A new job is a function returning a dict of figures, registered with @job(name, compares=...).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from selfcog_swift.inference import BATCH_SIZE
from selfcog_swift.models import builtin

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SWIFT = str(Path(PY).parent / "swift")
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@dataclass(frozen=True)
class Job:
    """One benchmark: `measure(args)` returns its figures; `compares` pairs each figure with the
    baseline figure measured in the same call; `default` jobs run under a plain `make bench`."""

    measure: Callable[[argparse.Namespace], dict]
    compares: tuple[tuple[str, str], ...]
    default: bool = True


JOBS: dict[str, Job] = {}


def job(name: str, compares: tuple[tuple[str, str], ...], default: bool = True):
    """Register a benchmark under `name` (the order of registration is the order they run in)."""
    def register(measure: Callable[[argparse.Namespace], dict]) -> Callable[[argparse.Namespace], dict]:
        JOBS[name] = Job(measure, compares, default)
        return measure
    return register


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


@job("start", compares=(("help_seconds", "swift_sft_help_seconds"), ("render_seconds", "swift_sft_help_seconds")))
def bench_start(args: argparse.Namespace) -> dict:
    """`--help` and `render` against swift reaching its own argument parsing."""
    help_s = median_of(args.reps, lambda: timed([PY, "-m", "selfcog_swift", "--help"])[0])
    render_s = median_of(args.reps, lambda: timed([PY, "-m", "selfcog_swift", "render", "recipes/biancang.yaml"])[0])
    swift_s = median_of(args.reps, lambda: timed([SWIFT, "sft", "--help"])[0])
    return {"help_seconds": round(help_s, 3), "render_seconds": round(render_s, 3),
            "swift_sft_help_seconds": round(swift_s, 3)}


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


@job("eval", compares=(("eval_batch_in_use_seconds", "eval_one_by_one_seconds"),
                       ("eval_best_batch_seconds", "eval_one_by_one_seconds")))
def bench_eval(args: argparse.Namespace) -> dict:
    """Greedy generation of the same prompts one by one and in batches of each size."""
    runs: dict[int, list[float]] = {}
    code = EVAL.replace("EVAL_BATCHES", repr(EVAL_BATCHES))
    for _ in range(max(1, args.reps - 2)):  # one pass takes about 5 minutes (the one-by-one baseline, 2)
        got = subprocess.run([PY, "-c", code, args.eval_model, *_swift_spec(args.eval_model), str(EVAL_PROMPTS),
                              str(EVAL_TOKENS)], cwd=ROOT, capture_output=True, text=True, env={**os.environ, **OFFLINE})
        if got.returncode != 0:
            raise SystemExit(f"bench eval failed:\n{got.stderr[-3000:]}")
        for line in got.stdout.strip().splitlines()[-1 - len(EVAL_BATCHES):]:
            size, seconds = line.split()
            runs.setdefault(int(size), []).append(float(seconds))
    seconds = {size: round(statistics.median(values), 2) for size, values in runs.items()}
    best = min(EVAL_BATCHES, key=seconds.get)
    return {"eval_model": args.eval_model, "eval_prompts": EVAL_PROMPTS, "eval_new_tokens": EVAL_TOKENS,
            "eval_seconds_by_batch": seconds, "eval_one_by_one_seconds": seconds[1],
            "eval_best_batch": best, "eval_best_batch_seconds": seconds[best],
            "eval_batch_in_use": BATCH_SIZE, "eval_batch_in_use_seconds": seconds.get(BATCH_SIZE)}


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


@job("mix", compares=(("mix_seconds", "swift_load_seconds"), ("mix_peak_rss_mb", "swift_peak_rss_mb")))
def bench_mix(args: argparse.Namespace) -> dict:
    """Sampling 100k rows of a large JSONL: `data`'s mixing against swift's load_dataset."""
    reps = max(1, args.reps - 1)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.jsonl"
        rows = _make_big_jsonl(big, args.mix_gb)
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
            "swift_load_seconds": round(swift_s, 2), "mix_peak_rss_mb": round(max(r for _, r in ours)),
            "swift_peak_rss_mb": round(max(r for _, r in theirs))}


def _smoke_stages(out: Path) -> dict:
    """The rendered argv of each smoke stage (the same lists `run` passes to swift's API)."""
    got = subprocess.run([PY, "-m", "selfcog_swift", "render", "recipes/smoke.yaml", "--format", "json",
                          "--set", f"output_dir={out}", "--checkpoint", "CKPT"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(got.stdout)


def _questions_file(folder: Path) -> Path:
    """The questions `run` asks (display questions + probes) as a dataset swift infer reads."""
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


@job("run", compares=(("run_seconds", "raw_cli_seconds"),))
def bench_run(args: argparse.Namespace) -> dict:
    """`run` on the smoke recipe against the same stages typed as raw swift commands."""
    ours, raw = [], []
    for _ in range(max(1, args.reps - 1)):
        with tempfile.TemporaryDirectory() as tmp:
            ours.append(timed([PY, "-m", "selfcog_swift", "run", "recipes/smoke.yaml", "--set",
                               f"output_dir={tmp}/ours", "--set", "evaluate.checkpoint_choice=eval_loss"])[0])
            raw.append(_raw_cli(Path(tmp)))
    return {"run_seconds": round(statistics.median(ours), 2), "raw_cli_seconds": round(statistics.median(raw), 2)}


EVALUATION_STAGES = ("before", "choose", "after")


def _after_counts(manifest: dict) -> dict:
    """The after stage's hits per language: {"zh": {"identity": "53/54", ...}, ...}."""
    languages = manifest["evaluation"]["after"]["languages"]
    return {lang: {m: f"{cell['k']}/{cell['n']}" for m, cell in rates.items() if cell}
            for lang, rates in languages.items()}


@job("demo", compares=(("demo_sft_seconds", "demo_wall_seconds"), ("demo_evaluation_seconds", "demo_wall_seconds")),
     default=False)
def bench_demo(args: argparse.Namespace) -> dict:
    """`run recipes/demo.yaml` once into output/bench/demo: seconds by stage, the after stage's scores.

    The folder is emptied first except data/, where the replay answers are cached (made once per
    base model and settings, like the base model's answers in the user cache).
    """
    out = ROOT / "output" / "bench" / "demo"
    for path in out.glob("*"):
        if path.name != "data":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    start = time.perf_counter()
    done = subprocess.run([PY, "-m", "selfcog_swift", "run", "recipes/demo.yaml", "--set", f"output_dir={out}"],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    state = out / ".selfcog" / "state.json"
    if not state.is_file():
        raise SystemExit(f"bench demo failed:\n{done.stderr[-3000:]}")
    manifest = json.loads(state.read_text(encoding="utf-8"))
    stages = {s["name"]: round(s["seconds"], 1) for s in manifest["stages"]}
    return {"demo_wall_seconds": round(wall, 1), "demo_stage_seconds": stages, "demo_sft_seconds": stages.get("sft"),
            "demo_evaluation_seconds": round(sum(stages.get(s, 0) for s in EVALUATION_STAGES), 1),
            "demo_before_cached": "come from the cache" in done.stdout, "demo_replay_cached": "(cached)" in done.stdout,
            "demo_gate_passed": done.returncode == 0, "demo_after": _after_counts(manifest)}


@job("hold_base", compares=(("hold_base_seconds_per_step", "plain_sft_seconds_per_step"),), default=False)
def bench_hold_base(args: argparse.Namespace) -> dict:
    """tuning.hold_base's seconds per step against plain sft on the demo's mix (bench/hold_base_cost.py)."""
    from hold_base_cost import measure

    return measure(args)


def table(results: dict, ran: list[str]) -> str:
    """Each figure of the jobs that ran now beside its baseline from the same run, and their ratio."""
    lines = [f"{'figure':28} {'value':>10}  {'baseline':28} {'value':>10}  {'ratio':>6}"]
    for name in ran:
        for figure, baseline in JOBS[name].compares:
            value, base = results.get(figure), results.get(baseline)
            ratio = f"{value / base:6.2f}" if value is not None and base else f"{'-':>6}"
            lines.append(f"{figure:28} {value!s:>10}  {baseline:28} {base!s:>10}  {ratio}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = [name for name, entry in JOBS.items() if entry.default]
    parser.add_argument("--only", default=",".join(defaults), help="comma-separated: " + ", ".join(JOBS))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--mix-gb", type=float, default=1.0, help="size of the generated mixing input")
    parser.add_argument("--eval-model", default="smollm2", choices=["smollm2", "tiny"])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    from hold_base_cost import add_arguments  # bench/ is on sys.path: this script's folder

    add_arguments(parser)
    args = parser.parse_args()
    ran = args.only.split(",")
    unknown = [name for name in ran if name not in JOBS]
    if unknown:
        parser.error(f"unknown job {', '.join(unknown)}; the jobs: {', '.join(JOBS)}")
    path = Path(args.out)
    results: dict = json.loads(path.read_text()) if path.is_file() else {}
    for name in ran:
        print(f"bench: {name} …", flush=True)
        start = time.perf_counter()
        results.update(JOBS[name].measure(args))
        results.setdefault("job_seconds", {})[name] = round(time.perf_counter() - start)
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print("\n" + table(results, ran))
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
