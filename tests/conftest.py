import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from selfcog_swift.models import prepare
from selfcog_swift.recipe import Recipe

ROOT = Path(__file__).resolve().parent.parent
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))


@pytest.fixture(scope="session", autouse=True)
def _offline_and_isolated_cache(tmp_path_factory):
    """Tests never reach a hub and build the offline models into their own cache once per session."""
    os.environ.setdefault("SELFCOG_CACHE", str(tmp_path_factory.mktemp("selfcog-cache")))
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[key] = "1"
    os.environ.pop("RAY_SWIFT_ARGS", None)
    yield


@pytest.fixture(scope="session")
def swift_parsers():
    """swift 4.6's own argument parsers per stage (argparse over its dataclasses, nothing built)."""
    from transformers import HfArgumentParser

    from swift.arguments import ExportArguments, InferArguments, SftArguments
    from swift.utils.utils import _patch_get_type_hints

    with _patch_get_type_hints():
        return {stage: HfArgumentParser([cls]) for stage, cls in
                (("sft", SftArguments), ("export", ExportArguments), ("infer", InferArguments))}


def run_cli(*args, cwd=ROOT, env=None):
    import subprocess

    return subprocess.run([sys.executable, "-m", "selfcog_swift", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})})


# -- shared by test_models_*.py -----------------------------------------------------------------------

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
def model_cache(tmp_path_factory):
    """One private SELFCOG_CACHE for this module's tiny builds."""
    root = tmp_path_factory.mktemp("models-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SELFCOG_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def tiny(model_cache):
    return prepare("tiny")


# -- shared by test_rows.py and test_data.py -----------------------------------------------------------

RESOURCES = ROOT / "selfcog_swift" / "resources"
IDENTITY = {"name": {"zh": "扁仓", "en": "BianCang"}, "author": {"zh": "齐鲁工大", "en": "QLU-NLP"}}


def write_jsonl(path: Path, rows, blank_every=0) -> Path:
    lines = []
    for index, row in enumerate(rows):
        lines.append(row if isinstance(row, str) else json.dumps(row, ensure_ascii=False))
        if blank_every and index % blank_every == 0:
            lines.append("   ")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def qa(index: int) -> dict:
    return {"query": f"question {index}", "response": f"answer {index}"}


def identity_rows() -> list[dict]:
    zh = [{"lang": "zh", "messages": [{"role": "user", "content": f"你是谁？{i}"},
                                      {"role": "assistant", "content": "我是{{NAME}}，由{{AUTHOR}}开发。"}]}
          for i in range(5)]
    en = [{"lang": "en", "messages": [{"role": "user", "content": f"Who are you? {i}"},
                                      {"role": "assistant", "content": "I am {{NAME}}, made by {{AUTHOR}}."}]}
          for i in range(5)]
    return zh + en


def make_recipe(tmp_path, datasets=(), self_cognition=0, seed=42, **data_fields) -> Recipe:
    if self_cognition and "identity_file" not in data_fields and data_fields.get("source") != "swift":
        data_fields["identity_file"] = str(write_jsonl(tmp_path / "identity.jsonl", identity_rows()))
    return Recipe.model_validate({
        "model": {"id": "builtin:tiny"}, "identity": IDENTITY, "train": {"seed": seed},
        "data": {"self_cognition": self_cognition, "datasets": list(datasets), **data_fields}})


def out_rows(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def firsts(path) -> list[str]:
    """The first user message of each output row: identifies which input row it came from."""
    return [next(m["content"] for m in row["messages"] if m["role"] == "user") for row in out_rows(path)]


U, A, S = ({"role": r, "content": c} for r, c in (("user", "hi"), ("assistant", "hello"), ("system", "be kind")))


def lines(path: Path) -> int:
    """Non-blank lines: one row each in a JSONL file."""
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())
