"""export-gguf: llama.cpp's own converter (from the pinned llama-cpp-python sdist), the Modelfile beside
the GGUF, refusals before anything converts, and the identity surviving the trip (smoke run, e2e)."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from selfcog_swift import gguf
from selfcog_swift.errors import SelfcogError
from selfcog_swift.gguf_convert import pretokenizer_by_regex

# The smoke model's identity on the held-out identity suites, the GGUF against the merged folder
# (same prompts through each one's own chat template, greedy): the bound.
MAX_IDENTITY_GAP = 0.05


@pytest.fixture(scope="session")
def llama_cpp():
    """The converter, fetched once per test session (pip download of the pinned sdist) and named in the
    environment, so that every later export (and `run_cli` subprocess) finds it whatever SELFCOG_CACHE is."""
    import os

    folder = gguf.converter(lambda line: None)
    os.environ[gguf.LLAMA_CPP_ENV] = str(folder)
    return folder


def _model_folder(tmp_path: Path, template: str) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}), encoding="utf-8")
    (folder / "chat_template.jinja").write_text(template, encoding="utf-8")
    return folder


def test_a_format_without_an_ollama_template_is_refused_before_converting(tmp_path):
    gemma = ("{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + message['role'] + '\n' + "
             "message['content'] + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}"
             "{{ '<start_of_turn>model\n' }}{% endif %}")
    folder = _model_folder(tmp_path, gemma)
    result = run_cli("export-gguf", str(folder), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {folder}: its chat template is none of the formats") and "chatml" in line
    assert not (tmp_path / "out").exists()


def test_a_default_system_prompt_naming_the_old_identity_is_refused(tmp_path):
    qwen25 = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
              "{{ '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}"
              "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
              "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
    result = run_cli("export-gguf", str(_model_folder(tmp_path, qwen25)), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Qwen" in result.stderr and "run` merged" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_quant_and_missing_folder_are_one_line_errors(tmp_path):
    with pytest.raises(SelfcogError, match="--quant q4_k_m: not one of q8_0, f16"):
        gguf.export_gguf(str(tmp_path), "q4_k_m")
    result = run_cli("export-gguf", str(tmp_path / "nothing"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "no such model folder" in result.stderr


def test_the_sdist_is_checked_before_it_is_unpacked(tmp_path):
    fake = tmp_path / gguf.SDIST
    with tarfile.open(fake, "w:gz") as archive:
        data = b"print('not llama.cpp')\n"
        info = tarfile.TarInfo(gguf.VENDORED + "convert_hf_to_gguf.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(SelfcogError, match="expected 832db069"):
        gguf._unpack(fake, tmp_path / "into")
    assert not (tmp_path / "into" / "convert_hf_to_gguf.py").exists()


def test_a_converter_folder_from_the_environment_must_hold_the_converter(tmp_path, monkeypatch):
    monkeypatch.setenv(gguf.LLAMA_CPP_ENV, str(tmp_path))
    with pytest.raises(SelfcogError, match="no convert_hf_to_gguf.py there"):
        gguf.converter()


def test_a_fresh_vocabulary_is_named_by_its_split_regex_only_when_llama_cpp_has_that_regex(tiny, tmp_path):
    assert pretokenizer_by_regex(tiny) == "qwen2"
    config = json.loads((tiny / "tokenizer.json").read_text(encoding="utf-8"))
    config["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\s+|\w+"
    (tmp_path / "tokenizer.json").write_text(json.dumps(config), encoding="utf-8")
    assert pretokenizer_by_regex(tmp_path) is None


def test_render_and_dry_run_show_the_gguf_stage_only_when_the_recipe_asks():
    asked = run_cli("render", "recipes/smoke.yaml", "--set", "export.gguf=f16")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.rstrip().endswith('python -m selfcog_swift export-gguf "$CHECKPOINT-merged" --quant f16')
    assert "export-gguf" not in run_cli("render", "recipes/smoke.yaml").stdout
    dry = run_cli("run", "recipes/smoke.yaml", "--dry-run", "--set", "export.gguf=q8_0")
    assert 'export-gguf "${CHECKPOINT}-merged" --quant q8_0' in dry.stdout


def test_the_converter_keeps_the_folders_template_and_tokenizer(tiny, llama_cpp, tmp_path):
    """builtin:tiny at f16: the GGUF's chat template is the folder's, its tokenizer splits text the
    same, and transformers reads back the same next-token logits (f16 rounding aside)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from selfcog_swift.guards import chat_template_of

    result = gguf.export_gguf(str(tiny), "f16", str(tmp_path / "out"), lambda line: None)
    path = Path(result.gguf)
    assert path.name == f"{tiny.name}-f16.gguf" and Path(result.modelfile).is_file()
    assert result.chat_format == "chatml" and result.system == "You are a helpful assistant."
    text = "Who are you? 你是谁？ I've 333 apples\n\n  ok"
    tokens = {}
    for where, kwargs in ((tiny, {}), (path.parent, {"gguf_file": path.name})):
        tokenizer = AutoTokenizer.from_pretrained(str(where), **kwargs)
        model = AutoModelForCausalLM.from_pretrained(str(where), dtype=torch.float32, **kwargs)
        ids = tokenizer(text, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            tokens[str(where)] = (ids.tolist(), model(ids).logits[0, -1], tokenizer.chat_template)
    (ids_a, logits_a, template_a), (ids_b, logits_b, template_b) = tokens.values()
    assert ids_a == ids_b and template_a == template_b == chat_template_of(tiny)
    assert torch.allclose(logits_a, logits_b, atol=2e-2), (logits_a - logits_b).abs().max()
    again = run_cli("export-gguf", str(tiny), "--quant", "f16", "--out", str(tmp_path / "out"))
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.fixture(scope="module")
def llama_jinja(llama_cpp, tmp_path_factory):
    """tests/llama_jinja/main.cpp built with llama.cpp's own Jinja engine (common/jinja: what llama-server
    renders a GGUF's chat template with), from the pinned llama.cpp sources."""
    import shutil
    import subprocess

    gxx = shutil.which("g++")
    assert gxx, "building llama.cpp's Jinja engine needs g++ (apt-get install g++)"
    root, build = Path(llama_cpp), tmp_path_factory.mktemp("llama-jinja")
    sources = [*sorted((root / "common" / "jinja").glob("*.cpp")), root / "common" / "json.cpp",
               root / "common" / "unicode.cpp", ROOT / "tests" / "llama_jinja" / "main.cpp"]
    flags = ["-std=c++17", "-O0", f"-I{root / 'common'}", f"-I{root / 'vendor'}", f"-I{root / 'ggml' / 'include'}"]
    jobs = [subprocess.Popen([gxx, *flags, "-c", str(src), "-o", str(build / f"{src.stem}.o")], stderr=subprocess.PIPE)
            for src in sources]
    for job in jobs:
        assert job.wait(timeout=1800) == 0, job.stderr.read().decode()[-3000:]
    binary = build / "llama-jinja"
    linked = subprocess.run([gxx, *map(str, sorted(build.glob("*.o"))), "-o", str(binary)], capture_output=True, text=True)
    assert linked.returncode == 0, linked.stderr[-3000:]

    def render(template: str, messages: list, **extra) -> str:
        values = {"template": template, "messages": messages, "add_generation_prompt": True, "bos_token": "",
                  "eos_token": "</s>", **extra}
        out = subprocess.run([str(binary)], input=json.dumps(values), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    return render


def test_llama_cpp_renders_the_gguf_template_with_the_trained_default(llama_jinja, tmp_path):
    """llama-server's own Jinja engine renders the merged model's template (the trained system prompt
    prefixed) as transformers does, with and without a system message, over several turns."""
    from test_modelfile import CASES, CONVERSATIONS, TRAINED, _jinja, _trained

    for name, model, template in CASES:
        trained = _trained(template, tmp_path)
        for messages in CONVERSATIONS:
            for extra in ({}, {"enable_thinking": False}):
                rendered = llama_jinja(trained, messages, **extra)
                assert rendered == _jinja(trained, messages, **extra), (model, messages, extra)
                assert messages[0]["role"] == "system" or TRAINED in rendered


# -- e2e: the smoke run with export.gguf, then the identity through the GGUF ----------------------------


@pytest.fixture(scope="module")
def smoke_gguf(tmp_path_factory, llama_cpp):
    out = tmp_path_factory.mktemp("smoke-gguf") / "out"
    result = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}", "--set", "export.gguf=q8_0")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    (state,) = out.glob(".selfcog/state.json")
    return json.loads(state.read_text())


@pytest.mark.e2e
def test_run_exports_the_gguf_as_its_last_stage(smoke_gguf):
    manifest = smoke_gguf
    run_dir = Path(manifest["run_dir"])
    assert [s["name"] for s in manifest["stages"]][-2:] == ["after", "gguf"]
    exported = manifest["gguf"]
    assert exported["source"] == manifest["merged"] and exported["quant"] == "q8_0"
    assert Path(exported["gguf"]).is_file() and Path(exported["modelfile"]).is_file()
    assert exported["system"] == manifest["recipe"]["model"]["system"]
    assert json.loads((run_dir / "manifest.json").read_text())["gguf"] == exported
    script = (run_dir / "gguf.sh").read_text()
    assert manifest["checkpoint"]["path"] in script and "--quant q8_0" in script
    modelfile = Path(exported["modelfile"]).read_text()
    assert f"FROM ./{Path(exported['gguf']).name}\n" in modelfile
    assert f'SYSTEM """{manifest["recipe"]["model"]["system"]}"""' in modelfile


@pytest.mark.e2e
def test_the_identity_survives_the_trip_to_gguf(smoke_gguf):
    """q8_0 (written by run) and f16 (export-gguf on the run folder): identity within 0.05 of the merged
    model's on every language, and no old identity named, asked as llama-server and Ollama ask."""
    from selfcog_swift.gguf_check import identity_check

    manifest = smoke_gguf
    identity = manifest["recipe"]["identity"]
    names, authors = [identity["name"]["zh"], identity["name"]["en"]], [identity["author"]["zh"], identity["author"]["en"]]
    f16 = run_cli("export-gguf", manifest["run_dir"], "--quant", "f16")
    assert f16.returncode == 0, f16.stderr[-3000:]
    assert "llama-server -m " in f16.stdout and "ollama create NAME -f " in f16.stdout
    paths = {"q8_0": manifest["gguf"]["gguf"], "f16": manifest["gguf"]["gguf"].replace("-q8_0.gguf", "-f16.gguf")}
    for quant, path in paths.items():
        result = identity_check(path, manifest["merged"], names, authors, manifest["recipe"]["evaluate"]["max_new_tokens"])
        print(quant, json.dumps({k: result[k] for k in ("reader", "probes", "gguf", "merged")}))
        for lang, merged in result["merged"].items():
            got = result["gguf"][lang]
            assert merged["identity"] > 0.2, (lang, merged)  # the smoke model learned it: the gap means something
            assert abs(got["identity"] - merged["identity"]) <= MAX_IDENTITY_GAP, (quant, lang, got, merged)
            assert got["leak"] == 0, (quant, lang, result["answers"])


@pytest.mark.e2e
def test_a_lora_checkpoint_is_merged_first_with_its_trained_system_prompt(smoke_gguf, tmp_path):
    manifest = smoke_gguf
    others = [p for p in Path(manifest["run_dir"]).glob("checkpoint-*")
              if p.is_dir() and not p.name.endswith("-merged") and str(p) != manifest["checkpoint"]["path"]]
    assert others, "the smoke run keeps two checkpoints (save_total_limit 2)"
    result = run_cli("export-gguf", str(others[0]), "--quant", "f16", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    merged = Path(f"{others[0]}-merged")
    template = (merged / "chat_template.jinja").read_text(encoding="utf-8")
    system = manifest["recipe"]["model"]["system"]
    assert template.startswith("{%- if not messages or messages[0]['role'] != 'system' -%}") and system in template
    (modelfile,) = tmp_path.glob("*.Modelfile")
    assert f'SYSTEM """{system}"""' in modelfile.read_text(encoding="utf-8")
