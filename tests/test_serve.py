"""serve: the smoke run's merged model behind `swift deploy`, asked through the official openai client."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, run_cli

QUESTIONS = ["你是谁？", "你是由谁开发的？", "Who are you?", "Who developed you?"]


@pytest.fixture(scope="module")
def smoke_manifest(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve") / "out"
    result = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return json.loads((out / ".selfcog" / "state.json").read_text())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's whole process group, bounded wait, SIGKILL if it does not go."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if _group_alive(proc.pid):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_for_models(proc, log, client, deadline):
    """The base URL serve printed, and the served model names once /v1/models answers."""
    import openai

    while True:
        text = log.read_text(encoding="utf-8", errors="replace")
        assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{text[-3000:]}"
        assert time.monotonic() < deadline, f"serve did not answer /v1/models in time:\n{text[-3000:]}"
        found = re.search(r"on (http://127\.0\.0\.1:\d+/v1) \(Ctrl-C stops\)", text)
        if found:
            try:
                return found.group(1), [m.id for m in client(found.group(1)).models.list()]
            except openai.APIConnectionError:
                pass
        time.sleep(0.5)


@pytest.mark.e2e
def test_served_model_keeps_its_identity_with_and_without_a_system_message(smoke_manifest, tmp_path):
    from openai import OpenAI

    identity = smoke_manifest["recipe"]["identity"]
    forms = [identity[key][lang] for key in ("name", "author") for lang in ("zh", "en")]
    system = smoke_manifest["recipe"]["model"]["system"]
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "w", encoding="utf-8") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "selfcog_swift", "serve", smoke_manifest["run_dir"],
                                 "--host", "127.0.0.1", "--port", str(port)],
                                cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    try:
        def client(url):
            return OpenAI(base_url=url, api_key="EMPTY", timeout=120, max_retries=0)

        base_url, models = _wait_for_models(proc, log, client, started + 120)
        print(f"serve answered /v1/models after {time.monotonic() - started:.1f} s")
        assert base_url == f"http://127.0.0.1:{port}/v1"
        assert models == [os.path.basename(smoke_manifest["merged"])]
        assert f'model="{models[0]}"' in log.read_text(encoding="utf-8")  # the printed openai snippet
        for prefix in ([], [{"role": "system", "content": system}]):
            answers = [client(base_url).chat.completions.create(
                model=models[0], messages=[*prefix, {"role": "user", "content": question}],
                temperature=0, max_tokens=48).choices[0].message.content for question in QUESTIONS]
            hits = sum(any(form in answer for form in forms) for answer in answers)
            assert hits >= 3, (prefix, answers)
    finally:
        _stop(proc)
    assert proc.returncode is not None and not _group_alive(proc.pid)
    assert not _port_open(port)


def test_serve_on_a_folder_that_is_no_model_is_one_line_exit_2(tmp_path):
    result = run_cli("serve", str(tmp_path))
    assert result.returncode == 2 and "not a model folder" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.e2e
def test_serving_beyond_loopback_answers_only_the_right_api_key(tmp_path):
    """`serve builtin:tiny` (the builtin id resolved as in recipes, not sent to a hub) on every
    interface: a wrong or missing key gets 401, the right key an answer; the key never reaches the log."""
    import urllib.error
    import urllib.request

    import openai
    from openai import OpenAI

    key = "s3cret-key-for-this-test"
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "w", encoding="utf-8") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "selfcog_swift", "serve", "builtin:tiny", "--host", "0.0.0.0",
                                 "--port", str(port), "--api-key", key],
                                cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def client(url, api_key=key):
            return OpenAI(base_url=url, api_key=api_key, timeout=120, max_retries=0)

        base_url, models = _wait_for_models(proc, log, client, time.monotonic() + 180)
        ask = {"model": models[0], "messages": [{"role": "user", "content": "Who are you?"}], "max_tokens": 8}
        with pytest.raises(openai.AuthenticationError) as wrong:
            client(base_url, "wrong-key").chat.completions.create(**ask)
        assert wrong.value.status_code == 401
        with pytest.raises(urllib.error.HTTPError) as bare:  # no Authorization header at all
            urllib.request.urlopen(urllib.request.Request(f"{base_url}/chat/completions", data=json.dumps(ask).encode(),
                                                          headers={"Content-Type": "application/json"}), timeout=60)
        assert bare.value.code == 401
        reply = client(base_url).chat.completions.create(**ask)
        assert reply.choices[0].message.content is not None and reply.usage.completion_tokens > 0
    finally:
        _stop(proc)
    assert key not in log.read_text(encoding="utf-8")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.org"])
def test_serving_beyond_loopback_without_a_key_is_refused_before_anything_loads(host):
    result = run_cli("serve", "builtin:tiny", "--host", host)
    assert result.returncode == 2 and "--api-key" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_loopback_hosts():
    from selfcog_swift.serve import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "", "10.0.0.1", "192.168.1.2", "localhost.evil.org"))


def test_hub_failure_is_one_line_naming_the_model():
    from modelscope_hub.errors import NetworkError

    from selfcog_swift.errors import SelfcogError
    from selfcog_swift.invocation import hub_failures

    with pytest.raises(SelfcogError) as caught:
        with hub_failures("nobody/no-such-model"):
            try:
                raise NetworkError("[E1020] Connection failed: name resolution\nmore detail")
            except NetworkError as exc:  # swift wraps hub errors in its own at times
                raise RuntimeError("download failed") from exc
    assert str(caught.value).startswith("nobody/no-such-model: the model hub cannot give this model (NetworkError")
    assert "\n" not in str(caught.value)
    with pytest.raises(KeyError):  # anything else keeps its traceback
        with hub_failures("x"):
            raise KeyError("not a hub problem")
