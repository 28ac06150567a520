"""`inference.generate`: prompts batched by length, answers back in the order asked."""

from types import SimpleNamespace

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
