"""selfcog_swift.data: exact-count sampling, identity filling, mixing, guards, the summary, bounded memory.

Pure Python (no swift, no torch); every input is a real file under tmp_path.
"""

import collections
import hashlib
import json
import random
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import (IDENTITY, RESOURCES, ROOT, A, U, firsts, identity_rows, lines, make_recipe, out_rows, qa,
                      write_jsonl)
from selfcog_swift import data
from selfcog_swift.data import fill_identity, mix, uses_hub_identity
from selfcog_swift.errors import SelfcogError
from selfcog_swift.recipe import DatasetSpec

PLACEHOLDER = re.compile(r"\{\{|\}\}|<NAME>|<AUTHOR>")


# --------------------------------------------------------------------------- bad input


def test_negative_counts_name_the_field(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [qa(0)])
    recipe = make_recipe(tmp_path, [{"path": str(path)}])
    recipe.data.datasets = [DatasetSpec(path=str(path)), DatasetSpec.model_construct(path=str(path), sample=-3)]
    with pytest.raises(SelfcogError, match=r"^data\.datasets\[1\]\.sample: must be >= 0, got -3$"):
        mix(recipe, tmp_path / "out.jsonl")
    recipe = make_recipe(tmp_path, [{"path": str(path)}])
    object.__setattr__(recipe.data, "self_cognition", -1)  # bypass the schema, as a caller could
    with pytest.raises(SelfcogError, match=r"^data\.self_cognition: must be >= 0"):
        mix(recipe, tmp_path / "out.jsonl")


def test_nothing_to_mix_is_an_error(tmp_path):
    with pytest.raises(SelfcogError, match="nothing to mix"):
        mix(make_recipe(tmp_path), tmp_path / "out.jsonl")


# --------------------------------------------------------------------------- exact counts


@pytest.mark.parametrize("sample", [0, 7, 20, None])
def test_counts_up_to_the_row_count_are_exact_and_distinct(tmp_path, sample):
    path = write_jsonl(tmp_path / "d.jsonl", [qa(i) for i in range(20)], blank_every=3)
    summary = mix(make_recipe(tmp_path, [{"path": str(path), "sample": sample}]), tmp_path / "out.jsonl")
    got = firsts(tmp_path / "out.jsonl")
    expected = 20 if sample is None else sample
    assert len(got) == len(set(got)) == expected == summary.total == summary.sources[0].written
    assert summary.sources[0].requested == expected and summary.sources[0].rows_available == 20
    assert set(got) <= {f"question {i}" for i in range(20)}


@pytest.mark.parametrize("sample", [40, 47, 99])
def test_counts_above_the_row_count_repeat_whole_copies_then_sample(tmp_path, sample):
    path = write_jsonl(tmp_path / "d.jsonl", [qa(i) for i in range(20)])
    mix(make_recipe(tmp_path, [{"path": str(path), "sample": sample}]), tmp_path / "out.jsonl")
    counts = collections.Counter(firsts(tmp_path / "out.jsonl"))
    assert sum(counts.values()) == sample and len(counts) == 20
    copies, rest = divmod(sample, 20)
    assert sorted(counts.values()) == [copies] * (20 - rest) + [copies + 1] * rest


def test_identity_and_datasets_counts_and_summary(tmp_path):
    general = write_jsonl(tmp_path / "g.jsonl", [qa(i) for i in range(30)])
    summary = mix(make_recipe(tmp_path, [{"path": str(general), "sample": 12}], self_cognition=25),
                  tmp_path / "out.jsonl")
    rows = firsts(tmp_path / "out.jsonl")
    identity = [r for r in rows if not r.startswith("question")]
    assert len(identity) == 25 and len(rows) == 37
    assert summary.identity_rows == 25 and summary.identity_ratio == round(25 / 37, 4)
    assert [(s.requested, s.written, s.rows_available) for s in summary.sources] == [(25, 25, 10), (12, 12, 30)]
    assert summary.sources[0].name == str(tmp_path / "identity.jsonl") and summary.sources[1].name == str(general)
    # The mix is interleaved, not identity rows then general rows.
    first_general = next(i for i, r in enumerate(rows) if r.startswith("question"))
    assert first_general < 25


def test_sampling_is_uniform():
    hits = collections.Counter()
    for seed in range(3000):
        hits.update(data.draw(10, 3, random.Random(seed)))
    assert all(800 < hits[i] < 1000 for i in range(10)), hits  # expected 900 each


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_other_order(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [qa(i) for i in range(200)])
    outs = []
    for run, seed in enumerate((1, 1, 2)):
        summary = mix(make_recipe(tmp_path, [{"path": str(path), "sample": 150}], self_cognition=30, seed=seed),
                      tmp_path / f"out{run}.jsonl")
        outs.append((tmp_path / f"out{run}.jsonl").read_bytes())
        assert summary.sha256 == hashlib.sha256(outs[-1]).hexdigest()
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


# --------------------------------------------------------------------------- identity


def test_fill_identity_uses_the_rows_language():
    identity = make_recipe(Path(".")).identity
    assert fill_identity("我是{{NAME}}，由{{AUTHOR}}开发", "zh", identity) == "我是扁仓，由齐鲁工大开发"
    assert fill_identity("I am {{NAME}} by {{AUTHOR}}", "en", identity) == "I am BianCang by QLU-NLP"


def test_zh_rows_get_zh_names_en_rows_en_names_lang_detected_without_field(tmp_path):
    rows = identity_rows()
    for row in rows[:2] + rows[5:7]:
        del row["lang"]  # detected from the user turn
    # Mostly English with a Chinese word: English, as scoring.is_chinese decides everywhere.
    rows.append({"messages": [{"role": "user", "content": "Who are you, 朋友?"},
                              {"role": "assistant", "content": "I am {{NAME}}, made by {{AUTHOR}}."}]})
    ident = write_jsonl(tmp_path / "mine.jsonl", rows)
    summary = mix(make_recipe(tmp_path, self_cognition=11, identity_file=str(ident)), tmp_path / "out.jsonl")
    assert summary.sources[0].name == str(ident)
    for row in out_rows(tmp_path / "out.jsonl"):
        assert set(row) == {"messages"}
        user, answer = (m["content"] for m in row["messages"])
        if "你是谁" in user:
            assert answer == "我是扁仓，由齐鲁工大开发。"
        else:
            assert answer == "I am BianCang, made by QLU-NLP."


def test_identity_rows_that_never_say_the_name_are_rejected(tmp_path):
    rows = [{"lang": "zh", "messages": [{"role": "user", "content": "你是谁？"},
                                        {"role": "assistant", "content": "我是通义千问。"}]}]
    ident = write_jsonl(tmp_path / "mine.jsonl", rows)
    with pytest.raises(SelfcogError, match="no zh identity row says '扁仓'"):
        mix(make_recipe(tmp_path, self_cognition=3, identity_file=str(ident)), tmp_path / "out.jsonl")
    assert list(tmp_path.glob("*out.jsonl*")) == []


def test_unknown_lang_is_rejected(tmp_path):
    rows = [{"lang": "fr", "messages": [U, A]}]
    ident = write_jsonl(tmp_path / "mine.jsonl", rows)
    with pytest.raises(SelfcogError, match=rf"{re.escape(str(ident))}:1: a fr row, but identity.name has no fr"):
        mix(make_recipe(tmp_path, self_cognition=1, identity_file=str(ident)), tmp_path / "out.jsonl")


def test_hub_identity_writes_no_identity_rows(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [qa(i) for i in range(5)])
    recipe = make_recipe(tmp_path, [{"path": str(path)}], self_cognition=50, source="swift")
    assert uses_hub_identity(recipe)
    summary = mix(recipe, tmp_path / "out.jsonl")
    assert summary.total == 5 and summary.identity_rows == 0 and len(summary.sources) == 1
    assert "swift/self-cognition#50" in summary.table()
    assert not uses_hub_identity(make_recipe(tmp_path, [{"path": str(path)}], self_cognition=50))
    assert not uses_hub_identity(make_recipe(tmp_path, [{"path": str(path)}], self_cognition=0, source="swift"))
    recipe = make_recipe(tmp_path, [{"path": str(path)}], self_cognition=5, source="swift", identity_file=str(path))
    with pytest.raises(SelfcogError, match="identity_file"):
        mix(recipe, tmp_path / "out2.jsonl")


# --------------------------------------------------------------------------- placeholder guard


@pytest.mark.parametrize("text", ["I am {{NAME}}", "made by {{AUTHOR}}", "I am {{ NAME }}", "I am <NAME>", "by <AUTHOR>"])
def test_leftover_placeholder_in_a_dataset_fails_and_leaves_no_file(tmp_path, text):
    rows = [qa(i) for i in range(5)] + [{"query": "who?", "response": text}]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    out = tmp_path / "sub" / "out.jsonl"
    with pytest.raises(SelfcogError, match=rf"^{re.escape(str(path))}:6: leftover placeholder"):
        mix(make_recipe(tmp_path, [{"path": str(path)}], self_cognition=4), out)
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_template_syntax_is_ordinary_text_in_a_dataset_but_a_leftover_in_identity_rows(tmp_path):
    """A code answer ({% for %}{{ x }}) is data; an identity row's `{{` is an unfilled placeholder."""
    code = {"query": "A Jinja loop?", "response": "{% for x in xs %}{{ x }}{% endfor %}"}
    path = write_jsonl(tmp_path / "d.jsonl", [qa(0), code])
    summary = mix(make_recipe(tmp_path, [{"path": str(path)}]), tmp_path / "out.jsonl")
    assert summary.total == 2 and code["response"] in (tmp_path / "out.jsonl").read_text(encoding="utf-8")
    ident = write_jsonl(tmp_path / "id.jsonl", [{"query": "你是谁？", "response": "我是{{NAME}}，{{ x }}"}])
    with pytest.raises(SelfcogError, match="leftover placeholder '{{'"):
        mix(make_recipe(tmp_path, self_cognition=1, identity_file=str(ident)), tmp_path / "out2.jsonl")


def test_failure_keeps_an_existing_good_file(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [qa(i) for i in range(3)])
    out = tmp_path / "out.jsonl"
    mix(make_recipe(tmp_path, [{"path": str(good)}]), out)
    before = out.read_bytes()
    bad = write_jsonl(tmp_path / "bad.jsonl", [qa(0), {"query": "q", "response": "{{NAME}}"}])
    with pytest.raises(SelfcogError):
        mix(make_recipe(tmp_path, [{"path": str(bad)}]), out)
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.jsonl", "good.jsonl", "out.jsonl"]


# --------------------------------------------------------------------------- summary


def test_summary_json_table_and_token_estimate(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"query": "你好吗", "response": "abcdefgh"}])  # 3 CJK + 8/4
    summary = mix(make_recipe(tmp_path, [{"path": str(path), "sample": 4}]), tmp_path / "out.jsonl")
    assert summary.est_tokens == 4 * (3 + 2)
    doc = summary.to_json()
    assert set(doc) == {"sources", "total", "identity_ratio", "path", "sha256", "est_tokens", "identity_languages"}
    assert doc["sources"] == [{"name": str(path), "requested": 4, "written": 4}]
    assert doc["total"] == 4 and doc["identity_ratio"] == 0.0
    json.dumps(doc)
    table = summary.table()
    assert str(path) in table and "requested" in table and "identity share 0.0%" in table and "~20 tokens" in table


def test_module_imports_neither_torch_nor_swift():
    code = "import sys, selfcog_swift.data; print(sorted(m for m in ('torch', 'swift', 'transformers') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- real resources


def test_builtin_identity_mix_is_filled_in_both_languages(tmp_path):
    general = RESOURCES / "general.jsonl"
    rows = lines(RESOURCES / "identity.jsonl")
    recipe = make_recipe(tmp_path, [{"path": str(general), "sample": 50}], self_cognition=rows + 7, identity_file=None)
    summary = mix(recipe, tmp_path / "out.jsonl")
    assert summary.sources[0].name == "self-cognition (builtin)" and summary.identity_rows == rows + 7
    text = (tmp_path / "out.jsonl").read_text(encoding="utf-8")
    assert not PLACEHOLDER.search(text)
    for row in out_rows(tmp_path / "out.jsonl"):
        answer = "".join(m["content"] for m in row["messages"] if m["role"] == "assistant")
        if "扁仓" in answer:
            assert "BianCang" not in answer and "QLU-NLP" not in answer
        if "BianCang" in answer:
            assert "扁仓" not in answer and "齐鲁工大" not in answer
    assert "扁仓" in text and "BianCang" in text and "齐鲁工大" in text and "QLU-NLP" in text


def test_builtin_dataset_prefix(tmp_path):
    summary = mix(make_recipe(tmp_path, [{"path": "builtin:general", "sample": 5}]), tmp_path / "out.jsonl")
    assert summary.total == 5 and summary.sources[0].name == "builtin:general"


# --------------------------------------------------------------------------- memory


# Peak memory from /proc's VmHWM: ru_maxrss keeps the parent's high-water mark across fork and
# exec, so a child of a large pytest process would start "at" the parent's size.
CHILD = textwrap.dedent("""
    import json, sys, time
    from selfcog_swift.data import mix
    from selfcog_swift.recipe import Recipe
    def peak_kb():
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
    recipe = Recipe.model_validate({"model": {"id": "builtin:tiny"}, "identity": json.loads(sys.argv[3]),
                                    "data": {"self_cognition": 0, "datasets": [{"path": sys.argv[1], "sample": 20000}]}})
    before = peak_kb()
    start = time.perf_counter()
    summary = mix(recipe, sys.argv[2])
    print(json.dumps({"before_kb": before, "peak_kb": peak_kb(), "seconds": time.perf_counter() - start,
                      "total": summary.total}))
""")


def test_mixing_a_100mb_file_streams_in_bounded_memory(tmp_path):
    big = tmp_path / "big.jsonl"
    pad = "x" * 150
    with big.open("w", encoding="utf-8") as handle:  # ~100 MB of ~200-byte rows
        for start in range(0, 520_000, 10_000):
            handle.write("".join(f'{{"query": "q{i}", "response": "{pad} {i}"}}\n' for i in range(start, start + 10_000)))
    assert big.stat().st_size > 95_000_000
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", CHILD, str(big), str(tmp_path / "out.jsonl"), json.dumps(IDENTITY)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    print(f"mix 20k of {big.stat().st_size / 1e6:.0f} MB: {stats}, wall {time.perf_counter() - started:.1f}s")
    assert stats["total"] == 20000 and lines(tmp_path / "out.jsonl") == 20000
    assert stats["peak_kb"] < 300 * 1024
    # Mixing itself must not hold the file: the 100 MB input would show up here.
    assert stats["peak_kb"] - stats["before_kb"] < 50 * 1024
