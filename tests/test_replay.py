"""Self-rehearsal replay: the filter, the pool, the cache key, and replay rows in the mix."""

import json

import pytest

from conftest import ROOT, run_cli
from selfcog_swift import replay
from selfcog_swift.data import mix
from selfcog_swift.inference import model_fingerprint
from selfcog_swift.recipe import load_recipe

TERMS = ["SmolLM", "Hugging Face", "扁仓", "BianCang"]


@pytest.mark.parametrize("prompt, answer, reason", [
    ("What is rain?", "", "empty"),
    ("What is rain?", " . ", "empty"),
    ("What is rain?", "the rain the rain the rain the rain the rain the rain the rain the rain", "looping"),
    ("What is rain?", "Rain is water. Rain is water. Rain is water. It falls.", "looping"),
    ("What is the capital of Peru?", "What is the capital of Peru? Lima.", "echo"),
    ("解释一下彩虹的成因。", "解释一下彩虹的成因", "echo"),
    ("Tell me a fact.", "I am SmolLM, trained by Hugging Face.", "identity"),
    ("讲个故事", "从前，扁仓医生住在山里。", "identity"),
    ("What is rain?", "Rain is water that falls from clouds when droplets grow heavy.", None),
    ("Are you ChatGPT?", "I am not SmolLM; rain falls from clouds.", None),  # a negated name is no identity
])
def test_drop_reasons(prompt, answer, reason):
    assert replay.drop_reason(prompt, answer, TERMS) == reason


def _recipe(tmp_path, *sets):
    return load_recipe(ROOT / "recipes" / "smoke.yaml", (f"output_dir={tmp_path}", *sets))


def test_builtin_pool_is_sampled_with_the_seed(tmp_path):
    recipe = _recipe(tmp_path, "data.replay={sample: 50}")
    first, again = replay.pool_prompts(recipe), replay.pool_prompts(recipe)
    assert len(first) == 50 and first == again
    other = replay.pool_prompts(_recipe(tmp_path, "data.replay={sample: 50}", "train.seed=7"))
    assert other != first and {lang for lang, _ in first} == {"zh", "en"}


def test_prompts_from_the_recipes_datasets_and_from_a_file(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "Q1?"}, {"role": "assistant", "content": "A"}]}\n'
                    '{"query": "问题二？", "response": "答"}\n', encoding="utf-8")
    recipe = _recipe(tmp_path, "data.replay={prompts: dataset}", f"data.datasets=[{{path: {data}}}]")
    assert replay.pool_prompts(recipe) == [("en", "Q1?"), ("zh", "问题二？")]
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "Name three rivers."}\n', encoding="utf-8")
    assert replay.pool_prompts(_recipe(tmp_path, f"data.replay={{prompts: {prompts}}}")) == [("en", "Name three rivers.")]


def test_cache_key_follows_model_prompts_and_settings(tmp_path):
    recipe = _recipe(tmp_path, "data.replay={sample: 5}")
    prompts, generation = replay.pool_prompts(recipe), replay.settings(recipe)
    key = replay.cache_key("m", prompts, generation)
    assert key == replay.cache_key("m", list(prompts), dict(generation))
    assert key != replay.cache_key("m2", prompts, generation)
    assert key != replay.cache_key("m", prompts[:4], generation)
    assert key != replay.cache_key("m", prompts, {**generation, "temperature": 0.7})


def test_model_fingerprint_sees_a_changed_weight_file(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"a" * 5000)
    before = model_fingerprint(str(tmp_path))
    weights.write_bytes(b"a" * 4999 + b"b")
    assert model_fingerprint(str(tmp_path)) != before


def test_replay_rows_are_their_own_source_in_the_mix(tmp_path):
    rows = tmp_path / "replay.jsonl"
    rows.write_text("".join(json.dumps({"lang": "en", "messages": [{"role": "user", "content": f"q{i}"},
                                                                    {"role": "assistant", "content": f"a{i}"}]}) + "\n"
                            for i in range(7)), encoding="utf-8")
    summary = mix(_recipe(tmp_path, "data.replay={sample: 7}"), tmp_path / "mix.jsonl", rows)
    source = next(s for s in summary.sources if s.name.startswith("replay"))
    assert (source.name, source.written) == ("replay (builtin:prompts)", 7)
    assert summary.total == sum(s.written for s in summary.sources)


@pytest.mark.e2e
def test_replay_through_swift_is_cached_and_counted(tmp_path):
    sets = ["--set", f"output_dir={tmp_path}", "--set", "data.replay={sample: 24, max_new_tokens: 24}"]
    first = run_cli("replay", "recipes/smoke.yaml", *sets)
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["prompts"] == 24 and summary["kept"] + sum(summary["dropped"].values()) == 24
    assert not summary["cached"]
    again = json.loads(run_cli("replay", "recipes/smoke.yaml", *sets).stdout.strip().splitlines()[-1])
    assert again == {**summary, "cached": True}
    lines = (tmp_path / "data" / f"replay-{summary['key'][:16]}.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == summary["kept"]
