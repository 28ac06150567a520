"""End to end on the real ms-swift: the smoke recipe with a third language (Japanese, added from the
command line) trains the tiny model on zh, en and ja identity rows, and the evaluation, the manifest
and the report carry all three languages."""

import json
from pathlib import Path

import pytest

from conftest import run_cli

pytestmark = pytest.mark.e2e

JA_NAME, JA_AUTHOR = "扁倉", "斉魯工大NLPグループ"


def test_three_languages_train_evaluate_and_report(tmp_path):
    out = tmp_path / "out"
    # A short run: the pipeline, not what a 0.75M random model learns (test_driver.py holds that bar).
    result = run_cli("run", "recipes/smoke.yaml", "--set", f"output_dir={out}",
                     "--set", f"identity.name.ja={JA_NAME}", "--set", f"identity.author.ja={JA_AUTHOR}",
                     "--set", "train.max_steps=60", "--set", "train.save_steps=30", "--set", "train.eval_steps=30",
                     "--set", "evaluate.min_identity_rate=0",
                     # No public Japanese text ships for the real-text measure: ja is left unbounded there.
                     "--set", "evaluate.max_perplexity_increase={zh: 10, en: 10, ja: null}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    run_dir = Path(next(out.glob("v*-*/manifest.json")).parent)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))

    # The mix: identity rows in all three languages, each filled with that language's forms.
    counts = manifest["data"]["identity_languages"]
    assert set(counts) == {"zh", "en", "ja"} and min(counts.values()) > 0, counts
    answers = [json.loads(line)["messages"][-1]["content"]
               for line in Path(manifest["data"]["path"]).read_text(encoding="utf-8").splitlines()]
    assert sum(JA_NAME in a and JA_AUTHOR in a for a in answers) >= counts["ja"] // 2
    assert not any("{{" in a for a in answers)

    # The evaluation: one key per language, the Japanese suites scored.
    evaluation = manifest["evaluation"]
    for side in ("before", "after"):
        assert list(evaluation[side]["languages"]) == ["zh", "en", "ja"]
    ja = evaluation["after"]["languages"]["ja"]
    assert ja["identity"]["n"] >= 20 and ja["overreach"]["n"] >= 20, ja
    assert list(evaluation["retention"]["drift"]) == ["zh", "en", "ja"]
    assert manifest["gate"]["passed"], manifest["gate"]

    # The report: rows for ja in the held-out table and the retention table.
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    held_out, retention = report.split("## Retention")[0], report.split("## Retention")[1].split("##")[0]
    for lang in ("zh", "en", "ja"):
        assert f"| identity | all | {lang} |" in held_out and f"| {lang} |" in retention
