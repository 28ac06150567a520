#!/usr/bin/env bash
# selfcog-swift: the infer stage of tests/golden/recipes/multinode.yaml.
# Rendered by `python -m selfcog_swift render tests/golden/recipes/multinode.yaml`; `run` executes these same arguments.
set -euo pipefail
# The checkpoint to use: the first argument, else the one `selfcog-swift best` chooses.
CHECKPOINT="${1:-$(python -m selfcog_swift best /yldm0226/llm_sft_output --path-only)}"
# Interactive chat with the tuned model (greedy); try 你是谁？ and "Who developed you?".
CUDA_VISIBLE_DEVICES=0 \
swift infer \
    --model "${CHECKPOINT}"-merged \
    --template qwen \
    --max_new_tokens 96 \
    --temperature 0

