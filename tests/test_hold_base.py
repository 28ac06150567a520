"""tuning.hold_base: KL(base ‖ tuned) on the assistant tokens of the chosen rows only.

The per-row test checks the term against a reference computed here with plain torch: the base
logits from a second, untouched copy of the tiny model (not the adapter switched off), the KL and
its gradient written out by formula.
"""

import json
from pathlib import Path

import pytest

from conftest import make_recipe, out_rows, run_cli, write_jsonl
from selfcog_swift import plugins
from selfcog_swift.recipe import HoldBase, load_recipe
from selfcog_swift.render import stage_command

WEIGHT = 0.7
ROWS = [  # (channel, prompt, answer): different lengths, so padding and the logits suffix both matter
    ("identity", "Who are you?", "I am BianCang, made by the QLU-NLP group."),
    ("replay", "What is the capital of France? Answer briefly please.", "Paris is the capital of France."),
    ("identity", "你是谁？", "我是扁仓。"),
    ("replay", "Name a colour.", "Blue, like the sky on a clear summer day."),
]


@pytest.fixture(scope="module")
def models(tiny):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    base = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32).eval()
    tuned = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32),
                           LoraConfig(r=4, lora_alpha=16, target_modules="all-linear")).eval()
    # Random LoRA B (not the zero init): the tuned model is far from the base (KL ~0.4 a token), so
    # the term and its gradient are large and the test can fail.
    for name, param in tuned.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.1)
    return tokenizer, base, tuned


def _batch(tokenizer):
    """Right-padded input_ids, attention_mask and labels (-100 on prompt and padding), as swift collates."""
    import torch

    rows = []
    for _, prompt, answer in ROWS:
        p = tokenizer(prompt, add_special_tokens=False).input_ids
        a = tokenizer(answer, add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
        rows.append((p + a, [-100] * len(p) + a))
    width = max(len(ids) for ids, _ in rows)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([i + [pad] * (width - len(i)) for i, _ in rows])
    mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in rows])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])
    return ids, mask, labels


def _suffix(labels):
    """swift's logits_to_keep for a batch: from the earliest labelled position on (trainers/mixin.py)."""
    return labels.shape[1] - int((labels != -100).int().argmax(-1).min()) + 1


@pytest.mark.parametrize("keep", ["all", "suffix"])
def test_term_is_per_row(models, keep):
    import torch
    import torch.nn.functional as F

    from selfcog_swift.plugins.base_kl import held_rows, hold_base_term

    tokenizer, base, tuned = models
    ids, mask, full_labels = _batch(tokenizer)
    kept = _suffix(full_labels) if keep == "suffix" else ids.shape[1]
    labels = full_labels[:, -kept:]
    inputs = {"input_ids": ids, "attention_mask": mask, "labels": labels, "logits_to_keep": kept if keep == "suffix" else 0}
    rows = held_rows([c for c, _, _ in ROWS], ("replay",))
    assert rows == [1, 3]

    logits = tuned(input_ids=ids, attention_mask=mask, logits_to_keep=inputs["logits_to_keep"]).logits
    assert logits.shape[1] == kept
    targets = labels[:, 1:]
    tokens = (targets != -100).sum()
    ce = F.cross_entropy(logits[:, :-1].transpose(1, 2), targets, ignore_index=-100, reduction="sum")
    kl = hold_base_term(tuned, inputs, logits, labels, rows)
    loss = (ce + WEIGHT * kl.sum()) / tokens
    grad_total, = torch.autograd.grad(loss, logits, retain_graph=True)
    grad_ce, = torch.autograd.grad(ce / tokens, logits, retain_graph=True)

    # Reference: the untouched base model, KL(base ‖ tuned) and d/dz = softmax(z) - p_base by formula.
    with torch.no_grad():
        p_base = base(input_ids=ids, attention_mask=mask).logits[:, -kept:].softmax(-1)
    p_tuned = logits.detach().softmax(-1)
    scored = torch.zeros_like(labels, dtype=torch.bool)
    scored[:, :-1] = targets != -100
    expected = WEIGHT / tokens * (p_tuned - p_base) * scored.unsqueeze(-1)
    ref_kl = (p_base * (p_base.log() - p_tuned.log())).sum(-1)

    for row, (channel, _, _) in enumerate(ROWS):
        extra = grad_total[row] - grad_ce[row]
        if channel == "identity":
            assert torch.equal(grad_total[row], grad_ce[row]), f"row {row}: identity rows get the cross-entropy alone"
        else:
            # L1: the term moves the row's gradient by 2 total-variation distances a token, w/N each
            assert extra.abs().sum() > 0.05 * grad_ce[row].abs().sum(), (extra.abs().sum(), grad_ce[row].abs().sum())
            torch.testing.assert_close(extra, expected[row], rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(kl, ref_kl[rows][scored[rows]], rtol=1e-4, atol=1e-6)
    assert kl.mean() > 0.05  # random LoRA: far from the base

    # Through the weights too: the base pass (adapter off, no grad) adds no gradient of its own.
    params = [p for p in tuned.parameters() if p.requires_grad]
    ours = torch.autograd.grad(loss, params, retain_graph=True)
    log_tuned = logits.log_softmax(-1)
    ref_term = (p_base * (p_base.log() - log_tuned)).sum(-1)[rows][scored[rows]].sum()
    reference = torch.autograd.grad((ce + WEIGHT * ref_term) / tokens, params)
    for got, want in zip(ours, reference):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)


def test_one_row_batch_with_swifts_position_mask(models):
    """batch size 1: swift keeps the logits before each labelled token (a bool mask) and compacts the labels."""
    import torch
    import torch.nn.functional as F

    from selfcog_swift.plugins.base_kl import hold_base_term

    tokenizer, base, tuned = models
    ids, mask, full = _batch(tokenizer)
    ids, mask, full = ids[1:2, : int(mask[1].sum())], mask[1:2, : int(mask[1].sum())], full[1:2, : int(mask[1].sum())]
    scored = (full != -100)[0]
    labels = F.pad(full[:, scored], (1, 0), value=-100)  # trainers/mixin.py prepare_logits_to_keep
    keep = F.pad(scored[1:], (0, 1), value=True)
    inputs = {"input_ids": ids, "attention_mask": mask, "logits_to_keep": keep}
    logits = tuned(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits
    kl = hold_base_term(tuned, inputs, logits, labels, [0])
    with torch.no_grad():
        p_base = base(input_ids=ids).logits[0, keep][:-1].softmax(-1)
    p_tuned = logits[0, :-1].detach().softmax(-1)
    assert kl.shape[0] == int(scored.sum())
    torch.testing.assert_close(kl, (p_base * (p_base.log() - p_tuned.log())).sum(-1), rtol=1e-4, atol=1e-6)


def test_rows_without_channels_get_nothing():
    from selfcog_swift.plugins.base_kl import held_rows

    assert held_rows(None, ("replay",)) == []
    assert held_rows([None, "identity", "general", "replay"], ("replay",)) == [3]
    assert held_rows(["general", "identity", "replay"], plugins.HELD_CHANNELS["general"]) == [0, 2]


def test_mix_marks_each_row_with_its_source_only_when_on(tmp_path):
    from selfcog_swift.data import mix

    general = write_jsonl(tmp_path / "general.jsonl", [{"query": f"q{i}", "response": f"a{i}"} for i in range(4)])
    recipe = make_recipe(tmp_path, datasets=[{"path": str(general)}], self_cognition=6)
    mix(recipe, tmp_path / "plain.jsonl")
    assert all(set(row) == {"messages"} for row in out_rows(tmp_path / "plain.jsonl"))
    recipe.tuning.hold_base = HoldBase(weight=1, rows="general")
    mix(recipe, tmp_path / "marked.jsonl")
    marked = out_rows(tmp_path / "marked.jsonl")
    assert sorted(row["channel"] for row in marked) == ["general"] * 4 + ["identity"] * 6
    assert all(row["channel"] == "general" for row in marked if row["messages"][0]["content"].startswith("q"))
    # the same rows in the same order: only the marks differ
    assert [r["messages"] for r in marked] == [r["messages"] for r in out_rows(tmp_path / "plain.jsonl")]


def test_render_adds_the_packaged_plugin_and_its_settings():
    recipe = load_recipe("recipes/demo.yaml", ("tuning.hold_base={weight: 0.5}",))
    command = stage_command(recipe, "sft")
    args, env = dict(command.args), dict(command.env)
    assert args["external_plugins"] == [str(plugins.HOLD_BASE_PLUGIN)] and plugins.HOLD_BASE_PLUGIN.is_file()
    assert env[plugins.HOLD_BASE_WEIGHT_ENV] == "0.5" and env[plugins.HOLD_BASE_CHANNELS_ENV] == "replay"
    plain = stage_command(load_recipe("recipes/demo.yaml"), "sft")
    assert "external_plugins" not in dict(plain.args) and plugins.HOLD_BASE_WEIGHT_ENV not in dict(plain.env)


@pytest.mark.parametrize("sets, fault", [
    (("tuning.method=full",), "needs tuning.method: lora"),
    (("swift_args.sft.packing=true",), "swift_args.sft.packing"),
    (("swift_args.sft.padding_free=true",), "swift_args.sft.padding_free"),
    (("swift_args.sft.use_liger_kernel=true",), "swift_args.sft.use_liger_kernel"),
    (("data.replay=null",), "no such rows"),
])
def test_recipe_refuses_what_the_term_cannot_do(sets, fault):
    result = run_cli("validate", "recipes/demo.yaml", "--set", "tuning.hold_base={weight: 0.5}",
                     *[t for s in sets for t in ("--set", s)])
    assert result.returncode == 2 and fault in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.mark.e2e
def test_smoke_trains_with_the_term_and_runs_what_render_prints(tmp_path):
    out = tmp_path / "hold"
    sets = [f"output_dir={out}", "tuning.hold_base={weight: 1, rows: general}", "train.max_steps=60",
            "train.save_steps=30", "train.eval_steps=30", "evaluate.checkpoint_choice=eval_loss",
            "evaluate.min_identity_rate=0"]
    flags = [t for s in sets for t in ("--set", s)]
    result = run_cli("run", "recipes/smoke.yaml", *flags)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    manifest = json.loads(next(out.glob("v*-*/manifest.json")).read_text())
    rendered = json.loads(run_cli("render", "recipes/smoke.yaml", "--format", "json", *flags).stdout)["sft"]
    ran = next(s["argv"] for s in manifest["stages"] if s["name"] == "sft")
    assert ran == rendered["argv"][2:] and "--external_plugins" in ran
    run_dir = Path(manifest["run_dir"])
    mixed = out_rows(Path(out) / "data" / "mix.jsonl")
    assert {row["channel"] for row in mixed} == {"identity", "general"}
    # the trainer saw the channels and added the term: its KL is logged, and grows from ~0 as the
    # adapter moves away from the base
    logs = [json.loads(line) for line in (run_dir / "logging.jsonl").read_text().splitlines()]
    kls = [entry["kl_base"] for entry in logs if "kl_base" in entry]
    assert len(kls) >= 3 and max(kls) > 1e-3, kls
    assert rendered["env"][plugins.HOLD_BASE_WEIGHT_ENV] == "1"
