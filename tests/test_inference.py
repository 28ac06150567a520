"""Batching in inference and retention: prompts grouped by length with answers back in the order asked,
and NLL scored in padded batches equal to one sequence at a time."""

from types import SimpleNamespace

import pytest

import selfcog_swift.inference as inference


class EchoEngine:
    """Answers each request with its own question; records the batches it was given."""

    def __init__(self):
        self.batches = []

    def infer(self, requests, request_config=None, use_tqdm=False):
        self.batches.append([r.messages[-1]["content"] for r in requests])
        message = lambda text: SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text))])  # noqa: E731
        return [message(r.messages[-1]["content"]) for r in requests]


def test_answers_come_back_in_the_order_asked_and_batches_group_similar_lengths(monkeypatch):
    monkeypatch.setattr(inference, "BATCH_SIZE", 4)
    questions = ["x" * n for n in (30, 1, 25, 3, 40, 2, 35, 4, 20)]
    engine = EchoEngine()
    answers = inference.generate(SimpleNamespace(infer_engine=engine), [[{"role": "user", "content": q}]
                                                                          for q in questions], 8)
    assert answers == questions
    assert [len(b) for b in engine.batches] == [4, 4, 1]
    assert sorted(len(q) for q in engine.batches[0]) == [1, 2, 3, 4]  # the four shortest together
    seen = [len(q) for batch in engine.batches for q in batch]
    assert seen == sorted(seen)


def test_one_by_one_when_not_batched():
    engine = EchoEngine()
    inference.generate(SimpleNamespace(infer_engine=engine), [[{"role": "user", "content": q}] for q in "abc"], 8,
                       batch=False)
    assert [len(b) for b in engine.batches] == [1, 1, 1]


@pytest.mark.e2e
def test_batched_nll_equals_one_sequence_at_a_time(monkeypatch):
    """Padding on the right never changes a causal model's scores of the real tokens."""
    from selfcog_swift import retention
    from selfcog_swift.inference import load_engine
    from selfcog_swift.models import prepare

    pipeline = load_engine(["--model", str(prepare("tiny")), "--model_type", "qwen2", "--template", "qwen"])
    items = [([{"role": "user", "content": q}], a) for q, a in
             [("Who are you?", "I am an assistant."), ("你是谁？", "我是一个人工智能助手，很高兴为你服务。"),
              ("2+2?", "4"), ("Name a colour.", "Blue, like the sky on a clear summer day.")]]
    windows = retention.text_windows(pipeline.template.tokenizer, retention.real_text("en"))[:6]
    batched = retention.answer_nll(pipeline, items), retention.text_nll(pipeline, windows)
    monkeypatch.setattr(retention, "NLL_BATCH", 1)
    single = retention.answer_nll(pipeline, items), retention.text_nll(pipeline, windows)
    assert batched[0] == pytest.approx(single[0], rel=1e-4)
    assert batched[1].tokens == single[1].tokens and batched[1].total == pytest.approx(single[1].total, rel=1e-4)
    assert len(set(round(v, 3) for v in batched[0])) == len(items)  # each row scored on its own
