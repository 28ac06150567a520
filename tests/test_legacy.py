import shutil
import subprocess

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, run_cli
from selfcog_swift.errors import SelfcogError
from selfcog_swift.legacy import LegacyImport, import_legacy, import_legacy_file
from selfcog_swift.legacy.flags import flag_map
from selfcog_swift.legacy.importer import Importer
from selfcog_swift.legacy.shell import commands
from selfcog_swift.legacy.special import HANDLERS
from selfcog_swift.recipe import Recipe, load_recipe

TUTORIAL = ROOT / "tests" / "golden" / "legacy" / "tutorial.sh"
IDENTITY = "--model_name 小黄 'Xiao Huang' --model_author 魔搭 ModelScope"


def sft(flags: str, prefix: str = "") -> str:
    return f"{prefix}swift sft --model_type qwen1half-7b-chat --self_cognition_sample 100 {IDENTITY} {flags}\n"


def imported(text: str) -> dict:
    return Recipe.model_validate(import_legacy(text).recipe).model_dump()


@pytest.fixture(scope="module")
def tutorial() -> LegacyImport:
    return import_legacy_file(TUTORIAL)


# --------------------------------------------------------------------------- the tutorial


def test_tutorial_gives_the_biancang_recipe(tutorial):
    got = Recipe.model_validate(tutorial.recipe).model_dump()
    want = load_recipe(ROOT / "recipes" / "biancang.yaml").model_dump()
    # description: a recipe's free-text line; no swift flag carries one.
    want["description"] = None
    # model.id: the tutorial loads a local copy (--model_id_or_path); biancang.yaml names the hub
    # id of that copy. The import keeps the folder the script really used.
    assert got["model"]["id"] == "/yldm0226/models/Qwen1.5-14B-Chat"
    got["model"]["id"] = want["model"]["id"]
    # train.gradient_accumulation maps too: swift 1.x/2.x's default ceil(16 / batch 1 / 8) = 2.
    # data.val_split maps exactly: swift 1.x/2.x's dataset_test_ratio default 0.01 is written out.
    assert got == want


def test_tutorial_warnings_name_what_was_dropped_or_changed(tutorial):
    text = "\n".join(tutorial.warnings)
    for expected in ("--tuner_backend swift: dropped", "--check_dataset_strategy warning: dropped",
                     "--dtype AUTO: dropped", "glues it to the next line", "'QLU-NLP Research Group'",
                     "Qwen/Qwen1.5-14B-Chat on the hub", "gradient_accumulation=2", "built-in identity set",
                     "checkpoint-280: the run chooses the checkpoint at run time"):
        assert expected in text, expected
    assert all(w.startswith(f"{TUTORIAL}:") and "\n" not in w for w in tutorial.warnings)
    lines = [int(w.split(":")[1]) for w in tutorial.warnings]
    assert lines == sorted(lines)


def test_to_yaml_is_a_commented_recipe_that_round_trips(tutorial, tmp_path):
    text = tutorial.to_yaml()
    assert text.startswith(f"# Imported from {TUTORIAL}")
    assert "python -m selfcog_swift render <file>" in text
    assert "扁仓" in text and "齐鲁工业大学(山东省科学院)" in text  # not \u-escaped
    assert Recipe.model_validate(yaml.safe_load(text)).model_dump() == Recipe.model_validate(tutorial.recipe).model_dump()
    path = tmp_path / "imported.yaml"
    path.write_text(tutorial.to_yaml(str(path)), encoding="utf-8")
    assert load_recipe(path).identity.name.en == "BianCang"
    assert f"render {path}" in path.read_text(encoding="utf-8")


def test_cli_import_legacy_prints_the_recipe():
    out = run_cli("import-legacy", str(TUTORIAL))
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load(out.stdout)["identity"]["name"] == {"zh": "扁仓", "en": "BianCang"}
    assert "tuner_backend" in out.stderr


# --------------------------------------------------------------------------- flags


def test_flag_map_names_real_handlers_recipe_fields_and_swift_flags():
    fm = flag_map()
    assert set(fm.special.values()) == set(HANDLERS)
    for path, _ in [*fm.fields.values(), *fm.env.values()]:
        section, _, key = path.rpartition(".")
        model = Recipe.model_fields[section].annotation if section else Recipe
        assert key in model.model_fields, path
    assert set(fm.renamed.values()) <= fm.swift46["sft"]


def test_unknown_flag_names_its_line_and_stage():
    script = "swift sft \\\n  --model_type qwen1half-7b-chat \\\n  --frobnicate 3 \\\n  " + IDENTITY + "\n"
    with pytest.raises(SelfcogError, match=r"^<script>:3: unknown legacy flag --frobnicate \(swift sft\); "):
        import_legacy(script)
    with pytest.raises(SelfcogError, match=r"^x\.sh:2: unknown legacy flag --ckpt_dri \(swift export\); did you mean --ckpt_dir"):
        import_legacy(sft("") + "swift export --ckpt_dri /c --merge_lora true\n", "x.sh")
    with pytest.raises(SelfcogError, match="did you mean --lora_rank"):
        import_legacy(sft("--lora_rnak 8"))


def test_a_script_without_swift_sft_or_identity_is_an_error():
    with pytest.raises(SelfcogError, match="no `swift sft` command"):
        import_legacy("CUDA_VISIBLE_DEVICES=0 swift infer --ckpt_dir /c\n")
    with pytest.raises(SelfcogError, match=r"needs identity\.name and identity\.author; add --model_author"):
        import_legacy("swift sft --model_type qwen-7b-chat --model_name 小黄 Huang\n")
    with pytest.raises(SelfcogError, match="a second swift sft"):
        import_legacy(sft("") + sft(""))


@pytest.mark.parametrize("model_type, hub", [
    ("qwen1half-14b-chat", "Qwen/Qwen1.5-14B-Chat"), ("qwen1half-7b-chat", "Qwen/Qwen1.5-7B-Chat"),
    ("qwen-7b-chat", "Qwen/Qwen-7B-Chat"), ("qwen2-7b-instruct", "Qwen/Qwen2-7B-Instruct")])
def test_model_type_alone_maps_to_a_hub_id(model_type, hub):
    assert imported(f"swift sft --model_type {model_type} {IDENTITY}")["model"]["id"] == hub


def test_unknown_model_type_without_a_path_is_an_error():
    with pytest.raises(SelfcogError, match=r":1: --model_type mystery-7b: no hub id known"):
        import_legacy(f"swift sft --model_type mystery-7b {IDENTITY}")
    assert imported(f"swift sft --model_type mystery-7b --model_id_or_path /m {IDENTITY}")["model"]["id"] == "/m"


def test_identity_with_one_value_is_used_for_both_languages():
    result = import_legacy("swift sft --model_type qwen-7b-chat --model_name 小黄 --model_author ModelScope\n")
    assert result.recipe["identity"] == {"name": {"zh": "小黄", "en": "小黄"},
                                         "author": {"zh": "ModelScope", "en": "ModelScope"}}
    assert sum("used for both Chinese and English" in w for w in result.warnings) == 2


@pytest.mark.parametrize("flag, expected", [
    ("--lora_target_modules ALL", "all-linear"), ("--lora_target_modules all", "all-linear"),
    ("--lora_target_modules DEFAULT", "all-linear"), ("--lora_target_modules q_proj v_proj", ["q_proj", "v_proj"]),
    ("--lora_target_modules q_proj,k_proj", ["q_proj", "k_proj"]), ("--target_modules all-linear", "all-linear")])
def test_target_modules(flag, expected):
    result = import_legacy(sft(flag))
    assert result.recipe["tuning"]["target_modules"] == expected
    assert any("DEFAULT meant the attention layers" in w for w in result.warnings) == ("DEFAULT" in flag)


def test_values_map_onto_recipe_fields():
    r = imported(sft("--dtype bf16 --model_revision v1.0 --sft_type full --lora_dropout_p 0.1 --eval_steps 7 "
                     "--save_total_limit -1 --max_steps -1 --gradient_checkpointing --eval_batch_size 4 "
                     "--gradient_accumulation_steps 3 --seed 7 --system 'You are 小黄.' --dataset_test_ratio 0"))
    assert (r["model"]["torch_dtype"], r["model"]["revision"], r["model"]["system"]) == ("bfloat16", "v1.0", "You are 小黄.")
    assert (r["tuning"]["method"], r["tuning"]["dropout"]) == ("full", 0.1)
    t = r["train"]
    assert (t["eval_steps"], t["save_steps"], t["save_total_limit"], t["max_steps"]) == (7, 7, None, None)
    assert (t["learning_rate"], t["epochs"], t["gradient_accumulation"], t["eval_batch_size"]) == (1e-5, 1, 3, 4)
    assert (t["gradient_checkpointing"], t["seed"], r["data"]["val_split"]) == (True, 7, 0)
    assert imported(sft("--model_revision master"))["model"]["revision"] is None


@pytest.mark.parametrize("flag, message", [
    ("--lora_rank eight", r":1: --lora_rank 'eight': expected a whole number"),
    ("--sft_type longlora", "a recipe trains lora or full"),
    ("--dtype fp8", "expected bf16, fp16, fp32 or AUTO"),
    ("--lora_alpha 1 2", "takes one value, got 2"),
    ("--warmup_ratio 2", r":1: imported train\.warmup_ratio: "),
    ("--learning_rate inf", "expected a number"), ("--num_train_epochs nan", "expected a number"),
    ("--lora_rank 1_0", "expected a whole number"), ("--gradient_checkpointing maybe", "expected true or false"),
    ("--sft_type 'long\nlora'", r":1: --sft_type long lora: a recipe trains lora or full"),  # a quoted line break
])
def test_bad_values_are_one_line_errors(flag, message):
    with pytest.raises(SelfcogError, match=message) as exc:
        import_legacy(sft(flag))
    assert "\n" not in str(exc.value)


def test_schema_errors_name_the_line_of_the_flag_behind_them():
    script = "swift sft \\\n  --model_type qwen-7b-chat \\\n  --warmup_ratio 2 \\\n  " + IDENTITY + "\n"
    with pytest.raises(SelfcogError, match=r"^<script>:3: imported train\.warmup_ratio: "):
        import_legacy(script)


def test_warnings_are_one_line_each():
    result = import_legacy(sft("--tuner_backend 'peft\nswift'"))
    assert any("--tuner_backend peft swift: dropped" in w for w in result.warnings)
    assert all("\n" not in w for w in result.warnings)


def test_datasets_and_self_cognition_forms():
    result = import_legacy(sft("--dataset alpaca-zh#500 /data/a.jsonl swift/self-cognition#300 "
                               "--custom_train_dataset_path ./b.jsonl"))
    data = result.recipe["data"]
    assert data["datasets"] == [{"path": "alpaca-zh", "sample": 500}, {"path": "/data/a.jsonl"}, {"path": "./b.jsonl"}]
    assert data["self_cognition"] == 300
    assert any("alpaca-zh is a hub dataset name" in w for w in result.warnings)
    single = import_legacy(sft("--custom_train_dataset_path /d.jsonl --train_dataset_sample -1")).recipe["data"]
    assert single["datasets"] == [{"path": "/d.jsonl"}]


def test_flags_unchanged_in_swift_46_go_to_swift_args_and_render():
    from selfcog_swift.render import stage_command

    result = import_legacy(sft("--lr_scheduler_type cosine --custom_val_dataset_path /v.jsonl --lazy_tokenize true "
                               "--use_flash_attn true"))
    assert result.recipe["swift_args"] == {"sft": {"lr_scheduler_type": "cosine", "val_dataset": "/v.jsonl",
                                                   "lazy_tokenize": True}}
    assert any("attn_impl: flash_attn" in w for w in result.warnings)
    argv = stage_command(Recipe.model_validate(result.recipe), "sft").argv()
    assert "--lr_scheduler_type" in argv and "--val_dataset" in argv


def test_swift3_spellings_keep_recipe_defaults():
    r = imported("swift sft --model Qwen/Qwen2.5-7B-Instruct --model_type qwen2_5 --train_type lora "
                 "--torch_dtype bfloat16 --dataset swift/self-cognition#500 --per_device_train_batch_size 2 "
                 f"--target_modules all-linear {IDENTITY}")
    assert (r["model"]["id"], r["model"]["model_type"], r["model"]["torch_dtype"]) == (
        "Qwen/Qwen2.5-7B-Instruct", "qwen2_5", "bfloat16")
    assert (r["train"]["epochs"], r["train"]["gradient_accumulation"], r["data"]["self_cognition"]) == (3, 8, 500)


def test_export_and_infer_lines_are_checked_not_kept():
    result = import_legacy(sft("") + "swift export --ckpt_dir /c --merge_lora true --max_shard_size 5GB\n"
                           "swift infer --ckpt_dir /c-merged --max_new_tokens 64\n")
    assert "swift_args" not in result.recipe
    assert sum("chooses the checkpoint at run time" in w for w in result.warnings) == 2
    assert any("--max_shard_size (swift export) is not carried over" in w for w in result.warnings)
    # --ckpt_dir and --merge_lora are what the recipe derives: accepted without a warning of their own.
    assert not any(f"--{flag} (swift" in w for flag in ("ckpt_dir", "merge_lora") for w in result.warnings)


# --------------------------------------------------------------------------- shell reading


def test_variables_env_prefixes_and_separators():
    script = ("#!/bin/bash\nn=4  # processes\nexport MASTER_ADDR=10.0.0.1 base=/data\n"
              "cd /work && NNODES=2 NODE_RANK=1 NPROC_PER_NODE=$n MASTER_PORT=${port} "
              + sft("--custom_train_dataset_path \"$base/x.jsonl\" --output_dir ${base}/out") + "; echo done\n")
    with pytest.raises(SelfcogError, match=r":4: MASTER_PORT='\$\{port\}': expected a whole number"):
        import_legacy(script)
    result = import_legacy(script.replace("${port}", "29501"))
    assert result.recipe["launch"] == {"nnodes": 2, "node_rank": 1, "nproc_per_node": 4, "master_port": 29501,
                                       "master_addr": "10.0.0.1"}
    assert result.recipe["data"]["datasets"] == [{"path": "/data/x.jsonl"}]
    assert result.recipe["output_dir"] == "/data/out"
    assert result.recipe["train"]["gradient_accumulation"] == 2  # ceil(16 / 1 / (4 x 2))
    assert any("`cd` is not a swift" in w for w in result.warnings)


def test_redirects_and_background_are_ignored():
    # `> file` drops its target word; `2>&1` has none, so the flag after it is kept.
    result = import_legacy(sft("--seed 3 > train.log 2>&1 --lora_rank 4 2>err.log", prefix="nohup ") + "&\n")
    assert (result.recipe["train"]["seed"], result.recipe["tuning"]["rank"]) == (3, 4)
    assert not any(".log" in w for w in result.warnings)


def test_unset_variable_is_kept_as_text_with_a_warning():
    result = import_legacy(sft("--custom_train_dataset_path $DATA/x.jsonl ${DATA}/y.jsonl"))
    assert result.recipe["data"]["datasets"] == [{"path": "${DATA}/x.jsonl"}, {"path": "${DATA}/y.jsonl"}]
    assert sum("$DATA is not set" in w for w in result.warnings) == 1  # the same note once


@pytest.mark.parametrize("script, message", [
    ("swift sft --model_name '小黄 Huang\n", r"^<script>:1: unbalanced ' quote"),
    ('\n\nswift sft --model_name "小黄\n', r"^<script>:3: unbalanced \" quote"),
    ("swift sft --output_dir $(pwd)/out\n", "command substitution"),
    ("swift sft --output_dir `pwd`\n", "command substitution"),
    ("swift sft --output_dir ${HOME:-/tmp}\n", r"only \$\{name\} expansions"),
    ("swift sft oops --model_type x\n", "unexpected argument 'oops' before any flag"),
])
def test_shell_problems_are_one_line_errors(script, message):
    with pytest.raises(SelfcogError, match=message):
        import_legacy(script)


def test_import_legacy_file_errors(tmp_path):
    with pytest.raises(SelfcogError, match="script not found"):
        import_legacy_file(tmp_path / "missing.sh")
    (tmp_path / "bin.sh").write_bytes(b"\xff\xfe\x00swift")
    with pytest.raises(SelfcogError, match="not UTF-8"):
        import_legacy_file(tmp_path / "bin.sh")
    with pytest.raises(SelfcogError, match="cannot read"):
        import_legacy_file(tmp_path)


def swift_argv(text: str) -> list[list[str]]:
    imp = Importer("<t>")
    return [[sub] + [a for a, _ in args] for sub, _, args, _ in commands(text, imp)]


def bash_argv(text: str) -> list[list[str]]:
    recorder = 'swift() { printf "%s\\0" "$@"; printf "\\1"; }\n'
    out = subprocess.run(["bash", "-c", recorder + text], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return [record.split("\0")[:-1] for record in out.stdout.split("\1")[:-1]]


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is the reference")


@needs_bash
def test_words_match_bash_on_the_tutorial_except_the_glued_continuation():
    text = TUTORIAL.read_text(encoding="utf-8")
    ours, theirs = swift_argv(text), bash_argv(text)
    assert ours[0] == theirs[0] and ours[1] == theirs[1] and ours[3] == theirs[3]
    # bash glues `…Chat\<newline>--ckpt_dir` into one word; the import splits it (with a warning).
    assert "/yldm0226/models/Qwen1.5-14B-Chat--ckpt_dir" in theirs[2]
    assert ours[2][:4] == ["export", "--model_cache_dir", "/yldm0226/models/Qwen1.5-14B-Chat", "--ckpt_dir"]


PIECES = st.one_of(
    st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=4),
    st.sampled_from(["-", "_", ".", "/", ",", "=", "#", "\\(", "\\)", "\\ ", "\\\\", '\\"', "\\'", "\\$",
                     "${v}", "${w}", '"$v"', '"a b"', "''", '""', "'$v \\'", '"\\$x \\\\ \\" \\a"', "\\\n"]),
)


@needs_bash
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(PIECES, min_size=1, max_size=5).map("".join), min_size=1, max_size=6))
def test_words_match_bash(words):
    words = [w for w in words if not w.startswith(("#", "\\\n")) and "\\\n-" not in w]  # see the test above
    text = "v='1 2'; w=\"x  y\"\nswift sft " + " ".join(words) + "\n"
    assert swift_argv(text) == bash_argv(text)


# --------------------------------------------------------------------------- robustness


def check_any(text: str) -> None:
    try:
        result = import_legacy(text)
    except SelfcogError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(result, LegacyImport)
    assert Recipe.model_validate(yaml.safe_load(result.to_yaml())).model_dump() == \
        Recipe.model_validate(result.recipe).model_dump()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", errors="replace"))))
def test_arbitrary_text_gives_a_recipe_or_a_selfcog_error(text):
    check_any(text)


FLAG_WORDS = st.sampled_from([
    "--model_type", "qwen1half-7b-chat", "--model_name", "--model_author", "小黄", "Huang", "--dataset", "a#5",
    "--custom_train_dataset_path", "/d.jsonl", "--train_dataset_sample", "-1", "10", "--lora_target_modules",
    "ALL", "DEFAULT", "q,k", "--dtype", "AUTO", "bf16", "--sft_type", "full", "lora", "--batch_size", "0", "2",
    "--num_train_epochs", "nan", "--lora_dropout_p", "0.5", "--save_total_limit", "--max_steps", "--seed",
    "--self_cognition_sample", "--gradient_checkpointing", "true", "--model_id_or_path", "--template_type",
    "--tuner_backend", "--lr_scheduler_type", "--learning_rate", "1e-4", "inf", "--eval_steps", "--model",
    "--train_type", "'a b'", "\"$x\"", "$y", "--ddp_backend", "gloo", "--dataset_test_ratio", "--deepspeed",
    "NPROC_PER_NODE=2", "--warmup_ratio", "--weight_decay", "--max_length", "99999999999999999999999", "\\(",
])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["", "x=1\n", "export y='--seed 3'\n"]), st.sampled_from(["", f"{IDENTITY} --model_type qwen-7b-chat"]),
       st.lists(FLAG_WORDS, max_size=30),
       st.sampled_from(["", "\nswift export --ckpt_dir /c --merge_lora true", "\nswift infer --ckpt_dir /c"]))
def test_flag_soup_gives_a_recipe_or_a_selfcog_error(head, base, words, tail):
    check_any(f"{head}swift sft {base} {' '.join(words)}{tail}")
