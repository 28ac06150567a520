"""`builtin:tiny` and `builtin:tiny-qwen3`: tiny random Qwen2/Qwen3 models with their own
byte-level BPE, trained on a fixed corpus plus the packaged training rows. Deterministic: the
same corpus and seed give byte-identical folders, which the tests' learned margins rely on.

The corpus and Qwen3's chat template are data files in resources/models/, read at build time."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

from .. import RESOURCES
from ..errors import SelfcogError
from .folder import check_folder, import_ml, save_tokenizer

MODEL_DATA = RESOURCES / "models"
"""The built-in corpus and the Qwen3 template. Bound here so that tests pointing RESOURCES (the
training rows) elsewhere keep them."""
TINY_CORPUS_FILE = "tiny_corpus.json"
QWEN3_TEMPLATE_FILE = "qwen3_chat_template.jinja"

TRAINING_RESOURCES = ("general.jsonl", "identity.jsonl")
"""RESOURCES' identity and general rows join the tokenizers' training text when present; the
held-out probe suites never shape the tokenizer."""
TINY_RESOURCE_LIMIT = 2 << 20  # bytes of text taken from each resources/*.jsonl

QWEN2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""Qwen2-Instruct's ChatML template (default system "You are a helpful assistant.")."""

QWEN_PRETOKENIZE_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                          r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
QWEN3_EXTRA_TOKENS = ("<tool_call>", "</tool_call>", "<think>", "</think>")
TINY_VOCAB_SIZE = 3000
TINY_MAX_TOKEN_CHARS = 12
"""In byte-level characters: 4 CJK characters or 12 Latin ones, so whole sentences of the small
corpus do not become tokens."""
TINY_CONTEXT = 2048  # max_position_embeddings and the tokenizer's model_max_length
TINY_SEED = 20240601


def _packaged(name: str) -> Path:
    path = MODEL_DATA / name
    if not path.is_file():
        raise SelfcogError(f"{path} is missing from the selfcog-swift package; reinstall it")
    return path


def qwen3_chat_template() -> str:
    r"""Qwen3's official template: `enable_thinking=False` adds the empty `<think>\n\n</think>\n\n` block."""
    # The file ends with a newline like any text file; the template itself ends at its last tag.
    return _packaged(QWEN3_TEMPLATE_FILE).read_text(encoding="utf-8").removesuffix("\n")


def _resource_texts() -> tuple[list[str], list[str]]:
    """Strings from the training resources (sorted; each file capped), and the file names."""
    texts: list[str] = []
    names: list[str] = []
    for path in sorted(RESOURCES / name for name in TRAINING_RESOURCES):
        try:
            raw = path.read_bytes()[:TINY_RESOURCE_LIMIT].decode("utf-8", errors="ignore")
        except OSError:
            continue
        names.append(path.name)
        for line in raw.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            texts.extend(_strings(row))
    return texts, names


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.strip():
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def tiny_corpus() -> tuple[list[str], list[str]]:
    """The deterministic text the tiny tokenizers are trained on, and the resource files it used.

    Sentences, then multi-line documents (so newlines, blank lines and indentation get their own
    merges as in Qwen's vocab), then common Chinese characters one per line (so most become single
    tokens), then common words bare and with a leading space, then the training rows."""
    fixed = json.loads(_packaged(TINY_CORPUS_FILE).read_text(encoding="utf-8"))
    words = fixed["words"] + [" " + word for word in fixed["words"]]
    texts, names = _resource_texts()
    return fixed["sentences"] + fixed["documents"] + list(fixed["characters"]) + words + texts, names


def _train_qwen_tokenizer(corpus: list[str], extra_tokens: tuple[str, ...] = ()) -> Any:
    """A byte-level BPE with Qwen2's pre-tokenizer, wrapped as a transformers Qwen2Tokenizer."""
    try:
        from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    except ImportError as exc:
        raise SelfcogError(f"building the tiny models needs the tokenizers package: {exc}") from exc
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    # min_frequency 1 reaches a realistic vocabulary on a small corpus.
    trainer = trainers.BpeTrainer(vocab_size=TINY_VOCAB_SIZE, min_frequency=1,
                                  max_token_length=TINY_MAX_TOKEN_CHARS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    bpe.train_from_iterator(corpus, trainer=trainer, length=len(corpus))
    trained = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    endoftext, im_start, im_end = QWEN_SPECIAL_TOKENS
    tokenizer = Qwen2Tokenizer(vocab=trained["vocab"], merges=merges, unk_token=None, bos_token=None,
                               eos_token=endoftext, pad_token=endoftext, clean_up_tokenization_spaces=False,
                               model_max_length=TINY_CONTEXT)
    # Qwen's ids: the BPE vocabulary first, then <|endoftext|>, <|im_start|>, <|im_end|>.
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in (im_start, im_end)],
                         special_tokens=True)
    if extra_tokens:  # Qwen3 keeps <think> & co. as added, non-special tokens
        tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in extra_tokens])
    tokenizer.eos_token = im_end
    tokenizer.pad_token = endoftext
    ids = tokenizer.convert_tokens_to_ids(list(QWEN_SPECIAL_TOKENS) + list(extra_tokens))
    if len(set(ids)) != len(ids) or any(i is None or i == tokenizer.unk_token_id for i in ids):
        raise SelfcogError(f"tiny tokenizer special tokens got bad ids {ids}")
    return tokenizer


def build_tiny_qwen(out: Path, qwen3: bool) -> dict:
    """A tiny random Qwen2/Qwen3 with its own tokenizer; deterministic for a given corpus."""
    torch = import_ml()
    from transformers import AutoModelForCausalLM, GenerationConfig, Qwen2Config, Qwen3Config

    corpus, resources = tiny_corpus()
    tokenizer = _train_qwen_tokenizer(corpus, QWEN3_EXTRA_TOKENS if qwen3 else ())
    tokenizer.chat_template = qwen3_chat_template() if qwen3 else QWEN2_CHAT_TEMPLATE
    endoftext, im_end = (tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>"))
    common = dict(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=TINY_CONTEXT,
        max_window_layers=2, use_sliding_window=False, tie_word_embeddings=True,
        # 0.1 instead of 0.02: with a frozen tied embedding/head, LoRA can still move the logits.
        initializer_range=0.1, rms_norm_eps=1e-6, bos_token_id=endoftext, eos_token_id=im_end,
        pad_token_id=endoftext, dtype="float32",
    )
    config = Qwen3Config(head_dim=16, **common) if qwen3 else Qwen2Config(**common)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(bos_token_id=endoftext, eos_token_id=[im_end, endoftext],
                                               pad_token_id=endoftext)
    model.eval()
    model.save_pretrained(out)
    save_tokenizer(tokenizer, out)
    check_folder(out)
    return {"corpus_sha256": hashlib.sha256("\n".join(corpus).encode("utf-8")).hexdigest(),
            "corpus_lines": len(corpus), "resources": resources, "vocab_size": len(tokenizer),
            "seed": TINY_SEED, "parameters": sum(p.numel() for p in model.parameters())}
