import os
import sys
from pathlib import Path

import pytest

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
