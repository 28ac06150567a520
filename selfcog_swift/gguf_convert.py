"""`python -m selfcog_swift.gguf_convert LLAMA_CPP REPORT MODEL_DIR --outfile F --outtype Q`: llama.cpp's own
convert_hf_to_gguf.py (LLAMA_CPP: the folder gguf.converter() unpacked), run in this process, then
the written file's metadata as JSON in REPORT.

One addition to the converter: a BPE tokenizer whose vocabulary llama.cpp does not know (its test
text hashes to no known model, as for a tokenizer trained afresh) is named by its split regex when
that regex is one llama.cpp implements (resources/llama_cpp/pretokenizers.json); any other stays
the converter's own error.
"""

from __future__ import annotations

import json
import logging
import runpy
import sys
from pathlib import Path

from . import RESOURCES

PRETOKENIZERS = RESOURCES / "llama_cpp" / "pretokenizers.json"
log = logging.getLogger("selfcog-swift")


def pretokenizer_by_regex(model_dir: Path):
    """The llama.cpp pre-tokenizer name whose regex the folder's tokenizer.json splits with, or None."""
    path = Path(model_dir) / "tokenizer.json"
    if not path.is_file():
        return None
    pre = json.loads(path.read_text(encoding="utf-8")).get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else []
    splits = [s for s in steps if s.get("type") == "Split"]
    byte_level = [s for s in steps if s.get("type") == "ByteLevel"]
    if len(steps) != 2 or len(splits) != 1 or len(byte_level) != 1 or byte_level[0].get("use_regex"):
        return None
    regex = (splits[0].get("pattern") or {}).get("Regex")
    known = {value: name for name, value in json.loads(PRETOKENIZERS.read_text(encoding="utf-8")).items()
             if not name.startswith("_")}
    return known.get(regex)


def _allow_known_regex(base) -> None:
    original = base.TextModel.get_vocab_base_pre

    def get_vocab_base_pre(self, tokenizer):
        try:
            return original(self, tokenizer)
        except NotImplementedError:
            name = pretokenizer_by_regex(self.dir_model)
            if name is None:
                raise
            log.warning("pre-tokenizer named %r by its split regex (unknown vocabulary, known regex)", name)
            return name

    base.TextModel.get_vocab_base_pre = get_vocab_base_pre


def report(outfile: Path) -> dict:
    """What the written GGUF says about itself: architecture, file type, chat template, BOS."""
    import gguf

    reader = gguf.GGUFReader(str(outfile))

    def value(key):
        field = reader.fields.get(key)
        return None if field is None else field.contents()

    return {"architecture": value("general.architecture"), "file_type": value("general.file_type"),
            "chat_template": value("tokenizer.chat_template"), "pre": value("tokenizer.ggml.pre"),
            "add_bos_token": value("tokenizer.ggml.add_bos_token"), "tensors": len(reader.tensors)}


def main(argv: list[str]) -> None:
    root, report_path, args = Path(argv[0]), Path(argv[1]), argv[2:]
    sys.path[:0] = [str(root), str(root / "gguf-py")]  # its `conversion` package and its own gguf-py
    from conversion import base

    _allow_known_regex(base)
    sys.argv = [str(root / "convert_hf_to_gguf.py"), *args]
    runpy.run_path(str(root / "convert_hf_to_gguf.py"), run_name="__main__")
    outfile = Path(args[args.index("--outfile") + 1])
    report_path.write_text(json.dumps(report(outfile), ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
