"""The run's terminal: swift's output into the log, ours on screen, warnings surfaced."""

import json
import os
import time

from selfcog_swift.console import POLL_SECONDS, Console, read_new_lines, training_bar


def test_quiet_console_sends_swift_output_to_the_log_and_keeps_ours(tmp_path, capfd):
    log = tmp_path / "logs" / "swift.log"
    console = Console(log)
    console.echo("banner")
    with console.swift_output():
        os.write(1, b"[INFO:swift] model repr\n")
        os.write(2, b"[WARNING:swift] something odd\n")
        console.echo("our line inside")
    out, err = capfd.readouterr()
    text = log.read_text()
    assert "model repr" in text and "something odd" in text
    assert "banner" in out and "our line inside" in out and "model repr" not in out + err
    assert "swift: [WARNING:swift] something odd" in out  # warnings are shown under the stage


def test_verbose_console_streams_everything(tmp_path, capfd):
    console = Console(tmp_path / "swift.log", verbose=True)
    with console.swift_output():
        os.write(1, b"[INFO:swift] streamed\n")
    assert "streamed" in capfd.readouterr().out and not (tmp_path / "swift.log").exists()


def test_the_log_moves_into_the_run_folder(tmp_path):
    console = Console(tmp_path / ".selfcog" / "swift.log")
    with console.swift_output():
        os.write(1, b"first stage\n")
    console.move_log(tmp_path / "v0-run")
    with console.swift_output():
        os.write(1, b"second stage\n")
    assert (tmp_path / "v0-run" / "logs" / "swift.log").read_text() == "first stage\nsecond stage\n"
    assert not (tmp_path / ".selfcog" / "swift.log").exists()


def test_training_bar_follows_swifts_log(tmp_path, capfd):
    console = Console(tmp_path / "swift.log")
    run = tmp_path / "v0-20260101-000000"
    run.mkdir()
    with training_bar(console, str(tmp_path), set()):
        (run / "logging.jsonl").write_text("".join(json.dumps({"global_step/max_steps": f"{s}/40"}) + "\n"
                                                  for s in (10, 20, 40)))
    assert "40/40" in capfd.readouterr().err


def test_new_lines_are_read_from_the_offset_and_a_partial_last_line_waits(tmp_path):
    log = tmp_path / "logging.jsonl"
    log.write_bytes(b'{"global_step/max_steps": "1/4"}\n{"global_step/max_st')
    lines, offset = read_new_lines(log, 0)
    assert lines == ['{"global_step/max_steps": "1/4"}']
    assert offset == len(b'{"global_step/max_steps": "1/4"}\n')  # the half-written record is not consumed
    assert read_new_lines(log, offset) == ([], offset)
    with log.open("ab") as handle:
        handle.write(b'eps": "2/4"}\n{"global_step/max_steps": "3/4"}\n')
    lines, offset = read_new_lines(log, offset)
    assert [json.loads(line)["global_step/max_steps"] for line in lines] == ["2/4", "3/4"]
    assert offset == log.stat().st_size


def test_a_rewritten_shorter_log_is_read_from_its_start(tmp_path):
    log = tmp_path / "logging.jsonl"
    log.write_text("a\nb\nc\n")
    _, offset = read_new_lines(log, 0)
    log.write_text("d\n")
    assert read_new_lines(log, offset) == (["d"], 2)


def test_training_bar_reads_a_record_split_across_writes(tmp_path, capfd):
    console = Console(tmp_path / "swift.log")
    run = tmp_path / "v0-20260101-000000"
    run.mkdir()
    record = (json.dumps({"global_step/max_steps": "7/8"}) + "\n").encode()
    with training_bar(console, str(tmp_path), set()):
        with (run / "logging.jsonl").open("wb", buffering=0) as handle:
            handle.write(record[:10])
            time.sleep(2.5 * POLL_SECONDS)  # the bar polls while the record is half written
            handle.write(record[10:])
    assert "7/8" in capfd.readouterr().err
