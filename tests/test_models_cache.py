"""`selfcog_swift.models` registry and cache: builtin ids and paths, and `prepare` building once, atomically,
with a completeness marker, a build lock, stale-folder sweeping and rebuilds of damaged or outdated folders."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, _sha, _tmp_dirs
from selfcog_swift import models
from selfcog_swift.errors import SelfcogError
from selfcog_swift.models import MARKER, builtin_dir, prepare, read_marker


# -- pure API -----------------------------------------------------------------------------------

def test_builtin_dir_follows_selfcog_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))
    assert builtin_dir("tiny") == tmp_path / "models" / "tiny"
    assert models.resolve_model("builtin:tiny-qwen3") == (str(tmp_path / "models" / "tiny-qwen3"), "qwen3", "qwen3")
    assert models.resolve_model("Qwen/Qwen2.5-0.5B-Instruct") == ("Qwen/Qwen2.5-0.5B-Instruct", None, None)


def test_unknown_builtin_is_a_selfcog_error():
    with pytest.raises(SelfcogError, match="unknown builtin model 'nope'"):
        prepare("nope")


def test_every_builtin_has_a_builder_and_recipe_version():
    assert set(models.cache._BUILDERS) == set(models.BUILTINS) == set(models.RECIPE_VERSIONS)


def test_importing_models_does_not_import_the_ml_stack():
    """`render` resolves builtin ids through this package: it must stay light."""
    code = ("import sys, selfcog_swift.models; "
            "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'swift') if m in sys.modules]; "
            "assert not heavy, heavy")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# -- prepare: reuse, rebuild, atomic install, lock -------------------------------------------------

def test_second_prepare_reuses_the_folder(tiny):
    marker = tiny / MARKER
    before = (marker.stat().st_mtime_ns, (tiny / "model.safetensors").stat().st_ino)
    assert prepare("tiny") == tiny
    assert prepare("tiny", verify=True) == tiny
    assert (marker.stat().st_mtime_ns, (tiny / "model.safetensors").stat().st_ino) == before


def test_reuse_does_not_import_torch(tiny, model_cache):
    code = ("import sys; from selfcog_swift.models import prepare; print(prepare('tiny', verify=True)); "
            "heavy = [m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules]; "
            "assert not heavy, heavy")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "SELFCOG_CACHE": str(model_cache)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tiny)


def test_force_rebuilds_identically(tiny):
    before = read_marker(tiny)
    mtime = (tiny / MARKER).stat().st_mtime_ns
    assert prepare("tiny", force=True) == tiny
    after = read_marker(tiny)
    assert (tiny / MARKER).stat().st_mtime_ns != mtime
    assert after["files"] == before["files"]  # same corpus and seed: byte-identical weights and tokenizer
    assert _tmp_dirs(tiny.parent.parent) == []


def test_incomplete_or_damaged_folders_are_rebuilt(tiny):
    weights = tiny / "model.safetensors"
    good = _sha(weights)

    (tiny / MARKER).unlink()  # an interrupted build: no marker
    assert not models.is_prepared("tiny")
    prepare("tiny")
    assert read_marker(tiny) is not None and _sha(weights) == good

    with open(weights, "ab") as fh:  # a size change is caught cheaply
        fh.write(b"x")
    assert not models.is_prepared("tiny")
    prepare("tiny")
    assert _sha(weights) == good

    data = bytearray(weights.read_bytes())  # same size, other bytes: only verify=True notices
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    mtime = (tiny / MARKER).stat().st_mtime_ns
    prepare("tiny")
    assert (tiny / MARKER).stat().st_mtime_ns == mtime and _sha(weights) != good
    assert not models.is_prepared("tiny", verify=True)
    prepare("tiny", verify=True)
    assert _sha(weights) == good
    assert _tmp_dirs(tiny.parent.parent) == []


def test_old_recipe_version_is_rebuilt(tiny, monkeypatch):
    monkeypatch.setitem(models.RECIPE_VERSIONS, "tiny", models.RECIPE_VERSIONS["tiny"] + 1)
    assert not models.is_prepared("tiny")
    prepare("tiny")
    assert read_marker(tiny)["recipe_version"] == models.RECIPE_VERSIONS["tiny"]


def test_a_failing_builder_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))

    def broken(out):
        (out / "config.json").write_text("{}")
        raise RuntimeError("disk full\nsecond line")

    monkeypatch.setitem(models.cache._BUILDERS, "tiny", broken)
    with pytest.raises(SelfcogError, match="building builtin:tiny failed: RuntimeError: disk full second line"):
        prepare("tiny")
    assert not builtin_dir("tiny").exists() and _tmp_dirs(tmp_path) == []


def test_install_keeps_a_concurrent_winner(tmp_path, monkeypatch):
    """Without the lock (another OS, NFS), a builder that finds a complete folder in place keeps it."""
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))
    dest = builtin_dir("tiny")
    for folder, payload in ((dest, b"winner"), (tmp_path / "models" / ".tiny.tmp-late", b"loser")):
        folder.mkdir(parents=True)
        (folder / "config.json").write_bytes(payload)
        models.cache._write_marker(folder, "tiny", {}, 0.0)
    late = tmp_path / "models" / ".tiny.tmp-late"
    models.cache._install(late, dest, "tiny", force=False)
    assert (dest / "config.json").read_bytes() == b"winner"
    models.cache._install(late, dest, "tiny", force=True)
    assert (dest / "config.json").read_bytes() == b"loser" and not late.exists()
    assert _tmp_dirs(tmp_path) == []


def test_install_replaces_an_incomplete_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFCOG_CACHE", str(tmp_path))
    dest = builtin_dir("tiny")
    dest.mkdir(parents=True)
    (dest / "half-written.bin").write_bytes(b"x")
    new = tmp_path / "models" / ".tiny.tmp-new"
    new.mkdir()
    (new / "config.json").write_text("{}")
    models.cache._write_marker(new, "tiny", {}, 0.0)
    models.cache._install(new, dest, "tiny", force=False)
    assert sorted(p.name for p in dest.iterdir()) == ["config.json", MARKER]
    assert _tmp_dirs(tmp_path) == []


def test_concurrent_prepares_build_once(tmp_path):
    code = ("import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr); "
            "from selfcog_swift.models import prepare; print(prepare('tiny'))")
    env = {**os.environ, "SELFCOG_CACHE": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err[-2000:] for _, err in results]
    assert {out.strip() for out, _ in results} == {str(tmp_path / "models" / "tiny")}
    assert sum(err.count("building builtin:tiny into") for _, err in results) == 1
    assert models.cache._folder_problem(tmp_path / "models" / "tiny", "tiny", verify=True) is None
    assert _tmp_dirs(tmp_path) == []
