"""An Ollama Modelfile for an exported GGUF: FROM the file, TEMPLATE in Ollama's Go template syntax for
the model's chat format, SYSTEM the trained system prompt, PARAMETER stop the format's end tokens.

Without TEMPLATE, Ollama guesses a template from the GGUF's Jinja one (or falls back to a bare
`{{ .Prompt }}`), and without SYSTEM it sends no system prompt: both lose a tuned identity. The Go
templates are data (resources/ollama/, Ollama's own where it has one); which one fits is decided by
rendering the model's own Jinja template on a sentinel conversation, never by its name.
Pure Python: jinja2 only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Optional

from jinja2 import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import RESOURCES
from .errors import SelfcogError

OLLAMA = RESOURCES / "ollama"
# Stands for the system prompt when finding where a template puts it.
SYSTEM_MARK = "<<selfcog-system>>"
USER_TURN = [{"role": "user", "content": "Q1"}]


@dataclass(frozen=True)
class ChatFormat:
    """A chat format the Modelfile can carry.

    Attributes:
        name: The format's name in resources/ollama/formats.json (chatml, qwen3, llama3, llama3.1).
        template: The Ollama TEMPLATE text (Go template syntax).
        stop: The format's end tokens (PARAMETER stop).
    """

    name: str
    template: str
    stop: tuple[str, ...]


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads((OLLAMA / "formats.json").read_text(encoding="utf-8"))


def formats() -> dict[str, ChatFormat]:
    """Every format resources/ollama/formats.json lists, by name."""
    return {name: ChatFormat(name, (OLLAMA / spec["template"]).read_text(encoding="utf-8"), tuple(spec["stop"]))
            for name, spec in _table()["formats"].items()}


def render_chat(template: str, messages: list[dict], **extra) -> str:
    """A Jinja chat template rendered as transformers renders it (sandboxed, trim_blocks, lstrip_blocks,
    loopcontrols, tojson, raise_exception, strftime_now), with the generation prompt and an empty
    bos_token (llama.cpp and Ollama add BOS as a token, not as text)."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = lambda value, indent=None, **_: json.dumps(value, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = lambda message: (_ for _ in ()).throw(TemplateError(message))
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    values = {"bos_token": "", "eos_token": "", "add_generation_prompt": True, **extra}
    return env.from_string(template).render(messages=messages, **values)


def detect_format(chat_template: str, where: str) -> ChatFormat:
    """The format whose Go template renders what `chat_template` renders on the sentinel conversation,
    with and without enable_thinking=false.

    Raises:
        SelfcogError: No known format matches (one line: where, the formats known, what to do).
    """
    table = _table()
    try:
        seen = {"default": render_chat(chat_template, table["sentinel"]),
                "no_thinking": render_chat(chat_template, table["sentinel"], enable_thinking=False)}
    except TemplateError as exc:
        seen = {"error": str(exc)}
    known = formats()
    for name, spec in table["formats"].items():
        if spec["expect"] == seen:
            return known[name]
    raise SelfcogError(f"{where}: its chat template is none of the formats an Ollama TEMPLATE is kept for "
                       f"({', '.join(known)}), so no Modelfile can carry it faithfully; serve the GGUF with "
                       "llama.cpp (it reads the template inside the file), or add the format to "
                       "selfcog_swift/resources/ollama/formats.json with a test")


def default_system(chat_template: str) -> Optional[str]:
    """The system prompt a chat template puts in when a conversation brings none (the trained one,
    after guards.set_default_system), or None when it puts in no system turn."""
    plain = render_chat(chat_template, USER_TURN)
    marked = render_chat(chat_template, [{"role": "system", "content": SYSTEM_MARK}, *USER_TURN])
    if SYSTEM_MARK not in marked:
        return None
    before, after = marked.split(SYSTEM_MARK, 1)
    if plain == before + after or not (plain.startswith(before) and plain.endswith(after)):
        return None
    return plain[len(before):len(plain) - len(after)]


def quoted(text: str, what: str) -> str:
    """A Modelfile value in triple quotes, kept byte for byte by Ollama's parser.

    Raises:
        SelfcogError: The text holds three double quotes in a row, which would end the value early.
    """
    if '"""' in text:
        raise SelfcogError(f"the {what} contains three double quotes in a row, which a Modelfile cannot hold")
    return f'"""{text}"""'


def modelfile_text(gguf_name: str, chat: ChatFormat, system: Optional[str]) -> str:
    """The Modelfile: FROM ./<gguf>, TEMPLATE, SYSTEM (when the template has a default), PARAMETER stop."""
    lines = ["# Written by selfcog-swift export-gguf. Another TEMPLATE, or a SYSTEM line of your own, replaces",
             "# the format and the system prompt this model was trained with.",
             f"FROM ./{gguf_name}", f"TEMPLATE {quoted(chat.template, 'TEMPLATE')}"]
    if system is not None:
        lines.append(f"SYSTEM {quoted(system, 'system prompt')}")
    lines += [f"PARAMETER stop {json.dumps(stop, ensure_ascii=False)}" for stop in chat.stop]
    return "\n".join(lines) + "\n"


def write_modelfile(path: Path, gguf_name: str, chat_template: str, where: str) -> tuple[ChatFormat, Optional[str]]:
    """Write the Modelfile for a GGUF whose chat template is `chat_template` (atomically).

    Returns:
        (the chat format, the SYSTEM text or None).

    Raises:
        SelfcogError: The format has no Ollama template here, or the system prompt cannot be quoted.
    """
    from .atomic import write_text

    chat = detect_format(chat_template, where)
    system = default_system(chat_template)
    write_text(path, modelfile_text(gguf_name, chat, system))
    return chat, system
