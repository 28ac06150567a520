"""Import swift 1.x/2.x (and 3.x) shell scripts, like the tutorial's, as a recipe.

The script is read as bash reads it (quotes, `\\` continuations, comments, `VAR=value`, env
prefixes, `$var` expansion, `;`/`&&`), keeping line numbers for messages. Each `swift sft` flag
maps onto a recipe field, and the swift defaults the script relied on are written out where the
recipe's differ; `swift export` / `swift infer` lines are checked (the recipe derives those
stages). Nothing here imports torch or swift.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Union

import yaml
from pydantic import ValidationError

from .errors import SelfcogError
from .recipe import Recipe

_HUB_IDS = {  # swift 1.x/2.x model_type -> hub id, used when no --model_id_or_path is given
    "qwen-7b-chat": "Qwen/Qwen-7B-Chat", "qwen-14b-chat": "Qwen/Qwen-14B-Chat",
    "qwen1half-0_5b-chat": "Qwen/Qwen1.5-0.5B-Chat", "qwen1half-1_8b-chat": "Qwen/Qwen1.5-1.8B-Chat",
    "qwen1half-4b-chat": "Qwen/Qwen1.5-4B-Chat", "qwen1half-7b-chat": "Qwen/Qwen1.5-7B-Chat",
    "qwen1half-14b-chat": "Qwen/Qwen1.5-14B-Chat", "qwen1half-72b-chat": "Qwen/Qwen1.5-72B-Chat",
    "qwen2-0_5b-instruct": "Qwen/Qwen2-0.5B-Instruct", "qwen2-1_5b-instruct": "Qwen/Qwen2-1.5B-Instruct",
    "qwen2-7b-instruct": "Qwen/Qwen2-7B-Instruct", "qwen2-72b-instruct": "Qwen/Qwen2-72B-Instruct",
    "qwen2_5-7b-instruct": "Qwen/Qwen2.5-7B-Instruct", "chatglm3-6b": "ZhipuAI/chatglm3-6b",
    "llama3-8b-instruct": "LLM-Research/Meta-Llama-3-8B-Instruct", "yi-6b-chat": "01ai/Yi-6B-Chat",
}
_FIELDS = {  # sft flag (1.x/2.x and 3.x spellings) -> (recipe field, type)
    "model_id_or_path": ("model.id", str), "model": ("model.id", str), "system": ("model.system", str),
    "template_type": ("model.template", str), "template": ("model.template", str),
    "output_dir": ("output_dir", str), "ddp_backend": ("launch.ddp_backend", str),
    "deepspeed": ("launch.deepspeed", str), "deepspeed_config_path": ("launch.deepspeed", str),
    "fsdp": ("launch.fsdp", str), "self_cognition_sample": ("data.self_cognition", int),
    "dataset_test_ratio": ("data.val_split", float), "split_dataset_ratio": ("data.val_split", float),
    "lora_rank": ("tuning.rank", int), "lora_alpha": ("tuning.alpha", int),
    "lora_dropout_p": ("tuning.dropout", float), "lora_dropout": ("tuning.dropout", float),
    "num_train_epochs": ("train.epochs", float), "max_steps": ("train.max_steps", int),
    "max_length": ("train.max_length", int), "learning_rate": ("train.learning_rate", float),
    "batch_size": ("train.batch_size", int), "per_device_train_batch_size": ("train.batch_size", int),
    "eval_batch_size": ("train.eval_batch_size", int), "per_device_eval_batch_size": ("train.eval_batch_size", int),
    "gradient_accumulation_steps": ("train.gradient_accumulation", int),
    "weight_decay": ("train.weight_decay", float), "max_grad_norm": ("train.max_grad_norm", float),
    "warmup_ratio": ("train.warmup_ratio", float), "eval_steps": ("train.eval_steps", int),
    "save_steps": ("train.save_steps", int), "logging_steps": ("train.logging_steps", int),
    "save_total_limit": ("train.save_total_limit", int), "seed": ("train.seed", int),
    "gradient_checkpointing": ("train.gradient_checkpointing", bool),
}
_SPECIAL = {  # sft flag -> _Importer method
    "model_type": "_model_type", "model_revision": "_revision", "sft_type": "_method", "train_type": "_method",
    "tuner_type": "_method", "dtype": "_dtype", "torch_dtype": "_dtype", "lora_target_modules": "_targets",
    "target_modules": "_targets", "custom_train_dataset_path": "_dataset", "dataset": "_dataset",
    "train_dataset_sample": "_sample", "model_name": "_identity", "model_author": "_identity",
}
_DROPPED = {
    "tuner_backend": "swift 4.6 trains LoRA with peft", "check_dataset_strategy": "4.6 drops bad rows: --strict false",
    "model_cache_dir": "4.6 reads MODELSCOPE_CACHE, or a local folder in model.id",
    "use_flash_attn": "4.6 spells it swift_args.sft.attn_impl: flash_attn",
    "add_output_dir_suffix": "4.6 writes output_dir/v<N>-<time>", "check_model_is_latest": "gone in 4.6",
}
_RENAMED = {"custom_val_dataset_path": "val_dataset", "neftune_alpha": "neftune_noise_alpha",
            "evaluation_strategy": "eval_strategy", "preprocess_num_proc": "dataset_num_proc",
            "lora_modules_to_save": "modules_to_save", "dataset_seed": "data_seed"}
_V3_FLAGS = {"model", "template", "train_type", "tuner_type", "torch_dtype", "per_device_train_batch_size",
             "split_dataset_ratio", "lora_dropout", "target_modules"}
_QUIET = {"ckpt_dir", "adapters", "model", "merge_lora", "model_cache_dir", "model_type", "model_id_or_path",
          "model_revision", "sft_type", "template_type", "dtype", "load_args_from_ckpt_dir", "infer_backend"}
_LEGACY_STAGE = {"merge_device_map", "eval_human", "show_dataset_sample", "save_safetensors", "do_sample",
                 "use_flash_attn", "vllm_enable_lora", "gpu_memory_utilization", "tensor_parallel_size"}
_ENV = {"CUDA_VISIBLE_DEVICES": ("launch.cuda_visible_devices", str), "NPROC_PER_NODE": ("launch.nproc_per_node", int),
        "MASTER_PORT": ("launch.master_port", int), "NNODES": ("launch.nnodes", int),
        "NODE_RANK": ("launch.node_rank", int), "MASTER_ADDR": ("launch.master_addr", str)}
_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32",
           "bfloat16": "bfloat16", "float16": "float16", "float32": "float32"}
_KINDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

_TOKEN = re.compile(r"""
    (?P<nl>\n) | (?P<sep>[;&|()]) | (?P<cont>\\\r?\n) | (?P<ws>[ \t\r]+) | (?P<comment>\#[^\n]*)
  | (?P<redir>\d*[<>]+(?:&(?:\d+|-)?)?) | (?P<subst>\$\(|`)
  | (?P<word>(?:[^\s'"\\;&|()<>`]|\\\r?\n(?=[^\s-])|\\[^\r\n]|'[^']*'|"(?:[^"\\]|\\[\s\S])*")+)
  | (?P<bad>[\s\S])""", re.X)
_VAR = r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*|\d)|(\$\{)"
_PIECE = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\[\s\S])*)"|\\\r?\n|\\([\s\S])|""" + _VAR + r"|([\s\S])")
_DQUOTE = re.compile(r"""\\([$`"\\])|\\\r?\n|""" + _VAR + r"|([\s\S])")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)


@lru_cache(maxsize=1)
def _flags46() -> dict[str, frozenset]:
    """swift 4.6's flag names per stage, from `swift_flags.json`."""
    data = json.loads((Path(__file__).parent / "swift_flags.json").read_text(encoding="utf-8"))
    return {stage: frozenset(data[stage]) for stage in ("sft", "export", "infer")}


@dataclass(frozen=True)
class LegacyImport:
    """An imported script: `recipe` is plain data for `Recipe.model_validate`; `warnings` are one-liners."""

    recipe: dict
    warnings: tuple[str, ...]
    source: str = "<script>"

    def to_yaml(self, path: str = "<file>") -> str:
        """The recipe as commented YAML (Chinese kept as-is), opening with where it came from."""
        head = [f"# Imported from {_comment(self.source)} (swift 1.x/2.x command lines) by selfcog-swift.",
                "# Check it, then print the swift 4.6 commands it runs:",
                f"#   python -m selfcog_swift render {_comment(path)}"]
        if self.warnings:
            head += ["#", "# Import notes:"] + [f"#   - {_comment(w)}" for w in self.warnings]
        body = yaml.safe_dump(self.recipe, allow_unicode=True, sort_keys=False, width=1000)
        return "\n".join(head) + "\n" + body


def _one_line(text: str) -> str:
    return " ".join(str(text).splitlines())


def _comment(text: str) -> str:
    """One YAML-safe comment line: no line breaks, no characters a YAML reader rejects."""
    return re.sub(r"[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "?", _one_line(text))


# --------------------------------------------------------------------------- shell reading


def _lex(text: str, imp: "_Importer") -> list[list[tuple[str, int]]]:
    """Split a script into commands of raw words (quotes still in), each with its line number."""
    cmds, cmd, line, skip, word_end = [], [], 1, False, -1
    for m in _TOKEN.finditer(text):
        kind, token = m.lastgroup, m.group()
        if kind == "word":
            if not skip:
                cmd.append((token, line))
            skip, word_end = False, m.end()
        elif kind in ("nl", "sep"):
            cmds += [cmd] if cmd else []
            cmd, skip = [], False
        elif kind == "redir":
            skip = not re.search(r"&(\d+|-)$", token)  # `> log` drops its target; `2>&1` has none
        elif kind == "cont" and word_end == m.start():
            imp.warn(line, "`\\` right after a word glues it to the next line's flag in bash; "
                     "read as two arguments (put a space before the `\\`)")
        elif kind == "subst":
            imp.fail(line, "command substitution ($(…) or `…`) is not supported")
        elif kind == "bad":
            imp.fail(line, f"unbalanced {token} quote" if token in "'\"" else f"unexpected {token!r}")
        line += token.count("\n")
    return cmds + [cmd] if cmd else cmds


def _words(raw: str, line: int, variables: dict, imp: "_Importer") -> list[str]:
    """Remove quotes and expand `$var` in one raw word; unquoted values split on whitespace, as in bash."""

    def lookup(token: str) -> str:
        m = re.fullmatch(_VAR, token)
        if m.group(3):
            imp.fail(line, "only ${name} expansions are supported")
        name = m.group(1) or m.group(2)
        if name not in variables:
            imp.warn(line, f"${name} is not set earlier in the script; kept as text")
        return variables.get(name, "${" + name + "}")

    def in_double(d) -> str:
        if d.group(2) or d.group(3) or d.group(4):
            return lookup(d.group())
        return d.group(1) or d.group(5) or ""  # "" for `\` + newline

    fields, cur, solid = [], "", False
    for m in _PIECE.finditer(raw):
        if m.group(4) or m.group(5) or m.group(6):
            for k, piece in enumerate(lookup(m.group()).split()):
                fields, cur = (fields + [cur], piece) if k else (fields, cur + piece)
            continue
        double = _DQUOTE.sub(in_double, m.group(2)) if m.group(2) is not None else None
        cur += next((p for p in (m.group(1), double, m.group(3), m.group(7)) if p is not None), "")
        solid = True
    return fields + [cur] if cur or solid else fields


def _commands(text: str, imp: "_Importer"):
    """Yield (subcommand, env, [(arg, line)], line) for each `swift …` command, tracking variables."""
    variables, exported = {}, {}
    for words in _lex(text, imp):
        argv = [(w, line) for raw, line in words for w in _words(raw, line, variables, imp)]
        env = {}
        while argv and _ASSIGN.fullmatch(argv[0][0]):
            key, value = _ASSIGN.fullmatch(argv.pop(0)[0]).groups()
            env[key] = value
        while argv and argv[0][0] in ("nohup", "time", "exec"):
            argv.pop(0)
        if not argv:
            variables.update(env)
        elif argv[0][0] == "export":
            for word, _ in argv[1:]:
                key, eq, value = word.partition("=")
                variables[key] = exported[key] = value if eq else variables.get(key, "")
        elif argv[0][0] == "swift" and len(argv) > 1:
            yield argv[1][0], {**exported, **env}, argv[2:], words[0][1]
        else:
            imp.warn(words[0][1], f"`{argv[0][0]}` is not a swift sft/export/infer command; ignored")


def _flags(args: list, stage: str, imp: "_Importer") -> list[tuple[str, list[str], int]]:
    """`--flag v1 v2 --flag2=v` → [(name, values, line)]."""
    flags: list = []
    for text, line in args:
        if text.startswith("--") and len(text) > 2:
            name, eq, value = text[2:].partition("=")
            flags.append((name.replace("-", "_"), [value] if eq else [], line))
        elif flags:
            flags[-1][1].append(text)
        else:
            imp.fail(line, f"unexpected argument {text!r} before any flag (swift {stage})")
    return flags


def _number(text: str, whole: bool = False):
    """An int, or a finite float unless `whole`, written plainly in `text`; None otherwise."""
    if re.fullmatch(r"[+-]?\d{1,300}", text):
        return int(text)
    value = float(text) if not whole and _NUMBER.fullmatch(text) else math.nan
    return value if math.isfinite(value) else None


def _scalar(values: list[str]):
    """A swift_args value: no value → true; one → number, bool or text; several → a list."""
    def one(text: str):
        number = _number(text)
        return number if number is not None else {"true": True, "false": False}.get(text.lower(), text)
    return True if not values else one(values[0]) if len(values) == 1 else [one(v) for v in values]


# --------------------------------------------------------------------------- mapping


class _Importer:
    """Collects recipe fields and warnings while the script's commands are read in order."""

    def __init__(self, source: str):
        self.source, self.warnings, self.lines = source, [], {}
        self.recipe = {k: {} for k in ("model", "identity", "data", "tuning", "train", "launch")}
        self.datasets, self.sample, self.model_type, self.sft_args = [], None, None, {}

    def warn(self, line: int, msg: str) -> None:
        self.warnings.append((line, _one_line(f"{self.source}:{line}: {msg}")))

    def fail(self, line: int, msg: str):
        raise SelfcogError(_one_line(f"{self.source}:{line}: {msg}"))

    def put(self, path: str, value, line: int) -> None:
        *section, key = path.split(".")
        (self.recipe[section[0]] if section else self.recipe)[key] = value
        self.lines[path] = line

    def value(self, flag: tuple, kind: type):
        name, values, line = flag
        if kind is bool and not values:
            return True
        if len(values) != 1:
            self.fail(line, f"--{name} takes one value, got {len(values)}")
        if kind is str:
            return values[0]
        result = _BOOLS.get(values[0].lower()) if kind is bool else _number(values[0], whole=kind is int)
        if result is None:
            self.fail(line, f"--{name} {values[0]!r}: expected {_KINDS[kind]}")
        return result

    def sft(self, flags: list) -> None:
        for flag in flags:
            name, values, line = flag
            if name in _FIELDS:
                path, kind = _FIELDS[name]
                value = self.value(flag, kind)
                if value != -1 or path not in ("train.max_steps", "train.save_total_limit"):
                    self.put(path, value, line)
                elif path == "train.save_total_limit":
                    self.put(path, None, line)  # -1: keep every checkpoint
            elif name in _SPECIAL:
                getattr(self, _SPECIAL[name])(flag)
            elif name in _DROPPED:
                self.warn(line, f"{' '.join(['--' + name, *values])}: dropped ({_DROPPED[name]})")
            elif _RENAMED.get(name, name) in _flags46()["sft"]:
                self.sft_args[_RENAMED.get(name, name)] = _scalar(values)
            else:
                self.unknown(flag, "sft", set(_FIELDS) | set(_SPECIAL) | set(_DROPPED) | _flags46()["sft"])

    def unknown(self, flag: tuple, stage: str, known: set) -> None:
        close = difflib.get_close_matches(flag[0], sorted(known), n=1)
        hint = (f"did you mean --{close[0]}?" if close
                else f"not a swift 1.x/2.x flag we map nor a swift 4.6 {stage} flag")
        self.fail(flag[2], f"unknown legacy flag --{flag[0]} (swift {stage}); {hint}")

    def _model_type(self, flag):
        self.model_type = (self.value(flag, str), flag[2])

    def _revision(self, flag):
        revision = self.value(flag, str)
        if revision != "master":  # the default branch
            self.put("model.revision", revision, flag[2])

    def _method(self, flag):
        method = self.value(flag, str).lower()
        if method not in ("lora", "full"):
            self.fail(flag[2], f"--{flag[0]} {method}: a recipe trains lora or full")
        self.put("tuning.method", method, flag[2])

    def _dtype(self, flag):
        dtype = self.value(flag, str)
        if dtype.upper() == "AUTO":
            return self.warn(flag[2], f"--{flag[0]} AUTO: dropped (swift picks the dtype; see model.torch_dtype)")
        if dtype.lower() not in _DTYPES:
            self.fail(flag[2], f"--{flag[0]} {dtype}: expected bf16, fp16, fp32 or AUTO")
        self.put("model.torch_dtype", _DTYPES[dtype.lower()], flag[2])

    def _targets(self, flag):
        names = [n for v in flag[1] for n in v.split(",") if n]
        upper = {n.upper() for n in names}
        if not names:
            self.fail(flag[2], f"--{flag[0]} needs module names")
        if upper & {"ALL", "ALL-LINEAR", "DEFAULT", "AUTO"}:
            if upper - {"ALL", "ALL-LINEAR"}:
                self.warn(flag[2], f"--{flag[0]} {' '.join(names)}: read as all-linear (attention and MLP, swift's "
                          "advice for identity); swift 1.x/2.x DEFAULT meant the attention layers only")
            return self.put("tuning.target_modules", "all-linear", flag[2])
        self.put("tuning.target_modules", names, flag[2])

    def _dataset(self, flag):
        for item in flag[1]:
            match = re.fullmatch(r"(.+)#(-?\d{1,18})", item)
            path, count = (match.group(1), int(match.group(2))) if match else (item, None)
            if path.split("::")[-1] in ("swift/self-cognition", "self-cognition"):
                self.lines.setdefault("data.self_cognition", flag[2])  # no #N: the recipe default
                if count is not None:
                    self.put("data.self_cognition", count, flag[2])
                continue
            if not (path.startswith(("/", ".", "~")) or re.search(r"\.(jsonl|json|csv|txt)$", path)):
                self.warn(flag[2], f"{path} is a hub dataset name, not a local file: "
                          "download it and put its JSONL path in data.datasets")
            self.datasets.append({"path": path, **({"sample": count} if count not in (None, -1) else {})})
            self.lines["data.datasets"] = flag[2]

    def _sample(self, flag):
        self.sample = (self.value(flag, int), flag[2])

    def _identity(self, flag):
        name, values, line = flag
        if not values:
            self.fail(line, f"--{name} needs a Chinese and an English form")
        if len(values) == 1:
            self.warn(line, f"--{name} {values[0]}: one value, used for both Chinese and English")
        elif len(values) > 2:
            self.warn(line, f"--{name}: {len(values)} words; swift 1.x/2.x used only the first two, the recipe "
                      f"takes the rest as the English form {' '.join(values[1:])!r} (quote names with spaces)")
        self.put(f"identity.{name[6:]}", {"zh": values[0], "en": " ".join(values[1:]) or values[0]}, line)

    def finish_sft(self, env: dict, line: int, v3: bool) -> None:
        """Launch env, model id, datasets, identity and defaults, once all sft flags are read."""
        for key, value in env.items():
            if key not in _ENV:
                self.warn(line, f"environment {key} is not part of a recipe; set it in your shell if you need it")
                continue
            path, kind = _ENV[key]
            number = _number(value.strip(), whole=True)
            if kind is int and number is None:
                self.fail(line, f"{key}={value!r}: expected a whole number")
            self.put(path, number if kind is int else value, line)
        self.resolve_model(line, v3)
        self.finish_datasets()
        missing = [f"--model_{k}" for k in ("name", "author") if k not in self.recipe["identity"]]
        if missing:
            self.fail(line, f"the recipe needs identity.name and identity.author; add {' and '.join(missing)} ZH EN")
        self.fill_defaults(line, v3)
        if self.recipe["data"].get("self_cognition", 500):
            self.warn(self.lines.get("data.self_cognition", line), "--self_cognition_sample now uses selfcog-swift's "
                      "built-in identity set, filled offline (swift's hub set is data.source: swift)")

    def resolve_model(self, line: int, v3: bool) -> None:
        name, mline = self.model_type or (None, line)
        hub, model = _HUB_IDS.get((name or "").lower()), self.recipe["model"]
        if "id" not in model:
            if hub is None:
                self.fail(mline, f"--model_type {name}: no hub id known; add --model_id_or_path" if name else
                          "swift sft names no model: add --model_id_or_path or --model_type")
            self.put("model.id", hub, mline)
            self.warn(mline, f"--model_type {name}: model.id {hub}")
        elif name and v3:
            self.put("model.model_type", name, mline)  # swift 3.x model types are 4.6's
        elif name:
            where = f" ({hub} on the hub)" if hub else ""
            self.warn(mline, f"--model_type {name} is a swift 1.x/2.x name{where}; swift 4.6 detects the type "
                      f"from model.id {model['id']} (set model.model_type only if it cannot)")
        self.recipe["model"] = {"id": model.pop("id"), **model}

    def finish_datasets(self) -> None:
        if self.sample and self.sample[0] != -1:
            if len(self.datasets) == 1 and "sample" not in self.datasets[0]:
                self.datasets[0]["sample"] = self.sample[0]
            elif self.datasets:
                self.warn(self.sample[1], "--train_dataset_sample sampled all datasets together: "
                          "set a sample per entry of data.datasets")
        if self.datasets:
            self.recipe["data"]["datasets"] = self.datasets

    def fill_defaults(self, line: int, v3: bool) -> None:
        """Write out the swift defaults the script relied on where the recipe's defaults differ."""
        train, launch, filled = self.recipe["train"], self.recipe["launch"], {}
        if not v3:  # swift 1.x/2.x
            filled = {p: v for p, v in (("train.epochs", 1), ("train.max_grad_norm", 0.5),
                                        ("data.val_split", 0.01), ("data.self_cognition", 0)) if p not in self.lines}
            if self.recipe["tuning"].get("method") == "full" and "train.learning_rate" not in self.lines:
                filled["train.learning_rate"] = 1e-5
            if "train.eval_steps" in self.lines and "train.save_steps" not in self.lines:
                filled["train.save_steps"] = train["eval_steps"]
        if "train.gradient_accumulation" not in self.lines:  # swift: ceil(16 / batch size / world size)
            world = max(1, launch.get("nproc_per_node") or 1) * max(1, launch.get("nnodes") or 1)
            filled["train.gradient_accumulation"] = max(1, math.ceil(16 / max(1, train.get("batch_size", 1)) / world))
        for path, value in filled.items():
            self.put(path, value, line)
        if filled:
            self.warn(line, "wrote out the swift defaults this script relied on: "
                      + ", ".join(f"{p}={v}" for p, v in filled.items()))

    def stage(self, stage: str, flags: list, line: int) -> None:
        """Check a `swift export` / `swift infer` line; the recipe derives these stages."""
        known = _flags46()[stage] | _LEGACY_STAGE | _QUIET
        for flag in flags:
            if flag[0] not in known:
                self.unknown(flag, stage, known)
            if flag[0] not in _QUIET:
                self.warn(flag[2], f"--{flag[0]} (swift {stage}) is not carried over: the recipe derives this "
                          f"stage; add it under swift_args.{stage} if swift 4.6 needs it")
        ckpt = [" ".join(v) for n, v, _ in flags if n in ("ckpt_dir", "adapters")]
        if ckpt or stage == "export":
            self.warn(line, f"swift {stage} {ckpt[0] if ckpt else ''}: the run chooses the checkpoint at run time "
                      "(evaluate.checkpoint_choice), merges it and serves it; this path is not kept")
        else:
            self.warn(line, "swift infer on the base model: `run` asks evaluate.questions before and after training")

    def result(self) -> dict:
        out = {k: v for k, v in self.recipe.items() if v not in ({}, None)}
        return {**out, "swift_args": {"sft": self.sft_args}} if self.sft_args else out


def import_legacy(text: str, source: str = "<script>") -> LegacyImport:
    """Turn a swift 1.x/2.x (or 3.x) shell script into a recipe.

    Args:
        text: The script: `VAR=value` lines, env prefixes, `swift sft/export/infer` commands.
        source: Its name, used in messages (`<source>:<line>: …`).

    Returns:
        The recipe as plain data plus one-line warnings on what changed or was dropped.

    Raises:
        SelfcogError: unreadable shell, no `swift sft`, an unknown flag (naming its line), no identity.
    """
    imp, seen = _Importer(source), None
    for sub, env, args, line in _commands(text, imp):
        if sub == "sft":
            if seen:
                imp.fail(line, f"a second swift sft (the first is on line {seen}); import one run at a time")
            flags, seen = _flags(args, "sft", imp), line
            imp.sft(flags)
            imp.finish_sft(env, line, v3=any(f[0] in _V3_FLAGS for f in flags))
        elif sub in ("export", "merge-lora", "infer"):
            stage = "infer" if sub == "infer" else "export"
            imp.stage(stage, _flags(args, stage, imp), line)
        else:
            imp.warn(line, f"swift {sub} is not part of a recipe; ignored")
    if not seen:
        raise SelfcogError(_one_line(f"{source}: no `swift sft` command found; nothing to import"))
    warnings = dict.fromkeys(w for _, w in sorted(imp.warnings, key=lambda w: w[0]))  # by line, no repeats
    return LegacyImport(_validated(imp, seen), tuple(warnings), source)


def _validated(imp: _Importer, sft_line: int) -> dict:
    """The recipe data, checked by the schema; a problem names the line of the flag behind it."""
    recipe = imp.result()
    try:
        Recipe.model_validate(recipe)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        paths = [".".join(loc[:k]) for k in range(len(loc), 0, -1)]
        line = next((imp.lines[p] for p in paths if p in imp.lines), sft_line)
        imp.fail(line, f"imported {'.'.join(loc)}: {err['msg']}")
    return recipe


def import_legacy_file(path: Union[str, Path]) -> LegacyImport:
    """`import_legacy` on a UTF-8 file; an unreadable file is a `SelfcogError`."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SelfcogError(f"{path}: script not found") from None
    except UnicodeDecodeError:
        raise SelfcogError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SelfcogError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return import_legacy(text, str(path))
