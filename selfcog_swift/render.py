"""A recipe resolved into swift 4.6 argument lists, and those lists rendered through Jinja.

`stage_command` is the one source of truth: the shell scripts, the swift-native YAML, the
JSON view and the driver's `sft_main`/`export_main` calls all come from the same
`StageCommand`. Nothing here imports torch or swift.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

import yaml
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from . import plugins
from .errors import SelfcogError
from .models import resolve_model
from .recipe import Recipe, is_builtin
from .swift_flags import STAGES, check_flags, hybrid_thinking_templates

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
OFFLINE_ENV = (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1"))
# Module names of the MLP block in the Llama/Qwen families (the tutorial's "mlp" advice).
MLP_MODULES = ["gate_proj", "up_proj", "down_proj"]
# Floats as a person writes them: whole ones as integers up to where repr turns scientific (1e16),
# small ones (learning rates) as 2e-5 rather than 2e-05.
WHOLE_FLOAT_LIMIT = 1e15
SMALL_FLOAT = 1e-3
# Where serve.sh listens: this machine only, on swift deploy's own port (as `selfcog-swift serve`).
SERVE_HOST, SERVE_PORT = "127.0.0.1", 8000
# swift flags that import a Python file (swift's import_external_file, or sys.path for a model's repo):
# a recipe that sets them in swift_args runs that code, so it must say allow_code: true.
CODE_FLAGS = ("external_plugins", "custom_register_path", "local_repo_path")


@dataclass(frozen=True)
class Ref:
    """A value known only when the stage runs (the chosen checkpoint): `$NAME` in scripts."""

    name: str
    suffix: str = ""

    def shell(self) -> str:
        return f'"${{{self.name}}}"' + (shlex.quote(self.suffix) if self.suffix else "")

    def bind(self, bindings: dict[str, str]) -> str:
        if self.name not in bindings:
            raise SelfcogError(f"no value for ${self.name}: pass it (e.g. --checkpoint PATH)")
        return bindings[self.name] + self.suffix


Value = Union[str, Ref, list]


@dataclass(frozen=True)
class StageCommand:
    """One swift invocation: its environment and its `--flag value…` pairs, in order."""

    stage: str
    env: tuple[tuple[str, str], ...]
    args: tuple[tuple[str, Value], ...]

    def argv(self, bindings: Optional[dict[str, str]] = None, keep_unbound: bool = False) -> list[str]:
        """The argument list after `swift <stage>`, with Refs bound (what the driver passes).

        keep_unbound leaves unknown Refs as `${NAME}` text (for display) instead of failing.
        """
        tokens: list[str] = []
        for flag, value in self.args:
            tokens.append(f"--{flag}")
            tokens.extend(_bind(v, bindings, keep_unbound) for v in (value if isinstance(value, list) else [value]))
        return tokens

    def as_dict(self, bindings: Optional[dict[str, str]] = None) -> dict:
        """Swift-native config: flag → value (lists kept), env under ENV, as `swift sft x.yaml` reads."""
        config: dict = {"ENV": dict(self.env)} if self.env else {}
        for flag, value in self.args:
            if isinstance(value, list):
                config[flag] = [_native(_bind(v, bindings, keep=True)) for v in value]
            else:
                config[flag] = _native(_bind(value, bindings, keep=True))
        return config


def _bind(value, bindings: Optional[dict[str, str]], keep: bool = False) -> str:
    if isinstance(value, Ref):
        if keep and (not bindings or value.name not in bindings):
            return f"${{{value.name}}}{value.suffix}"
        return value.bind(bindings or {})
    return value


def _native(text: str):
    """A number or boolean back as itself for YAML output, when it reads back to the same text."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (bool, int, float)) and _text(value) == text else text


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < WHOLE_FLOAT_LIMIT:
            return str(int(value))
        return repr(value) if abs(value) >= SMALL_FLOAT or value == 0 else f"{value:.0e}".replace("e-0", "e-")
    return str(value)


def _normalise(value) -> Value:
    if isinstance(value, (list, tuple)):
        return [_text(v) for v in value]
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value if isinstance(value, Ref) else _text(value)


# --------------------------------------------------------------------------- resolution


def data_path(recipe: Recipe) -> str:
    """Where the mixed training file is written before sft."""
    return str(Path(recipe.output_dir) / "data" / "mix.jsonl")


def is_local_model(recipe: Recipe) -> bool:
    return is_builtin(recipe.model.id) or Path(recipe.model.id).expanduser().exists()


def _model_args(recipe: Recipe) -> list[tuple[str, object]]:
    model, model_type, template = resolve_model(recipe.model.id)
    m = recipe.model
    return [
        ("model", model),
        ("model_type", m.model_type or model_type),
        ("template", m.template or template),
        ("model_revision", m.revision),
        ("system", m.system),
        ("torch_dtype", m.torch_dtype),
    ]


def _sft_args(recipe: Recipe) -> list[tuple[str, object]]:
    t, tr, d, launch = recipe.tuning, recipe.train, recipe.data, recipe.launch
    local_rows = d.datasets or (d.source == "builtin" and d.self_cognition)
    datasets = [data_path(recipe)] if local_rows else []
    if d.source == "swift" and d.self_cognition:
        datasets.append(f"swift/self-cognition#{d.self_cognition}")
    targets = MLP_MODULES if t.target_modules == "mlp" else t.target_modules
    args = _model_args(recipe) + [
        ("check_model", False if is_local_model(recipe) else None),
        ("tuner_type", t.method),
    ]
    if t.method == "lora":
        args += [("lora_rank", t.rank), ("lora_alpha", t.alpha), ("lora_dropout", t.dropout),
                 ("target_modules", targets if isinstance(targets, list) else [targets])]
    args += [
        ("dataset", datasets),
        ("split_dataset_ratio", d.val_split),
        ("output_dir", recipe.output_dir),
        ("num_train_epochs", tr.epochs),
        ("max_steps", tr.max_steps),
        ("learning_rate", tr.learning_rate),
        ("max_length", tr.max_length),
        ("per_device_train_batch_size", tr.batch_size),
        ("per_device_eval_batch_size", tr.eval_batch_size),
        ("gradient_accumulation_steps", tr.gradient_accumulation),
        ("weight_decay", tr.weight_decay),
        ("max_grad_norm", tr.max_grad_norm),
        ("warmup_ratio", tr.warmup_ratio),
        ("eval_steps", tr.eval_steps),
        ("save_steps", tr.save_steps),
        ("logging_steps", tr.logging_steps),
        ("save_total_limit", tr.save_total_limit),
        ("gradient_checkpointing", tr.gradient_checkpointing),
        ("seed", tr.seed),
        # similar_length: the mix file is already in batch order (data.py); swift must keep it.
        ("dataset_shuffle", False if tr.batches == "similar_length" else None),
        ("train_dataloader_shuffle", False if tr.batches == "similar_length" else None),
        ("ddp_backend", launch.ddp_backend),
        ("deepspeed", launch.deepspeed),
        ("fsdp", launch.fsdp),
    ]
    if d.source == "swift":
        ident = recipe.identity
        args += [("model_name", [ident.name.zh, ident.name.en]), ("model_author", [ident.author.zh, ident.author.en])]
    if t.hold_base:  # our own plugin (part of the package): its trainer adds the term; env below says where
        args.append(("external_plugins", [str(plugins.HOLD_BASE_PLUGIN)]))
    return args


def _export_args(recipe: Recipe) -> list[tuple[str, object]]:
    return [("adapters", Ref("CHECKPOINT")), ("merge_lora", True)]


def _infer_args(recipe: Recipe) -> list[tuple[str, object]]:
    model, model_type, template = resolve_model(recipe.model.id)
    template = recipe.model.template or template
    served = Ref("CHECKPOINT", "-merged") if recipe.tuning.method == "lora" else Ref("CHECKPOINT")
    # Identity rows train hybrid-thinking templates (Qwen3) with the empty think block; ask the
    # same way, or swift opens "<think>" and the answer carries the block.
    hybrid = template in hybrid_thinking_templates()
    return [
        ("model", served),
        ("model_type", recipe.model.model_type or model_type),
        ("template", template),
        # The revision and dtype trained: every stage that loads the model (replay, before, choose,
        # after, eval, serve) loads the same weights the same way. swift ignores a revision for a folder.
        ("model_revision", recipe.model.revision),
        ("torch_dtype", recipe.model.torch_dtype),
        ("system", recipe.model.system),
        ("max_new_tokens", recipe.evaluate.max_new_tokens),
        ("temperature", 0),
        ("enable_thinking", False if hybrid else None),
    ]


def _launch_env(recipe: Recipe, stage: str, node_rank: Optional[int]) -> list[tuple[str, object]]:
    launch = recipe.launch
    devices = launch.cuda_visible_devices
    if stage != "sft":
        # Merging and chatting need one device, as in the tutorial's export/infer lines.
        return [("CUDA_VISIBLE_DEVICES", devices.split(",")[0] if devices else None)]
    return [
        ("CUDA_VISIBLE_DEVICES", devices),
        ("NNODES", launch.nnodes),
        ("NODE_RANK", node_rank if launch.nnodes else None),
        ("MASTER_ADDR", launch.master_addr),
        ("NPROC_PER_NODE", launch.nproc_per_node),
        ("MASTER_PORT", launch.master_port),
        *_hold_base_env(recipe),
    ]


def _hold_base_env(recipe: Recipe) -> list[tuple[str, object]]:
    """The hold_base plugin's settings (swift rejects flags it does not know; torchrun passes env on)."""
    hold = recipe.tuning.hold_base
    if hold is None:
        return []
    return [(plugins.HOLD_BASE_WEIGHT_ENV, hold.weight),
            (plugins.HOLD_BASE_CHANNELS_ENV, ",".join(plugins.HELD_CHANNELS[hold.rows]))]


def _merge_overrides(args: list[tuple[str, object]], overrides: dict) -> list[tuple[str, object]]:
    merged = dict(args)
    merged.update(overrides)
    return [(flag, value) for flag, value in merged.items() if value is not None]


def stage_command(recipe: Recipe, stage: str, node_rank: Optional[int] = None) -> StageCommand:
    """Resolve one stage of a recipe into the swift invocation that will run.

    Args:
        recipe: A validated recipe.
        stage: sft, export or infer.
        node_rank: For multi-node recipes, which node's sft command (default: launch.node_rank or 0).

    Returns:
        The stage's environment and arguments; `argv()` gives what `swift <stage>` receives.

    Raises:
        SelfcogError: a flag swift 4.6 rejects (from `swift_args`), naming it.
    """
    builders = {"sft": _sft_args, "export": _export_args, "infer": _infer_args}
    overrides = recipe.swift_args.get(stage, {})
    check_flags(stage, overrides, f"swift_args.{stage}")
    _check_code_flags(recipe, stage, overrides)
    args = _merge_overrides(builders[stage](recipe), overrides)
    check_flags(stage, [flag for flag, _ in args], f"recipe ({stage})")
    rank = node_rank if node_rank is not None else (recipe.launch.node_rank or 0)
    env = [(k, _text(v)) for k, v in _launch_env(recipe, stage, rank) if v is not None]
    if is_local_model(recipe):
        env += list(OFFLINE_ENV)
    return StageCommand(
        stage=stage,
        env=tuple(env),
        args=tuple((flag, _normalise(value)) for flag, value in args),
    )


def _check_code_flags(recipe: Recipe, stage: str, overrides: dict) -> None:
    loading = [flag for flag in overrides if flag in CODE_FLAGS]
    if loading and not recipe.allow_code:
        raise SelfcogError(f"swift_args.{stage}.{loading[0]}: makes swift import a Python file, so this recipe is "
                           "code; set allow_code: true at its top level only if you trust that file")


def stages_for(recipe: Recipe, stage: str) -> list[str]:
    chosen = list(STAGES) if stage == "all" else [stage]
    if recipe.tuning.method == "full":
        chosen = [s for s in chosen if s != "export"]  # nothing to merge
    return chosen


# --------------------------------------------------------------------------- Jinja


def shquote(value) -> str:
    """Quote one value for bash; Refs become "${NAME}" so the script fills them at run time."""
    if isinstance(value, Ref):
        return value.shell()
    return shlex.quote(str(value))


def comment(value) -> str:
    """Text for a `#` comment line: a control character (a newline would end the comment and run
    what follows) is written as its escape, e.g. \\n, so the line stays one comment."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(value))


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["shquote"] = shquote
    env.filters["comment"] = comment
    return env


def _render_template(name: str, context: dict) -> str:
    try:
        return _environment().get_template(name).render(**context)
    except TemplateError as exc:
        raise SelfcogError(f"templates/{name}: {exc.__class__.__name__}: {exc}") from None


def _preludes(recipe: Recipe, recipe_ref: list[str], stage: str) -> list[list[str]]:
    """selfcog-swift commands a script runs before swift: build an offline model, mix the data."""
    lines = []
    if stage == "sft" and is_builtin(recipe.model.id):
        lines.append(["python", "-m", "selfcog_swift", "models", "prepare", recipe.model.id.split(":", 1)[1]])
    if stage == "sft" and recipe.data.replay:
        lines.append(["python", "-m", "selfcog_swift", "replay", *recipe_ref])
    if stage == "sft":
        lines.append(["python", "-m", "selfcog_swift", "data", *recipe_ref, "--out", data_path(recipe)])
    if stage in ("export", "infer"):
        lines.append(["python", "-m", "selfcog_swift", "best", recipe.output_dir, "--path-only"])
    return lines


def render_script(recipe: Recipe, stage: str, recipe_ref: list[str], node_rank: Optional[int] = None,
                  chosen: Optional[str] = None) -> str:
    """The bash script for one stage, as `render --format sh` prints it.

    Args:
        chosen: The checkpoint `run` chose: export/infer scripts default to it instead of asking
            `selfcog-swift best` (the scripts `run` writes into its run folder).
    """
    command = stage_command(recipe, stage, node_rank)
    return _render_template(f"{stage}.sh.j2", _script_context(recipe, stage, command, recipe_ref, node_rank, chosen))


def _script_context(recipe: Recipe, stage: str, command: StageCommand, recipe_ref: list[str],
                    node_rank: Optional[int], chosen: Optional[str]) -> dict:
    return {
        "recipe": recipe.model_dump(mode="json"),
        "stage": stage,
        "node_rank": node_rank,
        "env": [list(pair) for pair in command.env],
        "args": [[flag, value if isinstance(value, list) else [value]] for flag, value in command.args],
        "prelude": _preludes(recipe, recipe_ref, stage),
        "source": " ".join(shlex.quote(part) for part in recipe_ref),
        "chosen": chosen,
    }


def deploy_flags(host: str, port: int, backend: str) -> list[tuple[str, str]]:
    """What `swift deploy` takes on top of the infer command's flags."""
    return [("host", host), ("port", str(port)), ("infer_backend", backend)]


def serve_script(recipe: Recipe, recipe_ref: list[str], chosen: str, host: str = SERVE_HOST,
                 port: int = SERVE_PORT) -> str:
    """serve.sh for a run folder: `swift deploy` of the model `run` made from the checkpoint it chose."""
    infer = stage_command(recipe, "infer")
    command = StageCommand("deploy", infer.env, infer.args + tuple(deploy_flags(host, port, "transformers")))
    context = _script_context(recipe, "infer", command, recipe_ref, None, chosen)
    return _render_template("serve.sh.j2", {**context, "stage": "deploy", "host": host, "port": port})


def gguf_script(recipe: Recipe, recipe_ref: list[str], chosen: Optional[str] = None) -> str:
    """gguf.sh: `export-gguf` of the model trained from the chosen checkpoint (recipe export.gguf)."""
    context = _script_context(recipe, "export", stage_command(recipe, "export"), recipe_ref, None, chosen)
    return _render_template("gguf.sh.j2", context)


def _node_ranks(recipe: Recipe, stage: str) -> list[Optional[int]]:
    nnodes = recipe.launch.nnodes or 1
    if stage != "sft" or nnodes == 1:
        return [None]
    return list(range(nnodes))


def render(recipe: Recipe, stage: str, fmt: str, recipe_ref: list[str],
           bindings: Optional[dict[str, str]] = None) -> str:
    """Render the chosen stages in sh, yaml or json form (what `render` prints).

    Args:
        recipe: A validated recipe.
        stage: sft, export, infer or all.
        fmt: sh, yaml or json.
        recipe_ref: How the scripts refer back to this recipe (path and --set options).
        bindings: Known run-time values, e.g. {"CHECKPOINT": path}.

    Raises:
        SelfcogError: swift would refuse the model section, or train a system prompt naming an old identity.
    """
    from .model_meta import prompt_problems  # same refusal as `run`, before any script is printed

    if problems := prompt_problems(recipe):
        raise SelfcogError("; ".join(problems))
    parts = []
    for name in stages_for(recipe, stage):
        for rank in _node_ranks(recipe, name):
            if fmt == "sh":
                parts.append(render_script(recipe, name, recipe_ref, rank))
                continue
            command = stage_command(recipe, name, rank)
            title = name if rank is None else f"{name}-node{rank}"
            if fmt == "json":
                parts.append((title, {"env": dict(command.env), "argv": ["swift", name, *command.argv(bindings, keep_unbound=True)]}))
            else:
                body = yaml.safe_dump(command.as_dict(bindings), allow_unicode=True, sort_keys=False)
                parts.append(f"# swift {name} {title}.yaml  (swift-native: runs without selfcog-swift)\n{body}")
    if fmt == "sh" and stage == "all" and recipe.export.gguf:  # run's last stage; not a swift command
        parts.append(gguf_script(recipe, recipe_ref))
    if fmt == "json":
        return json.dumps(dict(parts), ensure_ascii=False, indent=2) + "\n"
    return ("\n" if fmt == "sh" else "---\n").join(parts)

