"""swift plugin for `tuning.hold_base`: sft's trainer plus weight · KL(base ‖ tuned) on chosen rows.

Loaded by `swift sft --external_plugins <this file>` (render adds the flag and the two
SELFCOG_HOLD_BASE_* variables). It points swift's causal_lm trainer at `HoldBaseTrainer`, whose
`compute_loss` sees the batch's inputs, the rows' `channel` (written by data.py) included, before
swift pops it. A loss in swift's `loss_map` (`--loss_type`) would not do: it receives the outputs
and labels, not the inputs the base pass needs nor the channels.

The loss is (sum of cross-entropy over assistant tokens + weight · sum of KL over the chosen rows'
assistant tokens) / the batch's assistant tokens: each chosen token carries its own term, with
swift's normalisation (gradient accumulation and --average_tokens_across_devices included).
The term applies in training only; eval_loss stays the cross-entropy, comparable with plain sft.
"""

from __future__ import annotations

import os

from peft import PeftModel

from selfcog_swift.plugins import HOLD_BASE_CHANNELS_ENV, HOLD_BASE_WEIGHT_ENV
from selfcog_swift.plugins.base_kl import IGNORE, held_rows, hold_base_term
from swift.trainers import Seq2SeqTrainer
from swift.trainers.trainer_factory import TrainerFactory

METRIC = "kl_base"  # logged per step: mean KL(base ‖ tuned) per held token


def _settings() -> tuple[float, tuple[str, ...]]:
    try:
        weight = float(os.environ[HOLD_BASE_WEIGHT_ENV])
        channels = tuple(c for c in os.environ[HOLD_BASE_CHANNELS_ENV].split(",") if c)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"hold_base plugin: set {HOLD_BASE_WEIGHT_ENV} (a number) and {HOLD_BASE_CHANNELS_ENV} "
                         f"(channels, comma-separated), as `selfcog-swift render` does: {exc!r}") from None
    if weight <= 0 or not channels:
        raise ValueError(f"hold_base plugin: {HOLD_BASE_WEIGHT_ENV} must be > 0 and {HOLD_BASE_CHANNELS_ENV} non-empty")
    return weight, channels


class HoldBaseTrainer(Seq2SeqTrainer):
    """swift's Seq2SeqTrainer with the hold-base term on the rows whose channel is held."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hold_weight, self.hold_channels = _settings()
        if not isinstance(self.accelerator.unwrap_model(self.model), PeftModel):
            raise ValueError("hold_base needs LoRA: the base is the model with its adapter disabled; full tuning "
                             "would need a second, frozen copy of the model")
        template = self.template
        if template.padding_free or template.packing or template.sequence_parallel_size > 1:
            raise ValueError("hold_base: padding_free, packing and sequence parallelism pack rows together; "
                             "the term needs one row per batch entry")
        if self.args.use_liger_kernel:
            raise ValueError("hold_base: use_liger_kernel returns no logits")

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        rows = held_rows(inputs.get("channel"), self.hold_channels) if model.training else []
        if not rows:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        view = dict(inputs)  # swift pops labels and channel from `inputs`
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        kl = hold_base_term(self.accelerator.unwrap_model(model), view, outputs.logits, view["labels"], rows)
        if kl.numel():
            labels = view["labels"]
            tokens = num_items_in_batch if num_items_in_batch is not None else (labels[:, 1:] != IGNORE).sum()
            term = self.hold_weight * kl.sum() / tokens
            # swift scales the cross-entropy the same way after its own compute_loss
            if (getattr(self.args, "average_tokens_across_devices", False) and self.model_accepts_loss_kwargs
                    and num_items_in_batch is not None):
                term = term * self.accelerator.num_processes
            loss = loss + term.to(loss.device)
            self.custom_metrics["train"][METRIC].update(kl.detach())
        return (loss, outputs) if return_outputs else loss


def install() -> None:
    """Point swift's causal_lm trainer at HoldBaseTrainer (swift looks it up by dotted path)."""
    TrainerFactory.TRAINER_MAPPING["causal_lm"] = f"{__name__}.HoldBaseTrainer"


install()
