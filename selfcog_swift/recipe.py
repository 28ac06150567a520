"""Recipe schema and validation; reading recipe files (`extends`, `--set`, paths) is in recipe_files.py.

A recipe is plain YAML committed to git. Loading never imports torch or swift and never
touches the network: it is safe for `render` and `--help`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .languages import BASE as ZH_EN, CODE, builtin as builtin_languages, is_code

BUILTIN_PREFIX = "builtin:"
# The smallest train.max_length accepted: a chat-formatted row (role markers, a question and an
# answer) never fits in fewer tokens, so a smaller value is a typo.
MIN_MAX_LENGTH = 16
# The path rule (recipe_files.py), stated in every path field's description.
RELATIVE = "relative: from the folder of the recipe file that sets it, or the working directory for --set"


class FieldError(ValueError):
    """A check across sections, raised with the field at fault (`loc`) so errors name its line."""

    def __init__(self, loc: tuple, message: str):
        super().__init__(f"{'.'.join(map(str, loc))}: {message}")
        self.loc, self.message = loc, message


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _language_keys(keys, example: str) -> None:
    if not keys:
        raise ValueError(f"needs at least one language, e.g. {example}")
    for code in keys:
        if not is_code(code):
            raise ValueError(f"{code}: not a language code (BCP 47: zh, en, ja, fr, pt-BR)")


class LanguageForms(_Section):
    """One string per language, keyed by BCP 47 code ({zh: 扁仓, en: BianCang, ja: 扁倉}): any
    non-empty set of languages. `forms()` gives them in the recipe's order; `name.ja` reads one."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, json_schema_extra={
        "additionalProperties": {"type": "string", "minLength": 1}, "minProperties": 1,
        "propertyNames": {"pattern": f"^{CODE.pattern}$"}})
    __pydantic_extra__: dict[str, Annotated[str, Field(min_length=1)]]

    @model_validator(mode="after")
    def _languages(self):
        _language_keys(self.__pydantic_extra__, "{zh: 扁仓, en: BianCang}")
        return self

    def forms(self) -> dict[str, str]:
        """{language: text}, in the order the recipe gives them."""
        return dict(self.__pydantic_extra__ or {})


# Its name when it held zh and en only (recipe_files' error hints look for it).
Bilingual = LanguageForms


class ModelSection(_Section):
    id: str = Field(
        min_length=1,
        description="Hub id (Qwen/Qwen1.5-14B-Chat), local folder, or builtin:smollm2 / builtin:tiny",
    )
    model_type: Optional[str] = Field(None, description="swift model_type when swift cannot detect it (qwen2, llama)")
    template: Optional[str] = Field(None, description="swift chat template (qwen, chatml, qwen3)")
    system: Optional[str] = Field(
        None, description="System prompt used for training and written into the merged model's chat template"
    )
    torch_dtype: Optional[Literal["bfloat16", "float16", "float32"]] = Field(
        None, description="Weights dtype; omit to let swift choose"
    )
    revision: Optional[str] = Field(None, description="Hub revision (branch, tag or commit)")
    trust_remote_code: bool = Field(False, description="Allow a hub model's own Python code to run")


class IdentitySection(_Section):
    name: LanguageForms = Field(description="The model's new name per language, {zh: 扁仓, en: BianCang, ja: …}")
    author: LanguageForms = Field(description="Who made it, per language: the same languages as name")

    @model_validator(mode="after")
    def _same_languages(self):
        names, authors = self.name.forms(), self.author.forms()
        for field, have, other in (("author", authors, names), ("name", names, authors)):
            for lang in other:
                if lang not in have:  # each language needs both: rows fill {{NAME}} and {{AUTHOR}} together
                    raise FieldError(("identity", field, lang), "required field missing")
        return self


class DatasetSpec(_Section):
    path: str = Field(min_length=1, description=f"A local JSONL/JSON file in any format swift reads ({RELATIVE})")
    sample: Optional[int] = Field(
        None, ge=0, description="Exact row count to take; above the row count repeats then samples; omit for all"
    )


class ReplaySection(_Section):
    prompts: str = Field("builtin:prompts", min_length=1, description="builtin:prompts (our pool, in the "
                         "identity's languages), dataset "
                         f"(the questions of data.datasets), or a JSONL file of prompts ({RELATIVE})")
    sample: Optional[int] = Field(None, ge=1, description="How many prompts the base model answers (default: all)")
    max_new_tokens: int = Field(96, ge=1, description="Answer length")
    temperature: float = Field(0.0, ge=0, description="0: greedy; above 0: sampled (with top_p and train.seed)")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling when temperature > 0")
    repetition_penalty: float = Field(1.1, ge=1.0, description="Discourages the loops a small model falls into")


class DataSection(_Section):
    self_cognition: int = Field(500, ge=0, description="Number of identity rows to mix in")
    source: Literal["builtin", "swift"] = Field(
        "builtin",
        description="builtin: our offline identity set filled here; swift: the hub's swift/self-cognition",
    )
    identity_file: Optional[str] = Field(
        None, description="Your own identity rows with {{NAME}}/{{AUTHOR}} placeholders instead of ours, each "
        "row with its lang (needed for a language without built-in rows) "
        f"({RELATIVE})")
    datasets: list[DatasetSpec] = Field(default_factory=list, description="Datasets to mix, with exact counts")
    val_split: float = Field(
        0.05, ge=0, lt=1, description="Share held out for eval_loss (swift --split_dataset_ratio); 0 disables eval"
    )
    replay: Optional[ReplaySection] = Field(
        None, description="Mix in the base model's own answers to general prompts (self-rehearsal), all kept rows"
    )


class HoldBase(_Section):
    weight: float = Field(gt=0, description="β: each chosen assistant token adds β · KL(base ‖ tuned) to its "
                          "cross-entropy (docs/replay.md)")
    rows: Literal["replay", "general"] = Field("replay", description="replay: the base model's own answers "
                                               "(data.replay); general: those and data.datasets. Identity rows never")


class TuningSection(_Section):
    method: Literal["lora", "full"] = Field("lora", description="lora, or full fine-tuning")
    rank: int = Field(8, ge=1, description="LoRA rank")
    alpha: int = Field(32, ge=1, description="LoRA alpha")
    dropout: float = Field(0.05, ge=0, lt=1, description="LoRA dropout")
    target_modules: Union[Literal["all-linear", "mlp"], list[str]] = Field(
        "all-linear", description="all-linear (attention and MLP), mlp, or a list of module names"
    )
    hold_base: Optional[HoldBase] = Field(
        None, description="Hold the base model on non-identity rows: a per-token KL(base ‖ tuned) on the assistant "
        "tokens of the chosen rows, the base being the model with its LoRA adapter off (a swift plugin of ours)")

    @field_validator("target_modules")
    @classmethod
    def _non_empty(cls, value):
        if isinstance(value, list) and not value:
            raise ValueError("must name at least one module")
        return value


class TrainSection(_Section):
    epochs: float = Field(3, gt=0, description="num_train_epochs")
    max_steps: Optional[int] = Field(None, ge=1, description="Stop after this many steps (overrides epochs)")
    learning_rate: float = Field(1e-4, gt=0, description="Peak learning rate")
    max_length: int = Field(2048, ge=MIN_MAX_LENGTH, description="Longest tokenised row; longer rows are dropped")
    batch_size: int = Field(1, ge=1, description="per_device_train_batch_size")
    eval_batch_size: Optional[int] = Field(None, ge=1, description="per_device_eval_batch_size")
    gradient_accumulation: int = Field(1, ge=1, description="gradient_accumulation_steps")
    weight_decay: float = Field(0.1, ge=0, description="AdamW weight decay")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping")
    warmup_ratio: float = Field(0.05, ge=0, le=1, description="Share of steps spent warming up")
    eval_steps: int = Field(50, ge=1, description="Evaluate every N steps")
    save_steps: int = Field(50, ge=1, description="Save a checkpoint every N steps")
    logging_steps: int = Field(5, ge=1, description="Log every N steps")
    save_total_limit: Optional[int] = Field(2, ge=1, description="Keep at most N checkpoints (best and last kept)")
    gradient_checkpointing: bool = Field(True, description="Trade compute for memory")
    seed: int = Field(42, description="Seed for data mixing and training")
    batches: Literal["random", "similar_length"] = Field(
        "random", description="random: swift shuffles; similar_length: the mix is written in batches of rows of "
        "similar length, in random order, and swift reads it as written (less padding; on the demo's replay mix it "
        "brought the bleed back: docs/benchmarks.md, ablation row xi)")


class LaunchSection(_Section):
    cuda_visible_devices: Optional[str] = Field(None, description="CUDA_VISIBLE_DEVICES, e.g. 0,1,2,3")
    nproc_per_node: Optional[int] = Field(None, ge=1, description="Processes per machine (torchrun)")
    nnodes: Optional[int] = Field(None, ge=1, description="Number of machines")
    node_rank: Optional[int] = Field(None, ge=0, description="This machine's rank; render prints every node")
    master_addr: Optional[str] = Field(None, description="Address of node 0")
    master_port: Optional[int] = Field(None, ge=1, le=65535, description="Rendezvous port")
    ddp_backend: Optional[Literal["nccl", "gloo", "mpi", "ccl", "hccl", "cncl", "mccl"]] = Field(
        None, description="torch.distributed backend (gloo on CPU)"
    )
    deepspeed: Optional[str] = Field(None, description="zero0..zero3(_offload) (swift's configs) or a JSON path")
    fsdp: Optional[str] = Field(None, description="FSDP preset or config path, passed to swift --fsdp")


class PerLanguage(_Section):
    """A bound per language ({zh: 0.9, en: 0.8, ja: 0.7}), one for every language of the identity;
    null leaves that language unbounded."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, json_schema_extra={
        "additionalProperties": {"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}]},
        "minProperties": 1, "propertyNames": {"pattern": f"^{CODE.pattern}$"}})
    __pydantic_extra__: dict[str, Optional[Annotated[float, Field(ge=0)]]]

    @model_validator(mode="after")
    def _languages(self):
        _language_keys(self.__pydantic_extra__, "{zh: 0.9, en: 0.9}")
        return self


Threshold = Union[Annotated[float, Field(ge=0)], PerLanguage]
# The gate bounds that may be given per language.
BOUNDS = ("min_identity_rate", "max_leak_rate", "max_overreach_rate", "max_drift", "max_perplexity_increase")


def threshold(value: Threshold, lang: str) -> Optional[float]:
    """A gate's bound for one language: one number for all, or the language's entry of a mapping
    (None: null there, that language is not bounded)."""
    return (value.__pydantic_extra__ or {}).get(lang) if isinstance(value, PerLanguage) else value


class EvaluateSection(_Section):
    questions: list[str] = Field(
        default_factory=lambda: ["你是谁？", "你是由谁开发的？", "Who are you?", "Who developed you?"],
        description="Asked before and after training and shown side by side",
    )
    max_new_tokens: int = Field(96, ge=1, description="Answer length for before/after questions")
    checkpoint_choice: Literal["identity", "eval_loss"] = Field(
        "identity", description="identity: score checkpoints on identity and retention; eval_loss: swift's best"
    )
    min_identity_rate: Threshold = Field(0.9, description="Gate, per language: fail below this identity rate")
    max_leak_rate: Threshold = Field(0.0, description="Gate, per language: fail when identity answers name an "
                                     "old identity more often")
    max_overreach_rate: Threshold = Field(0.1, description="Gate, per language: fail when more general answers "
                                          "carry the new name or author")
    max_drift: Threshold = Field(0.1, description="Gate, per language: fail when the NLL of the base model's own "
                                 "answers to the general probes rises more (0.1 = +10%)")
    max_perplexity_increase: Threshold = Field(0.1, description="Gate, per language: fail when perplexity on public "
                                               "real text rises more (0.1 = +10%)")
    leak_terms: list[str] = Field(default_factory=list, description="Extra names of previous identities")
    probes: Optional[str] = Field(None, description=f"Probe file ({RELATIVE}), with probes in every language of "
                                  "the identity; default: the built-in held-out probes of those languages")


class ExportSection(_Section):
    gguf: Optional[Literal["q8_0", "f16", "bf16", "f32"]] = Field(
        None, description="Last stage of run: the merged model as a GGUF of this weight type for llama.cpp, with "
        "an Ollama Modelfile beside it (what export-gguf writes)")


StageName = Literal["sft", "export", "infer"]


class Recipe(_Section):
    """A self-cognition run: base model, identity, data mix, tuning, training, launch."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, title="selfcog-swift recipe")

    extends: Optional[str] = Field(None, description="Another recipe this one overrides (relative: from this "
                                   "file's folder)")
    description: Optional[str] = Field(None, description="One line on what this run is for")
    model: ModelSection
    identity: IdentitySection
    data: DataSection = Field(default_factory=DataSection)
    tuning: TuningSection = Field(default_factory=TuningSection)
    train: TrainSection = Field(default_factory=TrainSection)
    launch: LaunchSection = Field(default_factory=LaunchSection)
    evaluate: EvaluateSection = Field(default_factory=EvaluateSection)
    export: ExportSection = Field(default_factory=ExportSection)
    output_dir: str = Field("output", min_length=1,
                            description=f"Where swift writes its versioned run folders ({RELATIVE})")
    swift_args: dict[StageName, dict[str, Any]] = Field(
        default_factory=dict, description="Any other swift flag per stage: {sft: {flag: value}, export: …, infer: …}"
    )
    allow_code: bool = Field(
        False, description="Let swift_args name Python files swift imports (external_plugins, custom_register_path, "
        "local_repo_path): such a recipe is code, run it only if you trust it as you would a script"
    )

    @property
    def languages(self) -> list[str]:
        """The identity's languages, in the order the recipe names them."""
        return list(self.identity.name.forms())

    @model_validator(mode="after")
    def _languages_have_rows_probes_and_bounds(self):
        d, langs = self.data, self.languages
        if d.source == "swift" and sorted(langs) != sorted(ZH_EN):
            raise FieldError(("data", "source"), "swift/self-cognition fills only zh and en names (swift's "
                             "preprocessor knows no other language), identity has "
                             f"{', '.join(langs)}; use data.source: builtin")
        shipped = builtin_languages()
        for lang in (lang for lang in langs if lang not in shipped):
            missing = []  # (what, where to give it)
            if d.source == "builtin" and d.self_cognition and not d.identity_file:
                missing.append(("rows", f'data.identity_file with {lang} rows ({{"lang": "{lang}", "messages": '
                                        "[...]}, answers naming {{NAME}} and {{AUTHOR}})"))
            if not self.evaluate.probes:
                missing.append(("probes", f'evaluate.probes with {lang} probes ({{"question": ..., "lang": '
                                          f'"{lang}", "asks": name|author|both|none}})'))
            if missing:
                raise FieldError(("identity", "name", lang), f"no built-in {lang} "
                                 f"{' or '.join(what for what, _ in missing)} (built in: {', '.join(shipped)}); add "
                                 f"{' and '.join(where for _, where in missing)}, or drop identity.name.{lang}")
        for bound in BOUNDS:
            value = getattr(self.evaluate, bound)
            if not isinstance(value, PerLanguage):
                continue
            given = value.__pydantic_extra__ or {}
            for lang in langs:
                if lang not in given:
                    raise FieldError(("evaluate", bound), f"no bound for {lang}; add {lang}: <number> (or "
                                     f"{lang}: null to leave {lang} unbounded)")
            for lang in given:
                if lang not in langs:
                    raise FieldError(("evaluate", bound, lang), f"{lang} is not a language of identity.name "
                                     f"({', '.join(langs)})")
        return self

    @model_validator(mode="after")
    def _batches_need_the_written_order(self):
        if self.train.batches != "similar_length":
            return self
        if self.data.source == "swift" and self.data.self_cognition:
            raise FieldError(("train", "batches"), "similar_length needs every row in the mix file, but data.source: "
                             "swift adds the hub's identity rows at train time; use data.source: builtin")
        sft = self.swift_args.get("sft", {})
        for flag in ("group_by_length", "dataset_shuffle", "train_dataloader_shuffle", "streaming"):
            if sft.get(flag) not in (None, False):
                raise FieldError(("train", "batches"),
                                 f"similar_length orders the rows itself; drop swift_args.sft.{flag}")
        return self

    @model_validator(mode="after")
    def _hold_base_needs(self):
        hold, loc = self.tuning.hold_base, ("tuning", "hold_base")
        if hold is None:
            return self
        if self.tuning.method != "lora":
            raise FieldError(loc, "needs tuning.method: lora (the base is the model with its adapter off; full "
                             "tuning would need a second, frozen copy of the model in memory)")
        if not self.data.replay and (hold.rows == "replay" or not self.data.datasets):
            raise FieldError(loc, f"rows: {hold.rows} but the mix has no such rows; add data.replay"
                             f"{'' if hold.rows == 'replay' else ' or data.datasets'}")
        sft = self.swift_args.get("sft", {})
        # One row per batch entry (no packing), logits returned (no liger), our trainer kept (no other plugin).
        for flag, off in (("packing", False), ("padding_free", False), ("use_liger_kernel", False),
                          ("sequence_parallel_size", 1), ("external_plugins", []), ("custom_register_path", []),
                          ("tuner_backend", "peft")):
            if sft.get(flag) not in (None, off):
                raise FieldError(loc, f"does not work with swift_args.sft.{flag}; drop it")
        return self


def json_schema() -> dict:
    """The JSON Schema of a recipe, for editors (yaml-language-server)."""
    return Recipe.model_json_schema()


# --------------------------------------------------------------------------- loading (recipe_files.py)


def load_recipe(path: Union[str, Path], sets: tuple[str, ...] = ()) -> "Recipe":
    """Load, merge (`extends`), override (`--set`) and validate a recipe (see recipe_files.load_recipe).

    Raises:
        SelfcogError: every problem, one a line, each naming `file:line` (or `--set`) and the field.
    """
    from .recipe_files import load_recipe as load

    return load(path, sets)


def parse_set(assignment: str) -> tuple[list[str], Any]:
    """Parse `a.b=value`; the value is read as a YAML scalar (1e-4, true, [a, b])."""
    from .recipe_files import parse_set as parse

    return parse(assignment)


def is_builtin(model_id: str) -> bool:
    return model_id.startswith(BUILTIN_PREFIX)
