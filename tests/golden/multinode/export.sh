#!/usr/bin/env bash
# selfcog-swift: the export stage of tests/golden/recipes/multinode.yaml.
# Rendered by `python -m selfcog_swift render tests/golden/recipes/multinode.yaml`; `run` executes these same arguments.
set -euo pipefail
# The checkpoint to use: the first argument, else the one `selfcog-swift best` chooses.
CHECKPOINT="${1:-$(python -m selfcog_swift best /yldm0226/llm_sft_output --path-only)}"
# Merges the LoRA adapters into the base model; swift writes "$CHECKPOINT-merged".
CUDA_VISIBLE_DEVICES=0 \
swift export \
    --adapters "${CHECKPOINT}" \
    --merge_lora true

