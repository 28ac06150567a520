"""train.batches: similar_length — the mix written in batches of rows of similar length, in random
batch order, and swift reading it as written (its own loader and batch sampler, no training)."""

import random
import subprocess
import sys

import pytest

from conftest import ROOT, firsts, make_recipe, out_rows, write_jsonl
from selfcog_swift import data
from selfcog_swift.recipe import Recipe
from selfcog_swift.render import stage_command

BATCH = 8


def words(text: str) -> int:
    return len(text.split())


def _rows(count: int) -> list[dict]:
    rng = random.Random(7)
    return [{"query": f"question {i}", "response": " ".join(["w"] * rng.choice([2, 3, 4, 40, 60, 90]))}
            for i in range(count)]


def _recipe(tmp_path, batches: str, seed: int = 42) -> Recipe:
    path = write_jsonl(tmp_path / "d.jsonl", _rows(203))
    recipe = make_recipe(tmp_path, [{"path": str(path)}], self_cognition=40, seed=seed, val_split=0.05)
    recipe.train.batch_size = BATCH
    recipe.train.batches = batches
    return recipe


def _lengths(path) -> list[int]:
    return [sum(words(m["content"]) for m in row["messages"]) for row in out_rows(path)]


def _padding(lengths: list[int]) -> float:
    batches = [lengths[i:i + BATCH] for i in range(0, len(lengths), BATCH)]
    padded = sum(max(b) * len(b) for b in batches)
    return 1 - sum(lengths) / padded


def test_similar_length_batches_cut_padding_keep_rows_and_validation_and_mix_kinds(tmp_path):
    random_file, sorted_file = tmp_path / "random.jsonl", tmp_path / "similar.jsonl"
    data.mix(_recipe(tmp_path, "random"), random_file, count_tokens=words)
    data.mix(_recipe(tmp_path, "similar_length"), sorted_file, count_tokens=words)
    total = len(out_rows(sorted_file))
    held = data.val_rows(total, 0.05)
    assert (total, held) == (243, 12)
    # The same rows, and the same validation rows at the end (what swift splits off unshuffled).
    assert sorted(firsts(random_file)) == sorted(firsts(sorted_file))
    assert firsts(random_file)[-held:] == firsts(sorted_file)[-held:]
    train = _lengths(sorted_file)[:-held]
    assert _padding(_lengths(random_file)[:-held]) > 0.5
    assert _padding(train) < 0.05
    # Random batch order, not one long sorted run: the batch maxima go up and down many times.
    maxima = [max(train[i:i + BATCH]) for i in range(0, len(train) - BATCH + 1, BATCH)]
    turns = sum((b - a) * (c - b) < 0 for a, b, c in zip(maxima, maxima[1:], maxima[2:]))
    assert turns >= len(maxima) // 4
    # Each batch is a run of the length-sorted rows; the short batch (231 = 28 * 8 + 7 training
    # rows) holds the longest rows and comes last, so it shifts no other batch off its run.
    ranked = sorted(train)
    runs = sorted(tuple(ranked[i:i + BATCH]) for i in range(0, 224, BATCH))
    assert sorted(tuple(sorted(train[i:i + BATCH])) for i in range(0, 224, BATCH)) == runs
    assert sorted(train[224:]) == ranked[224:]


def test_batch_order_follows_the_seed(tmp_path):
    one, two, other = (tmp_path / f"{name}.jsonl" for name in ("one", "two", "other"))
    data.mix(_recipe(tmp_path, "similar_length"), one, count_tokens=words)
    data.mix(_recipe(tmp_path, "similar_length"), two, count_tokens=words)
    data.mix(_recipe(tmp_path, "similar_length", seed=1), other, count_tokens=words)
    assert one.read_bytes() == two.read_bytes()
    assert firsts(one) != firsts(other)


def test_without_a_tokenizer_the_character_estimate_orders_the_rows(tmp_path):
    path = tmp_path / "similar.jsonl"
    data.mix(_recipe(tmp_path, "similar_length"), path)
    assert _padding(_lengths(path)[:-12]) < 0.1
    assert data.token_counter(str(tmp_path)) is None


def test_the_tokenizer_counts_tokens(tiny):
    count = data.token_counter(str(tiny))
    assert count("") == 0
    assert 0 < count("hello") < count("hello hello hello hello")


def test_swift_reads_the_batches_as_written(tmp_path):
    """swift's own loader and batch sampler, with the flags render gives: its validation split is
    our last rows and its training batches are our buckets."""
    from swift.dataloader.shard import BatchSamplerShard
    from swift.dataset import load_dataset

    recipe = _recipe(tmp_path, "similar_length")
    out = tmp_path / "mix.jsonl"
    data.mix(recipe, out, count_tokens=words)
    flags = dict(stage_command(recipe, "sft").args)
    assert flags["dataset_shuffle"] == flags["train_dataloader_shuffle"] == "false"
    train, val = load_dataset([str(out)], split_dataset_ratio=float(flags["split_dataset_ratio"]), shuffle=False,
                              seed=42)
    sampler = BatchSamplerShard(len(train), batch_size=BATCH, shuffle=False, drop_last=False, data_seed=42)
    questions = firsts(out)
    assert [row["messages"][0]["content"] for row in val] == questions[-12:]
    rows = questions[:-12]
    expected = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]
    assert [[train[i]["messages"][0]["content"] for i in batch] for batch in sampler] == expected


def test_render_turns_swift_shuffles_off_only_for_similar_length(tmp_path):
    random_args = dict(stage_command(_recipe(tmp_path, "random"), "sft").args)
    assert "dataset_shuffle" not in random_args and "train_dataloader_shuffle" not in random_args


@pytest.mark.parametrize("extra, message", [
    ("data: {source: swift, self_cognition: 50}\n", "data.source: swift adds the hub's identity rows"),
    ("swift_args: {sft: {group_by_length: true}}\n", "drop swift_args.sft.group_by_length"),
    ("swift_args: {sft: {dataset_shuffle: true}}\n", "drop swift_args.sft.dataset_shuffle"),
])
def test_conflicts_are_one_line_errors_at_the_field(tmp_path, extra, message):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"extends: {ROOT / 'recipes' / 'demo.yaml'}\ntrain: {{batches: similar_length}}\n{extra}",
                      encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "selfcog_swift", "render", str(recipe)], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"error: {recipe}:2: train.batches: similar_length ")
    assert message in result.stderr and "Traceback" not in result.stderr
