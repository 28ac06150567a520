"""`export-gguf`: a merged model as one GGUF file for llama.cpp and Ollama, with a Modelfile beside it.

The conversion is llama.cpp's own convert_hf_to_gguf.py. No registry package installs it as a tool,
so it is taken from the llama-cpp-python sdist on PyPI (pinned by version and sha256), which vendors
llama.cpp at one commit: the converter, its `conversion` package and the gguf-py it was written
against, together. `pip download` fetches it once into the cache; SELFCOG_LLAMA_CPP may point at a
llama.cpp checkout instead (offline machines). The GGUF keeps the merged folder's chat template,
whose default system prompt `run` set to the trained one; the Modelfile (modelfile.py) carries the
same format and prompt for Ollama.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from .atomic import partial_dir
from .errors import SelfcogError, StageError

Echo = Callable[[str], None]
LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"
SDIST = "llama_cpp_python-0.3.36.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
LLAMA_CPP_COMMIT = "0c1e57098bba43ac29e6e3b677cdceebdd22334f"
"""The llama.cpp commit vendored in that sdist (its .git/modules/vendor/llama.cpp/HEAD)."""
VENDORED = "llama_cpp_python-0.3.36/vendor/llama.cpp/"
MEMBERS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/", "LICENSE",
           # llama.cpp's own Jinja engine, which llama-server renders a GGUF's chat template with: the
           # tests build it (tests/llama_jinja) to check the trained default survives there too.
           "common/jinja/", "common/json.", "common/unicode.", "vendor/nlohmann/", "ggml/include/")
LAYOUT = 2
"""Bumped when MEMBERS changes: the cached folder is keyed by commit and layout."""
QUANTS = ("q8_0", "f16", "bf16", "f32")
"""The converter's --outtype choices offered here (its tq1_0/tq2_0 are for ternary-trained models)."""
LLAMA_CPP_ENV = "SELFCOG_LLAMA_CPP"


@dataclass(frozen=True)
class GgufExport:
    """What export_gguf wrote.

    Attributes:
        gguf: The GGUF file.
        modelfile: The Ollama Modelfile beside it.
        quant: The converter's --outtype.
        chat_format: The Modelfile's chat format (chatml, qwen3, llama3, llama3.1).
        system: The trained system prompt (the template's default), or None.
        source: The merged model folder it was converted from.
        seconds: Conversion time.
    """

    gguf: str
    modelfile: str
    quant: str
    chat_format: str
    system: Optional[str]
    source: str
    seconds: float

    def to_json(self) -> dict:
        return dict(self.__dict__)


def converter(echo: Echo = print) -> Path:
    """The folder holding llama.cpp's convert_hf_to_gguf.py, its conversion package and gguf-py (and
    the sources of llama.cpp's Jinja engine, for the tests).

    Raises:
        SelfcogError: SELFCOG_LLAMA_CPP names no converter; pip cannot download the sdist; its sha256 differs.
    """
    from .models import cache_root

    given = os.environ.get(LLAMA_CPP_ENV)
    if given:
        if not (Path(given) / "convert_hf_to_gguf.py").is_file():
            raise SelfcogError(f"{LLAMA_CPP_ENV}={given}: no convert_hf_to_gguf.py there (a llama.cpp checkout)")
        return Path(given)
    folder = cache_root() / "llama.cpp" / f"{LLAMA_CPP_COMMIT}-{LAYOUT}"
    if (folder / "convert_hf_to_gguf.py").is_file():
        return folder
    partial = partial_dir(folder)
    partial.mkdir(parents=True)
    try:
        echo(f"export-gguf: llama.cpp's converter from the {LLAMA_CPP_PYTHON} sdist (once, into {folder})")
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                   LLAMA_CPP_PYTHON, "--dest", str(partial)]
        done = subprocess.run(command, capture_output=True, text=True)
        sdist = partial / SDIST
        if done.returncode != 0 or not sdist.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise SelfcogError(f"pip download {LLAMA_CPP_PYTHON} failed ({last}); on a machine without PyPI set "
                               f"{LLAMA_CPP_ENV} to a llama.cpp checkout at {LLAMA_CPP_COMMIT[:12]}")
        _unpack(sdist, partial)
        sdist.unlink()
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder


def _unpack(sdist: Path, into: Path) -> None:
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SelfcogError(f"{sdist.name} has sha256 {digest}, expected {SDIST_SHA256}; not unpacked")
    with tarfile.open(sdist) as archive:
        wanted = [m for m in archive.getmembers() if m.name.startswith(VENDORED)
                  and m.name[len(VENDORED):].startswith(MEMBERS) and (m.isfile() or m.isdir())]
        for member in wanted:
            member.name = member.name[len(VENDORED):]
        archive.extractall(into, members=wanted, filter="data")


def output_paths(source: Path, quant: str, out: Optional[str]) -> tuple[Path, Path]:
    """(GGUF, Modelfile) for a model folder: <out or SOURCE-gguf>/<name>-<quant>.gguf and .Modelfile."""
    folder = Path(out) if out else source.parent / f"{source.name}-gguf"
    stem = f"{source.name}-{quant}"
    return folder / f"{stem}.gguf", folder / f"{stem}.Modelfile"


def convert(source: Path, target: Path, quant: str, log: Path, echo: Echo = print) -> dict:
    """Run the converter on a model folder into `target` (written under a temporary name, then renamed).

    Returns:
        The written file's metadata (gguf_convert.report).

    Raises:
        StageError: The converter failed (its output is in `log`).
    """
    root = converter(echo)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    report = log.with_suffix(".report.json")
    command = [sys.executable, "-m", "selfcog_swift.gguf_convert", str(root), str(report), str(source),
               "--outfile", str(partial), "--outtype", quant]
    echo(f"export-gguf: {' '.join(command[2:])}")
    try:
        with log.open("w", encoding="utf-8") as handle:
            code = subprocess.call(command, stdout=handle, stderr=subprocess.STDOUT)
        if code != 0:
            tail = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()][-1:]
            raise StageError("export-gguf", f"llama.cpp's converter exited with {code}: {' '.join(tail)[:300]} "
                                            f"(whole output: {log})")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    data = json.loads(report.read_text(encoding="utf-8"))
    report.unlink()
    return data


def export_gguf(model: str, quant: str = "q8_0", out: Optional[str] = None, echo: Echo = print) -> GgufExport:
    """Convert MODEL (run folder, merged folder, or LoRA checkpoint, merged first) into a GGUF plus an
    Ollama Modelfile; nothing is overwritten.

    Args:
        model: As for `serve`: a run folder stands for its merged model.
        quant: The converter's --outtype (QUANTS).
        out: The folder to write into (default: <merged folder>-gguf beside it).
        echo: Progress lines.

    Returns:
        The files written and what they carry.

    Raises:
        SelfcogError: An unknown quant; no chat template; a format no Modelfile template is kept for;
            a default system prompt naming the base's identity; files that exist already.
        StageError: The converter failed.
    """
    from .guards import DEFAULT_LEAK_TERMS, chat_template_of, names_found
    from .invocation import resolve_evaluated
    from .merging import merged_model
    from .modelfile import default_system, detect_format, write_modelfile

    if quant not in QUANTS:
        raise SelfcogError(f"--quant {quant}: not one of {', '.join(QUANTS)} (llama.cpp's converter writes these)")
    source = Path(merged_model(resolve_evaluated(model), echo))
    template = chat_template_of(source)
    if template is None:
        raise SelfcogError(f"{source}: no chat template (chat_template.jinja or tokenizer_config.json) to export")
    detect_format(template, str(source))  # refuse before converting
    system = default_system(template)
    leaked = names_found(system, DEFAULT_LEAK_TERMS)
    if leaked:
        raise SelfcogError(f"{source}: its chat template defaults to the system prompt {system!r}, which names "
                           f"{', '.join(leaked)}; export the folder `run` merged (its template defaults to the "
                           "trained prompt)")
    gguf, modelfile = output_paths(source, quant, out)
    for path in (gguf, modelfile):
        if path.exists():
            raise SelfcogError(f"{path} already exists; move it away first (never overwritten)")
    gguf.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    meta = convert(source, gguf, quant, gguf.with_suffix(".convert.log"), echo)
    if meta["chat_template"] != template:
        gguf.unlink()
        raise SelfcogError(f"{gguf}: the converter wrote another chat template than {source}'s; not kept")
    chat, system = write_modelfile(modelfile, gguf.name, template, str(source))
    echo(f"export-gguf: {gguf} ({gguf.stat().st_size / 2**20:.1f} MiB, {quant}); Modelfile {modelfile} "
         f"({chat.name}, SYSTEM {system!r})")
    return GgufExport(str(gguf), str(modelfile), quant, chat.name, system, str(source),
                      round(time.monotonic() - started, 1))
