"""Training against the hardware's limit, and where the demo's time goes (part of `make bench`).

flops  This machine's float32 matmul peak (torch, the thread count sft runs with) against the sft
       stage's achieved FLOP/s on the demo recipe, and the share of padding tokens in its batches,
       under a few settings: the demo's (one process of two threads, random batches), two
       processes of one thread, batches of similar length, swift's group_by_length, one thread.
       The peak is measured with as many processes at once.
       packing and padding_free are not among them: swift 4.6 refuses both without flash attention
       (sft_args._check_padding_free), which has no CPU build.
gkd    swift's GKD (rlhf_type gkd, the base model as its own teacher with the LoRA adapter disabled)
       against plain sft on the same mix: seconds per step, off-policy (lmbda 0) and swift's default
       half on-policy (lmbda 0.5, the student generates an answer for every other batch).
demo   `run recipes/demo.yaml` once into output/bench/demo: each stage's seconds and the share of
       the evaluation stages (before, choose, after). The base model's answers come from the cache
       when an earlier run made them (`before_cached` says which), the replay answers likewise
       (`replay_cached`). Then the run's floor (bench/floor.py): its FLOPs at this machine's
       matmul peak, for training and evaluation.

FLOPs of one LoRA training sequence of T tokens (forward + backward), with P the weights of every
matmul (the tied lm_head included; the embedding lookup is not a matmul), R the LoRA weights
(sum of r·(d_in + d_out) over adapted Linears), L layers and d the hidden size:
    forward    2·P·T + 2·R·T + 4·L·d·T²
    backward   2·P·T + 4·R·T + 8·L·d·T²   (activation gradients through the frozen weights, weight
                                          gradients only for the LoRA matrices)
    total      (4·P + 6·R)·T + 12·L·d·T²  (full fine-tuning would be the familiar 6·P·T)
"Achieved" counts the real tokens only; the padded figure is what the hardware computed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WORK = ROOT / "output" / "bench"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
# Steps timed per setting; the first WARMUP are left out (allocator and caches warming up).
STEPS, WARMUP = 12, 2
# Square matmul for the peak: large enough that the kernel, not the call, is measured.
PEAK_N = 2048
# The demo trains in one process of two threads, 8 rows a step in random batches. Against it: two
# processes of one thread (torchrun, gloo, 4 rows each), the same 8 rows a step as 4 forward
# passes of 2 or 8 of 1 (gradient accumulation: less padding), batches of similar length
# (train.batches), swift's group_by_length, and one thread.
TWO_PROCESSES = ["launch.nproc_per_node=2", "launch.ddp_backend=gloo", "train.batch_size=4"]
SETTINGS = {  # name: (--set overrides, threads per process, processes)
    "one_process": ([], 2, 1),
    "two_processes": (TWO_PROCESSES, 1, 2),
    "accumulate_2x4": (["train.batch_size=2", "train.gradient_accumulation=4"], 2, 1),
    "accumulate_1x8": (["train.batch_size=1", "train.gradient_accumulation=8"], 2, 1),
    "similar_length": (["train.batches=similar_length"], 2, 1),
    "grouped": (["swift_args.sft.group_by_length=true"], 2, 1),
    "one_thread": ([], 1, 1),
}
DEMO_SETTING = "one_process"
EVALUATION_STAGES = ("before", "choose", "after")


def matmul_peak(threads: int, processes: int = 1, seconds: float = 3.0) -> float:
    """FLOP/s of square float32 matmuls: `processes` processes of `threads` threads each, at once."""
    code = ("import sys, time, torch\n"
            f"torch.set_num_threads({threads}); n = {PEAK_N}\n"
            "a, b = torch.randn(n, n), torch.randn(n, n)\n"
            "for _ in range(3): a @ b\n"
            "best = 0.0\n"
            "for _ in range(5):\n"
            "    t, r = time.perf_counter(), 0\n"
            f"    while time.perf_counter() - t < {seconds / 5}: a @ b; r += 1\n"
            "    best = max(best, 2 * n ** 3 * r / (time.perf_counter() - t))\n"
            "print(best)\n")
    running = [subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "OMP_NUM_THREADS": str(threads)}) for _ in range(processes)]
    return sum(float(p.communicate()[0].split()[-1]) for p in running)


def _sft_with_data(sets: list[str]) -> tuple[list[str], dict]:
    """The demo's sft argv and env under these --set overrides, with the mix it trains on written
    (replay answers cached under the output dir after the first time)."""
    args = [t for s in sets for t in ("--set", s)]
    got = subprocess.run([PY, "-m", "selfcog_swift", "render", "recipes/demo.yaml", "--stage", "sft", "--format",
                          "json", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    sft = json.loads(got.stdout)["sft"]
    argv = sft["argv"][2:]
    subprocess.run([PY, "-m", "selfcog_swift", "data", "recipes/demo.yaml", "--out",
                    argv[argv.index("--dataset") + 1], *args], cwd=ROOT, check=True, capture_output=True)
    return argv, sft["env"]


def sft_speed(name: str, extra: list[str], threads: int, processes: int) -> dict:
    out = WORK / "flops"
    sets = [f"output_dir={out}", f"train.max_steps={STEPS + WARMUP + 1}", "train.eval_steps=100000",
            "train.save_steps=100000", "train.logging_steps=1", *extra]
    argv, env = _sft_with_data(sets)
    report = WORK / f"sft-{name}.json"
    probe = [str(ROOT / "bench" / "sft_probe.py"), str(report), *argv]
    if processes > 1:  # as `swift sft` launches it with NPROC_PER_NODE set; each rank writes its own report
        probe = ["-m", "torch.distributed.run", f"--nproc_per_node={processes}", *probe]
    done = subprocess.run([PY, *probe], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **OFFLINE, **env, "OMP_NUM_THREADS": str(threads)})
    if done.returncode != 0:
        raise SystemExit(f"bench flops ({name}) failed:\n{done.stderr[-3000:]}")
    for run_dir in out.glob("v*-*"):
        shutil.rmtree(run_dir, ignore_errors=True)
    reports = [WORK / f"sft-{name}.rank{r}.json" for r in range(processes)] if processes > 1 else [report]
    ranks = [json.loads(path.read_text())["steps"][WARMUP:] for path in reports]
    # A step lasts as long as its slowest rank; tokens and FLOPs are summed over the ranks.
    seconds = sum(max(steps) for steps in zip(*[[s["seconds"] for s in r] for r in ranks]))
    steps = [s for r in ranks for s in r]
    # The probe times forward passes: with gradient accumulation, several make one optimizer step.
    accumulation = int(argv[argv.index("--gradient_accumulation_steps") + 1])
    real, padded = sum(s["real_tokens"] for s in steps), sum(s["padded_tokens"] for s in steps)
    return {"threads": threads, "processes": processes, "seconds_per_step": round(seconds * accumulation / len(ranks[0]), 2),
            "real_tokens_per_second": round(real / seconds, 1), "padding_share": round(1 - real / padded, 3),
            "achieved_gflops": round(sum(s["flops_real"] for s in steps) / seconds / 1e9, 1),
            "computed_gflops": round(sum(s["flops_all"] for s in steps) / seconds / 1e9, 1)}


def bench_flops() -> dict:
    rows = {}
    for path in WORK.glob("sft-*.json"):
        path.unlink()
    for name, (extra, threads, processes) in SETTINGS.items():
        print(f"bench: flops: {name} …", flush=True)
        rows[name] = sft_speed(name, extra, threads, processes)
        rows[name]["peak_gflops"] = round(matmul_peak(threads, processes) / 1e9, 1)
        rows[name]["ratio"] = round(rows[name]["achieved_gflops"] / rows[name]["peak_gflops"], 3)
    base = rows["one_process"]
    for row in rows.values():
        row["speed_vs_one_process"] = round(row["real_tokens_per_second"] / base["real_tokens_per_second"], 3)
    demo = rows[DEMO_SETTING]
    return {"sft_flops": rows, "sft_flops_ratio": demo["ratio"], "sft_padding_share": demo["padding_share"]}


GKD_STEPS = 6


def _seconds_per_step(pipeline: str, argv: list[str], env: dict, out: Path) -> float:
    code = (f"import sys; from swift.pipelines import {pipeline}_main as main; main(sys.argv[1:])")
    done = subprocess.run([PY, "-c", code, *argv], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **OFFLINE, **env})
    if done.returncode != 0:
        raise SystemExit(f"bench gkd ({pipeline}) failed:\n{done.stderr[-3000:]}")
    (run_dir,) = out.glob("v*-*")
    records = [json.loads(line) for line in (run_dir / "logging.jsonl").read_text().splitlines()]
    speed = [r["train_speed(s/it)"] for r in records if "train_speed(s/it)" in r][-1]
    shutil.rmtree(run_dir)
    return speed


def bench_gkd() -> dict:
    import importlib.util

    if importlib.util.find_spec("msgspec") is None:
        raise SystemExit("bench gkd: swift's GKD trainer needs msgspec (`make bench` installs it)")
    sets = [f"train.max_steps={GKD_STEPS}", "train.eval_steps=100000", "train.save_steps=100000",
            "train.logging_steps=1", "data.val_split=0"]
    result = {}
    for name, extra in (("sft", []), ("gkd_offpolicy", ["--lmbda", "0"]), ("gkd_half_onpolicy", ["--lmbda", "0.5"])):
        print(f"bench: gkd: {name} …", flush=True)
        out = WORK / "gkd" / name
        shutil.rmtree(out, ignore_errors=True)  # one run folder per setting
        argv, env = _sft_with_data([f"output_dir={out}", *sets])
        if name != "sft":
            model = argv[argv.index("--model") + 1]
            argv = [*argv, "--rlhf_type", "gkd", "--teacher_model", model, "--max_completion_length", "64", *extra]
        result[name] = _seconds_per_step("rlhf" if name != "sft" else "sft", argv, env, out)
    return {"gkd_seconds_per_step": result,
            "gkd_offpolicy_vs_sft": round(result["gkd_offpolicy"] / result["sft"], 2),
            "gkd_half_onpolicy_vs_sft": round(result["gkd_half_onpolicy"] / result["sft"], 2)}


def bench_demo() -> dict:
    out = WORK / "demo"
    # A fresh output folder, except the replay answers cached in data/ (generated once per base
    # model and settings, like the base model's answers in the user cache).
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
    evaluation = sum(stages.get(s, 0) for s in EVALUATION_STAGES)
    from floor import demo_floor  # bench/ is the script's own folder

    cores = len(os.sched_getaffinity(0))  # the demo runs with torch's default: one thread a core
    return {**demo_floor(out, matmul_peak(cores)), "demo_wall_seconds": round(wall, 1), "demo_stage_seconds": stages,
            "demo_before_cached": "come from the cache" in done.stdout,
            "demo_replay_cached": "(cached)" in done.stdout,
            "demo_gate_passed": done.returncode == 0, "demo_evaluation_share": round(evaluation / wall, 3)}
