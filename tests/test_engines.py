"""Evaluation over worker processes (engines.py): the same answers and scores as one engine in this
process, results in the order asked, and a worker's failure as a one-line error."""

import pytest

from selfcog_swift import engines
from selfcog_swift.engines import Engines
from selfcog_swift.errors import SelfcogError


def test_batches_are_dealt_out_whole_and_in_turn():
    sizes = [30, 1, 25, 3, 40, 2, 35, 4, 20]
    shares = engines._deal(sizes, 2, 2)
    assert sorted(i for share in shares for i in share) == list(range(len(sizes)))
    # Sorted by size, batches of 2: (1, 2) (3, 4) (20, 25) (30, 35) (40); dealt to worker 0, 1, 0, 1, 0.
    assert [[sizes[i] for i in share] for share in shares] == [[1, 2, 20, 25, 40], [3, 4, 30, 35]]


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_worker_count_is_a_one_line_error(monkeypatch, value):
    monkeypatch.setenv(engines.WORKERS_ENV, value)
    with pytest.raises(SelfcogError, match=rf"^SELFCOG_EVAL_WORKERS='{value}': expected a whole number >= 1$"):
        engines.worker_count(["--model", "x"])


def test_small_models_stay_in_this_process(tmp_path, monkeypatch):
    monkeypatch.delenv(engines.WORKERS_ENV, raising=False)
    (tmp_path / "model.safetensors").write_bytes(b"0" * 1024)
    assert engines.worker_count(["--model", str(tmp_path)]) == 1
    monkeypatch.setenv(engines.WORKERS_ENV, "2")
    assert engines.worker_count(["--model", str(tmp_path)]) == 2


def test_large_models_use_workers_for_large_jobs_only(tmp_path, monkeypatch):
    import torch

    monkeypatch.delenv(engines.WORKERS_ENV, raising=False)
    with (tmp_path / "model.safetensors").open("wb") as handle:  # sparse: the size is what counts
        handle.truncate(engines.MIN_WEIGHT_BYTES)
    argv = ["--model", str(tmp_path)]
    assert engines.worker_count(argv, work=engines.MIN_WORK - 1) == 1
    expected = 1 if torch.cuda.is_available() else min(engines.MAX_WORKERS, torch.get_num_threads())
    assert engines.worker_count(argv, work=engines.MIN_WORK) == expected
    assert engines.worker_count(argv) == expected


@pytest.mark.e2e
def test_two_workers_give_what_one_engine_gives(tiny):
    argv = ["--model", str(tiny), "--model_type", "qwen2", "--template", "qwen"]
    prompts = [[{"role": "user", "content": q}] for q in
               ["你是谁？", "Who are you?", "2+2?", "Name a colour.", "你好", "What is the capital of France?",
                "讲个笑话", "Why is the sky blue?", "1+1?", "Tell me about the sea."]]
    items = [(p, "I am an assistant, here to help.") for p in prompts]
    texts = ["The quick brown fox jumps over the lazy dog. " * 40, "天下大势，分久必合，合久必分。" * 20]
    results = []
    for workers in (1, 2):
        ticks = []
        with Engines(argv, workers=workers) as pool:
            answers = pool.generate(prompts, 12, progress=ticks.append)
            nll = pool.answer_nll(items)
            windows = pool.text_windows(texts)
            text = pool.text_nll(windows)
        assert sum(ticks) == len(prompts)
        results.append((answers, nll, windows, text))
    (one, two) = results
    # Greedy answers of one model; one and two threads may round differently, rarely enough to flip a token.
    assert sum(a == b for a, b in zip(one[0], two[0])) >= 0.8 * len(prompts)
    assert two[1] == pytest.approx(one[1], rel=1e-3)
    assert two[2] == one[2] and len(one[2]) > 2
    assert two[3].tokens == one[3].tokens and two[3].total == pytest.approx(one[3].total, rel=1e-3)


@pytest.mark.e2e
def test_a_worker_that_cannot_load_is_a_one_line_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SelfcogError, match=r"^evaluation worker \d: ") as caught:
        Engines(["--model", str(tmp_path), "--model_type", "qwen2", "--template", "qwen"], workers=2)
    assert "\n" not in str(caught.value)
