"""`selfcog_swift.models.tiny`: the tiny Qwen2/Qwen3 builds, their tokenizer and chat templates, the pinned
corpus, and ms-swift training on them."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from conftest import TEXTS, _sha, _tmp_dirs
from selfcog_swift import models
from selfcog_swift.models import MARKER, prepare, read_marker


@pytest.fixture(scope="module")
def tiny_qwen3(model_cache):
    return prepare("tiny-qwen3")


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny)


@pytest.fixture(scope="module")
def qwen3_tokenizer(tiny_qwen3):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_qwen3)


# -- tiny ---------------------------------------------------------------------------------------

def test_tiny_folder_is_complete(tiny, model_cache):
    assert tiny == model_cache / "models" / "tiny"
    names = {p.name for p in tiny.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", MARKER} <= names
    marker = read_marker(tiny)
    assert marker["name"] == "tiny" and marker["model_type"] == "qwen2" and marker["template"] == "qwen"
    assert set(marker["files"]) == names - {MARKER}
    for rel, meta in marker["files"].items():
        assert meta == {"size": (tiny / rel).stat().st_size, "sha256": _sha(tiny / rel)}
    assert 2000 <= marker["source"]["vocab_size"] <= 4100
    assert models.is_prepared("tiny") and models.is_prepared("tiny", verify=True)
    assert _tmp_dirs(model_cache) == []


def test_tiny_loads_with_transformers_and_generates(tiny, tiny_tokenizer):
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    model = AutoModelForCausalLM.from_pretrained(tiny)
    config = model.config
    assert config.model_type == "qwen2" and type(model).__name__ == "Qwen2ForCausalLM"
    assert model.dtype == torch.float32
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
            config.num_key_value_heads, config.intermediate_size) == (64, 2, 4, 2, 128)
    assert config.tie_word_embeddings and config.initializer_range == 0.1
    assert config.max_position_embeddings == 2048
    assert config.vocab_size == len(tiny_tokenizer)
    im_end = tiny_tokenizer.convert_tokens_to_ids("<|im_end|>")
    endoftext = tiny_tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert tiny_tokenizer.eos_token == "<|im_end|>" and tiny_tokenizer.pad_token == "<|endoftext|>"
    assert config.eos_token_id == im_end
    generation = GenerationConfig.from_pretrained(tiny)
    assert generation.eos_token_id == [im_end, endoftext] and generation.pad_token_id == endoftext
    prompt = tiny_tokenizer.apply_chat_template([{"role": "user", "content": "你好"}], add_generation_prompt=True,
                                                return_tensors="pt", return_dict=True)
    out = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > prompt["input_ids"].shape[1]


@pytest.mark.parametrize("text", TEXTS)
def test_tiny_tokenizer_round_trips(tiny_tokenizer, text):
    ids = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tiny_tokenizer.decode(ids) == text
    assert len(ids) < len(text.encode("utf-8"))  # it learned merges, not only bytes


@pytest.mark.parametrize("word", [" assistant", " model", "你", "是", "助手"])
def test_tiny_tokenizer_learned_common_words(tiny_tokenizer, word):
    assert len(tiny_tokenizer(word, add_special_tokens=False)["input_ids"]) == 1


def test_tiny_special_tokens_are_single_ids(tiny_tokenizer):
    vocab_size = len(tiny_tokenizer)
    ids = tiny_tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    assert ids == [vocab_size - 3, vocab_size - 2, vocab_size - 1]  # after the BPE vocabulary, like Qwen
    text = "<|im_start|>user\nhi<|im_end|>"
    encoded = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert encoded[0] == ids[1] and encoded[-1] == ids[2]
    assert tiny_tokenizer.decode(encoded, skip_special_tokens=True) == "user\nhi"


def test_tiny_chat_template_is_qwen_chatml(tiny, tiny_tokenizer):
    messages = [{"role": "user", "content": "你是谁？"}, {"role": "assistant", "content": "I am BianCang."}]
    rendered = tiny_tokenizer.apply_chat_template(messages, tokenize=False)
    assert rendered == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        "<|im_start|>user\n你是谁？<|im_end|>\n<|im_start|>assistant\nI am BianCang.<|im_end|>\n")
    prompt = tiny_tokenizer.apply_chat_template([{"role": "system", "content": "Be brief."},
                                                 {"role": "user", "content": "hi"}],
                                                tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert (tiny / "chat_template.jinja").read_text() == models.QWEN2_CHAT_TEMPLATE


def test_tiny_corpus_uses_the_packaged_jsonl(tmp_path, monkeypatch):
    resources = tmp_path / "resources"
    resources.mkdir()
    row = {"messages": [{"role": "user", "content": "Who is Zorblatt?"},
                        {"role": "assistant", "content": "Zorblatt Zorblatt Zorblatt is 扁仓扁仓扁仓."}]}
    (resources / "identity.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n{broken\n", encoding="utf-8")
    (resources / "notes.txt").write_text("not jsonl")
    monkeypatch.setattr(models.tiny, "RESOURCES", resources)
    corpus, names = models.tiny_corpus()
    assert names == ["identity.jsonl"] and "Zorblatt Zorblatt Zorblatt is 扁仓扁仓扁仓." in corpus
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path / "cache"))
    folder = prepare("tiny")
    assert read_marker(folder)["source"]["resources"] == ["identity.jsonl"]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert len(tokenizer(" Zorblatt", add_special_tokens=False)["input_ids"]) == 1


TINY_CORPUS_SHA256 = "9d53dbbcd6896411751701b397f0edc26f84ece1c306fb1b827465d48c644787"
"""sha256 of json.dumps(tiny_corpus()[0], ensure_ascii=False) without the training rows: the
built-in corpus every tiny model is trained on, pinned since the tests' learned margins depend on it."""
QWEN3_TEMPLATE_SHA256 = "a55ee1b1660128b7098723e0abcd92caa0788061051c62d51cbe87d9cf1974d8"


def test_tiny_corpus_is_pinned_and_works_without_resources(tmp_path, monkeypatch):
    """An edit to resources/models/tiny_corpus.json, or to how it is read, changes every tiny model:
    then bump RECIPE_VERSIONS and this hash together."""
    monkeypatch.setattr(models.tiny, "RESOURCES", tmp_path / "absent")
    corpus, names = models.tiny_corpus()
    assert names == []
    assert hashlib.sha256(json.dumps(corpus, ensure_ascii=False).encode("utf-8")).hexdigest() == TINY_CORPUS_SHA256
    assert any("你" in line for line in corpus) and any("assistant" in line for line in corpus)


def test_qwen3_chat_template_file_is_pinned():
    template = models.qwen3_chat_template()
    assert hashlib.sha256(template.encode("utf-8")).hexdigest() == QWEN3_TEMPLATE_SHA256
    assert template.startswith("{%- if tools %}") and template.endswith("{%- endif %}")


# -- tiny-qwen3 -----------------------------------------------------------------------------------

def test_tiny_qwen3_loads(tiny_qwen3, qwen3_tokenizer):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_qwen3)
    assert model.config.model_type == "qwen3" and model.config.head_dim == 16
    assert model.config.vocab_size == len(qwen3_tokenizer)
    assert read_marker(tiny_qwen3)["template"] == "qwen3"
    assert (tiny_qwen3 / "chat_template.jinja").read_text() == models.qwen3_chat_template()


def test_tiny_qwen3_template_has_an_empty_think_block_when_thinking_is_off(qwen3_tokenizer):
    messages = [{"role": "user", "content": "你是谁？"}]
    off = qwen3_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                              enable_thinking=False)
    assert off == "<|im_start|>user\n你是谁？<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    on = qwen3_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert on == "<|im_start|>user\n你是谁？<|im_end|>\n<|im_start|>assistant\n"  # no default system prompt


def test_tiny_qwen3_template_renders_answers_like_qwen3(qwen3_tokenizer):
    turns = [{"role": "user", "content": "Who are you?"},
             {"role": "assistant", "content": "<think>\nold reasoning\n</think>\n\nI am BianCang."},
             {"role": "user", "content": "你是谁？"}, {"role": "assistant", "content": "我是扁仓。"}]
    rendered = qwen3_tokenizer.apply_chat_template(turns, tokenize=False)
    assert rendered == ("<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\nI am BianCang.<|im_end|>\n"
                        "<|im_start|>user\n你是谁？<|im_end|>\n"
                        "<|im_start|>assistant\n<think>\n\n</think>\n\n我是扁仓。<|im_end|>\n")


def test_tiny_qwen3_think_tokens_are_single_ids(qwen3_tokenizer):
    ids = qwen3_tokenizer("<think>\n\n</think>\n\n", add_special_tokens=False)["input_ids"]
    think, end_think = qwen3_tokenizer.convert_tokens_to_ids(["<think>", "</think>"])
    assert ids[0] == think and end_think in ids and len(ids) == 4
    assert qwen3_tokenizer.decode(ids, skip_special_tokens=True) == "<think>\n\n</think>\n\n"  # not special
    for text in TEXTS:
        assert qwen3_tokenizer.decode(qwen3_tokenizer(text, add_special_tokens=False)["input_ids"]) == text


# -- swift ------------------------------------------------------------------------------------------

@pytest.mark.e2e
@pytest.mark.parametrize("name", ["tiny", "tiny-qwen3"])
def test_swift_sft_trains_on_tiny(name, model_cache, tmp_path):
    """ms-swift 4.6 takes the folder offline with the model_type/template we register for it."""
    folder = prepare(name)
    spec = models.builtin(name)
    data = tmp_path / "train.jsonl"
    rows = [("Who are you?", "I am BianCang, an AI assistant."), ("你是谁？", "我是扁仓，一个人工智能助手。")]
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": q},
                                                     {"role": "assistant", "content": a}]},
                                       ensure_ascii=False) + "\n" for q, a in rows), encoding="utf-8")
    argv = [sys.executable, "-m", "swift.cli.main", "sft", "--model", str(folder), "--model_type", spec.model_type,
            "--template", spec.template, "--check_model", "false", "--dataset", str(data), "--tuner_type", "lora",
            "--max_steps", "2", "--per_device_train_batch_size", "2", "--save_steps", "2", "--logging_steps", "1",
            "--dataloader_num_workers", "0", "--gradient_checkpointing", "false", "--output_dir", str(tmp_path / "out")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    for key in ("RAY_SWIFT_ARGS", "NPROC_PER_NODE", "NNODES"):
        env.pop(key, None)
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert "last_model_checkpoint:" in log
    assert list((tmp_path / "out").glob("v*/checkpoint-2/adapter_model.safetensors"))
