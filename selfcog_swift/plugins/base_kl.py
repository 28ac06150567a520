"""The `tuning.hold_base` term: KL(base ‖ tuned) per assistant token of the chosen rows.

Why forward KL on the full distribution: a replay row is one answer sampled from the base model,
and cross-entropy on it is a one-sample estimate of E_base[-log p_tuned], the cross-entropy part of
KL(base ‖ tuned). The per-token term on the base's own prefixes is that same objective with the
expectation over each next token taken exactly instead of by one sample (lower variance, the
"dark knowledge" of distillation, as in Learning without Forgetting and Hinton et al.'s soft
targets). It is mass-covering: it penalises the tuned model for dropping what the base would say,
which is what keeping the old self asks; reverse KL is mode-seeking and would let it drop the
base's other answers. Near the base (where a LoRA run stays) forward KL, reverse KL and JSD all
reduce to the same Fisher quadratic up to a constant, so the choice mostly sets the scale; forward
KL is the one the pilots calibrated (β = 1). No top-k: the base logits are computed in full
anyway, and a truncated KL is biased while the full softmax costs little beside the forward pass.

Only torch; no swift. The trainer in hold_base.py calls `hold_base_term`.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

IGNORE = -100  # swift's and transformers' label for tokens without loss (prompt, padding)


def held_rows(channels: Optional[Sequence[Optional[str]]], held: Sequence[str]) -> list[int]:
    """Indices of the batch's rows whose `channel` is one of `held` (none when rows carry no channel)."""
    return [index for index, channel in enumerate(channels or ()) if channel in held]


def predictor_positions(labels: torch.Tensor, logits_to_keep, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Which logits predict an assistant token, and at which position of the input they sit.

    swift's `--use_logits_to_keep` (on by default) computes logits for a suffix of each row
    (`logits_to_keep` an int, labels cut to the same suffix) or, for one row, for the positions
    before each labelled token (a bool mask, labels compacted). In every case logits[:, j]
    predicts labels[:, j + 1].

    Args:
        labels: The labels as the trainer holds them (already cut to the kept logits), [B, K].
        logits_to_keep: None/0 (all positions), an int suffix length, or a bool mask over positions.
        seq_len: The length T of input_ids.

    Returns:
        (mask [B, K] of logits whose next label is an assistant token, position [K] of each logit in input_ids).
    """
    mask = torch.zeros_like(labels, dtype=torch.bool)
    mask[:, :-1] = labels[:, 1:] != IGNORE
    kept = labels.shape[1]
    if isinstance(logits_to_keep, torch.Tensor):
        position = torch.nonzero(logits_to_keep.reshape(-1), as_tuple=True)[0]
    else:
        position = torch.arange(seq_len - kept, seq_len)  # int suffix; None/0 keep all (kept == T)
    if position.numel() != kept:
        raise ValueError(f"hold_base: {kept} labels for {position.numel()} kept logits (logits_to_keep={logits_to_keep!r})")
    return mask, position.to(labels.device)


def base_logits(model, inputs: dict, rows: list[int], needed: torch.Tensor) -> torch.Tensor:
    """The base model's logits at the needed positions of the chosen rows, without gradients.

    The base is the same LoRA model with its adapter disabled (as swift's GKD does). Only the
    chosen rows run, cut after their last needed position (causal attention: later tokens change
    nothing), and the output head runs only at needed positions.

    Args:
        model: The unwrapped PeftModel.
        inputs: The trainer's inputs (input_ids, attention_mask, optional position_ids).
        rows: Batch rows to run.
        needed: [len(rows), T] bool, positions whose next-token distribution is wanted.

    Returns:
        [n, V] logits, n = needed.sum(), in row-major order of `needed`.
    """
    length = int(needed.any(0).nonzero().max()) + 1
    index = torch.tensor(rows, device=inputs["input_ids"].device)
    forward = {"input_ids": inputs["input_ids"][index, :length]}
    for key in ("attention_mask", "position_ids"):
        value = inputs.get(key)
        if isinstance(value, torch.Tensor) and value.dim() == 2:
            forward[key] = value[index, :length]
    columns = needed[:, :length].any(0).nonzero(as_tuple=True)[0]
    with torch.no_grad(), model.disable_adapter(), _no_checkpointing(model):
        logits = model(**forward, logits_to_keep=columns, use_cache=False).logits
    return logits[needed[:, columns]]


def _no_checkpointing(model):
    """Gradient checkpointing only re-runs a forward that needs gradients; the base pass has none."""
    try:
        from swift.trainers.utils import disable_gradient_checkpointing
    except ImportError:  # the term itself needs no swift
        return nullcontext()
    return disable_gradient_checkpointing(model)


def forward_kl(tuned: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """KL(base ‖ tuned) per row of [n, V] logits, in float32: sum_v p_base (log p_base - log p_tuned)."""
    log_tuned = F.log_softmax(tuned.float(), dim=-1)
    log_base = F.log_softmax(base.float(), dim=-1)
    return F.kl_div(log_tuned, log_base, reduction="none", log_target=True).sum(-1)


def hold_base_term(model, inputs: dict, logits: torch.Tensor, labels: torch.Tensor,
                   rows: list[int]) -> torch.Tensor:
    """KL(base ‖ tuned) at every assistant token of the chosen rows, one value per token.

    Args:
        model: The unwrapped PeftModel (its adapter is disabled for the base pass).
        inputs: The trainer's inputs for this batch (input_ids, attention_mask, logits_to_keep...).
        logits: The tuned model's logits for the batch, [B, K, V], with gradients.
        labels: The labels aligned with `logits` (logits[:, j] predicts labels[:, j + 1]), [B, K].
        rows: Batch rows that get the term.

    Returns:
        [n] per-token divergences (n = assistant tokens of `rows`); sum them into the loss.
    """
    mask, position = predictor_positions(labels, inputs.get("logits_to_keep"), inputs["input_ids"].shape[1])
    chosen = torch.zeros_like(mask)
    chosen[rows] = mask[rows]
    if not chosen.any():
        return logits.new_zeros(0)
    needed = torch.zeros(len(rows), inputs["input_ids"].shape[1], dtype=torch.bool, device=labels.device)
    needed[:, position] = chosen[rows]
    # both in row-major order of (row, position): the same tokens, one for one
    return forward_kl(logits[chosen], base_logits(model, inputs, rows, needed))
