"""selfcog_swift.rows: every row format read into messages, JSON list and JSON lines files, and bad input
named by file, line and problem (also when read through `data.mix`).

Pure Python (no swift, no torch); every input is a real file under tmp_path.
"""

import json
import re

import pytest

from conftest import RESOURCES, A, S, U, firsts, lines, make_recipe, qa, write_jsonl
from selfcog_swift.data import mix
from selfcog_swift.errors import SelfcogError
from selfcog_swift.rows import read_rows


# --------------------------------------------------------------------------- formats

FORMATS = {
    "messages": ({"messages": [U, A]}, [U, A]),
    "messages+system role": ({"messages": [S, U, A]}, [S, U, A]),
    "messages+system field": ({"system": "be kind", "messages": [U, A]}, [S, U, A]),
    "query/response": ({"query": "hi", "response": "hello"}, [U, A]),
    "query/response+history+system": (
        {"system": "be kind", "history": [["q1", "r1"], ["q2", "r2"]], "query": "hi", "response": "hello"},
        [S, {"role": "user", "content": "q1"}, {"role": "assistant", "content": "r1"},
         {"role": "user", "content": "q2"}, {"role": "assistant", "content": "r2"}, U, A]),
    "alpaca": ({"instruction": "Translate", "input": "猫", "output": "cat"},
               [{"role": "user", "content": "Translate\n猫"}, {"role": "assistant", "content": "cat"}]),
    "alpaca no input": ({"instruction": "hi", "input": "", "output": "hello"}, [U, A]),
    "sharegpt from/value": ({"conversations": [{"from": "system", "value": "be kind"}, {"from": "human", "value": "hi"},
                                               {"from": "gpt", "value": "hello"}]}, [S, U, A]),
    "conversations role/content": ({"conversations": [U, A], "system": "be kind"}, [S, U, A]),
    "prompt/completion": ({"prompt": "hi", "completion": "hello"}, [U, A]),
    "question/answer": ({"question": "hi", "answer": "hello"}, [U, A]),
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_normalises_to_messages(tmp_path, name):
    row, expected = FORMATS[name]
    path = write_jsonl(tmp_path / "d.jsonl", [row, {"extra": 1, **row}])
    assert list(read_rows(path)) == [{"messages": expected}] * 2


def test_json_list_file_and_json_lines_file_and_blank_lines(tmp_path):
    rows = [qa(i) for i in range(3)]
    (tmp_path / "list.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    write_jsonl(tmp_path / "lines.json", rows)
    write_jsonl(tmp_path / "blank.jsonl", rows, blank_every=1)
    expected = [{"messages": [{"role": "user", "content": f"question {i}"},
                              {"role": "assistant", "content": f"answer {i}"}]} for i in range(3)]
    for name in ("list.json", "lines.json", "blank.jsonl"):
        assert list(read_rows(tmp_path / name)) == expected, name


def test_json_list_file_mixes_and_names_bad_rows_by_position(tmp_path):
    path = tmp_path / "list.json"
    path.write_text(json.dumps([qa(i) for i in range(4)]), encoding="utf-8")
    summary = mix(make_recipe(tmp_path, [{"path": str(path), "sample": 6}]), tmp_path / "out.jsonl")
    assert summary.total == 6 and len(set(firsts(tmp_path / "out.jsonl"))) == 4
    path.write_text(json.dumps([qa(0), {"text": "x"}]), encoding="utf-8")
    with pytest.raises(SelfcogError, match=rf"^{re.escape(str(path))}: row 2: unknown row format"):
        mix(make_recipe(tmp_path, [{"path": str(path)}]), tmp_path / "out.jsonl")
    path.write_text('[\n{"query": "q", "response": "r"},\n{"query": \n]', encoding="utf-8")
    with pytest.raises(SelfcogError, match=rf"^{re.escape(str(path))}:4: malformed JSON"):
        list(read_rows(path))


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("query,response\nhi,hello\n", encoding="utf-8")
    with pytest.raises(SelfcogError, match=r"unsupported file type \.csv"):
        list(read_rows(path))


# --------------------------------------------------------------------------- bad input


def test_malformed_json_names_the_line_counting_blank_lines(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [qa(0), "", qa(1), '{"query": "x", "response": ', qa(2)])
    with pytest.raises(SelfcogError, match=rf"^{re.escape(str(path))}:4: malformed JSON: "):
        list(read_rows(path))
    with pytest.raises(SelfcogError, match=rf"^{re.escape(str(path))}:4: malformed JSON: "):
        mix(make_recipe(tmp_path, [{"path": str(path)}]), tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_unknown_format_lists_the_keys_and_the_known_formats(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [qa(0), {"text": "x", "label": 1}])
    with pytest.raises(SelfcogError) as info:
        list(read_rows(path))
    assert str(info.value) == (f"{path}:2: unknown row format (keys: text, label); expected one of messages, "
                               "conversations, query/response, instruction/input/output, prompt/completion, "
                               "question/answer")


@pytest.mark.parametrize("row, message", [
    ({"messages": [{"role": "narrator", "content": "x"}, A]}, "unknown role 'narrator'"),
    ({"messages": [U]}, "no assistant turn"),
    ({"messages": []}, "messages must be a non-empty list"),
    ({"query": "hi", "response": 3}, "must be strings"),
    ({"query": "hi", "response": "x", "history": [["only one"]]}, r"history\[0\]"),
    ([1, 2], "expected a JSON object, got list"),
])
def test_malformed_rows_name_file_line_and_problem(tmp_path, row, message):
    path = write_jsonl(tmp_path / "d.jsonl", [qa(0), row])
    with pytest.raises(SelfcogError, match=rf"^{re.escape(str(path))}:2: .*{message}"):
        list(read_rows(path))


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(SelfcogError, match=rf"^{re.escape(str(empty))}: empty dataset$"):
        list(read_rows(empty))
    with pytest.raises(SelfcogError, match=rf"^{re.escape(str(empty))}: empty dataset$"):
        mix(make_recipe(tmp_path, [{"path": str(empty)}]), tmp_path / "out.jsonl")
    missing = tmp_path / "nope.jsonl"
    for call in (read_rows, lambda p: mix(make_recipe(tmp_path, [{"path": str(p)}]), tmp_path / "o")):
        with pytest.raises(SelfcogError, match=rf"^{re.escape(str(missing))}: file not found$"):
            call(missing)
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- real resources


@pytest.mark.parametrize("name", ["identity.jsonl", "general.jsonl"])
def test_real_resources_read_in_full(name):
    assert sum(1 for _ in read_rows(RESOURCES / name)) == lines(RESOURCES / name) > 0
