"""Merging a LoRA checkpoint into its base model with swift export, never overwriting: shared by `run`,
`merge` and `export-gguf`, so that none of those command modules imports another."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Optional

from .atomic import partial_dir, read_json
from .errors import SelfcogError
from .runstate import banner

Echo = Callable[[str], None]


def merge_into(argv: list[str], merged: str, finish=None, echo: Echo = print) -> None:
    """swift export into a fresh sibling folder; `finish(folder, echo)` edits it; then it is renamed."""
    from swift.pipelines import export_main

    partial = partial_dir(merged)
    try:
        export_main([*argv, "--output_dir", str(partial)])
        if finish:
            finish(str(partial), lambda line: echo(line.replace(str(partial), merged)))
        os.rename(partial, merged)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def merged_folder(checkpoint: str) -> str:
    """Where `swift export --merge_lora` writes a checkpoint's merged model; refuses one that exists
    (swift would fail on it, or skip it with --exist_ok, and we never overwrite)."""
    merged = f"{str(checkpoint).rstrip('/')}-merged"
    if Path(merged).exists():
        raise SelfcogError(f"{merged} already exists; move it away first (never overwritten)")
    return merged


def merge(checkpoint: str, echo: Echo = print, system: Optional[str] = None) -> str:
    """Merge a LoRA checkpoint into its base model (swift export); never overwrites.

    Args:
        checkpoint: A LoRA checkpoint folder.
        echo: Progress lines.
        system: When given, the merged chat template defaults to this system prompt (guards.set_default_system).

    Returns:
        The merged folder, CHECKPOINT-merged.

    Raises:
        SelfcogError: Not a LoRA checkpoint, or its merged folder exists.
    """
    if not (Path(checkpoint) / "adapter_config.json").is_file():
        raise SelfcogError(f"{checkpoint}: not a LoRA checkpoint (no adapter_config.json)")
    merged = merged_folder(checkpoint)
    argv = ["--adapters", checkpoint.rstrip("/"), "--merge_lora", "true"]
    banner(echo, "export", ["swift", "export", *argv])
    from .guards import set_default_system
    from .inference import allow_remote_code

    allow_remote_code(False)
    merge_into(argv, merged, (lambda folder, _: set_default_system(Path(folder), system)) if system else None, echo)
    return merged


def trained_system(checkpoint: str) -> Optional[str]:
    """The system prompt a checkpoint was trained with: its args.json's `system`, else its template's default."""
    from .model_meta import template_default

    for folder in (Path(checkpoint), Path(checkpoint).parent):
        if (folder / "args.json").is_file():
            args = read_json(folder / "args.json", "swift's args.json")
            return args.get("system") or template_default(args.get("template") or "")
    return None


def merged_model(model: str, echo: Echo = print) -> str:
    """A model folder as it is, or a LoRA checkpoint's merged folder: CHECKPOINT-merged when it exists,
    else merged now with its chat template defaulting to the system prompt it was trained with."""
    if not (Path(model) / "adapter_config.json").is_file():
        return model
    merged = f"{model.rstrip('/')}-merged"
    if Path(merged).is_dir():
        echo(f"{model}: its merged model {merged} is used")
        return merged
    return merge(model, echo, trained_system(model))
