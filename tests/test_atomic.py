"""atomic.py: readers see a whole old file or a whole new one; bad JSON is one line naming the file."""

import json
import os
import subprocess
import sys
import time

import pytest

from selfcog_swift.atomic import read_json, write_json, write_text, writing
from selfcog_swift.errors import SelfcogError

WRITER = """
import sys, time
from selfcog_swift.atomic import write_json
path, stop = sys.argv[1], time.time() + float(sys.argv[2])
n = 0
while time.time() < stop:
    n += 1
    write_json(path, {"n": n, "pad": "x" * (200_000 + n % 7 * 10_000)})
print(n)
"""


def test_reader_never_sees_a_partial_file(tmp_path):
    """A writer in another process rewrites a 200 KB file in a loop; every read parses."""
    path = tmp_path / "state.json"
    write_json(path, {"n": 0, "pad": ""})
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "3"], stdout=subprocess.PIPE, text=True)
    reads, seen = 0, set()
    while writer.poll() is None:
        seen.add(read_json(path, "state")["n"])  # raises on a partial file
        reads += 1
    writes = int(writer.stdout.read())
    assert writer.returncode == 0
    assert writes > 10 and reads > 10 and len(seen) > 2, (writes, reads, seen)
    assert not [p for p in os.listdir(tmp_path) if p != "state.json"], "temporary files left behind"


def test_unique_temp_names_and_mode(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    with writing(path) as first, writing(path) as second:
        assert first.name != second.name
        first.write("one")
        second.write("two")
    assert path.read_text() == "one"  # the outer one replaced last
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)
    write_text(path, "three")
    assert path.stat().st_mode & 0o777 == 0o640


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"ok": True})
    with pytest.raises(RuntimeError):
        with writing(path) as handle:
            handle.write('{"half":')
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"ok": True}
    assert os.listdir(tmp_path) == ["m.json"]


@pytest.mark.parametrize("text, word", [('{"recipe": {"a": 1', "truncated"), ("{]", "corrupt"), ("", "truncated")])
def test_bad_json_is_one_line_naming_the_file(tmp_path, text, word):
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(SelfcogError) as info:
        read_json(path, "run state")
    message = str(info.value)
    assert str(path) in message and word in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(SelfcogError, match="manifest missing"):
        read_json(tmp_path / "manifest.json", "manifest")
