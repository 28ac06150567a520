#!/usr/bin/env bash
# selfcog-swift: the sft stage of tests/golden/recipes/fsdp_user_deepspeed.yaml.
# Rendered by `python -m selfcog_swift render tests/golden/recipes/fsdp_user_deepspeed.yaml`; `run` executes these same arguments.
set -euo pipefail

python -m selfcog_swift data tests/golden/recipes/fsdp_user_deepspeed.yaml --out /yldm0226/llm_sft_output/data/mix.jsonl

CUDA_VISIBLE_DEVICES=0,1,2,3 \
NPROC_PER_NODE=4 \
MASTER_PORT=29500 \
swift sft \
    --model Qwen/Qwen1.5-14B-Chat \
    --template qwen \
    --tuner_type lora \
    --lora_rank 8 \
    --lora_alpha 32 \
    --lora_dropout 0.05 \
    --target_modules all-linear \
    --dataset /yldm0226/llm_sft_output/data/mix.jsonl \
    --split_dataset_ratio 0.01 \
    --output_dir /yldm0226/llm_sft_output \
    --num_train_epochs 3 \
    --learning_rate 1e-5 \
    --max_length 4096 \
    --per_device_train_batch_size 1 \
    --gradient_accumulation_steps 2 \
    --weight_decay 0.01 \
    --max_grad_norm 0.5 \
    --warmup_ratio 0.4 \
    --eval_steps 10 \
    --save_steps 10 \
    --logging_steps 5 \
    --save_total_limit 2 \
    --gradient_checkpointing true \
    --seed 42 \
    --ddp_backend nccl \
    --deepspeed configs/ds_zero2_offload.json

