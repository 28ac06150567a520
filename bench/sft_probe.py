"""Run swift's sft (the API `run` calls) while counting what every training forward pass computes.

    python bench/sft_probe.py OUT.json SFT_ARGV...
    python -m torch.distributed.run --nproc_per_node=2 bench/sft_probe.py OUT.json SFT_ARGV...

Writes OUT.json: per training step its wall seconds (between consecutive forward passes), tokens
in the batch with and without padding, and the FLOPs of the step counted with the formula in
bench/train_speed.py, for all tokens (what the hardware did) and for the real ones (what the
training needed). Counted where the decoder body (the module holding `embed_tokens`) is called in
training mode: peft calls the outer *ForCausalLM's forward directly, the body always through
__call__. Evaluation passes are left out.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    import torch
    from transformers import PreTrainedModel

    steps: list[dict] = []
    shape: dict = {}
    original = PreTrainedModel.__call__

    def counted(self, *args, **kwargs):
        ids, mask = kwargs.get("input_ids"), kwargs.get("attention_mask")
        if self.training and hasattr(self, "embed_tokens") and ids is not None:
            if not shape:
                shape.update(_shape(self))
            lengths = mask.sum(dim=1).tolist() if mask is not None else [ids.shape[1]] * ids.shape[0]
            rows, padded = ids.shape
            steps.append({"start": time.perf_counter(), "rows": rows, "padded_tokens": rows * padded,
                          "real_tokens": int(sum(lengths)),
                          "flops_all": flops(shape, [padded] * rows), "flops_real": flops(shape, lengths)})
        return original(self, *args, **kwargs)

    PreTrainedModel.__call__ = counted
    from swift.pipelines import sft_main

    torch.manual_seed(0)
    sft_main(argv)
    for step, following in zip(steps, steps[1:]):
        step["seconds"] = following["start"] - step["start"]
    if "RANK" in os.environ:  # under torchrun: one report per rank, OUT with .rankN before .json
        out = out.replace(".json", f".rank{os.environ['RANK']}.json")
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"shape": shape, "threads": torch.get_num_threads(), "steps": steps[:-1]}, handle, indent=1)


def _shape(model) -> dict:
    """Weights of every matmul (the LoRA matrices apart, the lm_head counted from the config), LoRA
    weights, layers, hidden size."""
    import torch.nn as nn

    config = model.config
    base, lora = config.vocab_size * config.hidden_size, 0
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            if "lora_" in name:
                lora += module.weight.numel()
            else:
                base += module.weight.numel()
    return {"matmul_weights": base, "lora_weights": lora, "layers": config.num_hidden_layers,
            "hidden": config.hidden_size}


def flops(shape: dict, lengths: list[int]) -> float:
    """Forward + backward FLOPs of LoRA training on sequences of these lengths (bench/train_speed.py)."""
    per_token = 4 * shape["matmul_weights"] + 6 * shape["lora_weights"]
    attention = 12 * shape["layers"] * shape["hidden"]
    return float(sum(per_token * t + attention * t * t for t in lengths))


if __name__ == "__main__":
    main()
