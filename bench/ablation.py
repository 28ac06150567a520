"""`make ablation`: the demo recipe under several data mixes, same seed and steps, scored on the
held-out suites. Prints one table and writes bench/ablation.json.

Variants share one output dir, so the base model's replay answers (cached by model, prompts and
settings) and its evaluation answers (cached by model, probes and settings) are computed once.

    .venv/bin/python bench/ablation.py                  # every variant
    .venv/bin/python bench/ablation.py --only ii,iv     # some of them
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
# Gates off: every variant runs to the end and is measured.
NO_GATE = ["evaluate.min_identity_rate=0", "evaluate.max_leak_rate=1", "evaluate.max_overreach_rate=1",
           "evaluate.max_drift=100", "evaluate.max_perplexity_increase=100"]
TWO_PROCESSES = ["launch.nproc_per_node=2", "launch.ddp_backend=gloo", "train.batch_size=4"]
GREEDY = "{sample: 400, temperature: 0}"
SAMPLED = "{sample: 400, temperature: 0.7, top_p: 0.9}"
VARIANTS = {
    "i": ("hand-written general rows (the old demo mix)", ["data.datasets=[{path: builtin:general, sample: 400}]",
                                                           "data.replay=null"]),
    "ii": ("greedy replay instead of the general rows", ["data.datasets=[]", f"data.replay={GREEDY}"]),
    "iii": ("sampled replay (T 0.7, top-p 0.9) instead", ["data.datasets=[]", f"data.replay={SAMPLED}"]),
    "iv": ("greedy replay plus 200 general rows", ["data.datasets=[{path: builtin:general, sample: 200}]",
                                                   f"data.replay={GREEDY}"]),
    "v": ("identity rows only", ["data.datasets=[]", "data.replay=null"]),
    "vi": ("greedy replay, half the learning rate", ["data.datasets=[]", f"data.replay={GREEDY}",
                                                     "train.learning_rate=5.0e-4"]),
    "vii": ("greedy replay, twice the identity rows (400)", ["data.datasets=[]", f"data.replay={GREEDY}",
                                                            "data.self_cognition=400"]),
    "viii": ("sampled replay, twice the identity rows (400)", ["data.datasets=[]", f"data.replay={SAMPLED}",
                                                              "data.self_cognition=400"]),
    "ix": ("the old demo mix, batches grouped by length", ["data.datasets=[{path: builtin:general, sample: 400}]",
                                                             "data.replay=null", "swift_args.sft.group_by_length=true"]),
    "x": ("greedy replay, 400 identity rows, batches grouped by length",
          ["data.datasets=[]", f"data.replay={GREEDY}", "data.self_cognition=400", "swift_args.sft.group_by_length=true"]),
    "xi": ("viii with batches of similar length (train.batches)", ["data.datasets=[]", f"data.replay={SAMPLED}",
                                                                   "data.self_cognition=400",
                                                                   "train.batches=similar_length"]),
    "xii": ("viii on two training processes of one thread, 4 rows each",
            ["data.datasets=[]", f"data.replay={SAMPLED}", "data.self_cognition=400", *TWO_PROCESSES]),
}


def run_variant(name: str, sets: list[str], out: Path) -> dict:
    args = [t for s in [f"output_dir={out}", *NO_GATE, *sets] for t in ("--set", s)]
    start = time.perf_counter()
    log = out.parent / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        code = subprocess.call([PY, "-m", "selfcog_swift", "run", "recipes/demo.yaml", *args], cwd=ROOT,
                               stdout=handle, stderr=subprocess.STDOUT, env={**os.environ})
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"variant {name} failed (exit {code}); see {log}")
    manifest = json.loads((out / ".selfcog" / "state.json").read_text(encoding="utf-8"))
    return row(name, manifest, seconds)


def _rate(cell) -> float | None:
    return None if not cell else cell["rate"]


def row(name: str, manifest: dict, seconds: float) -> dict:
    ev = manifest["evaluation"]
    after = ev["after"]
    result = {"variant": name, "what": VARIANTS[name][0], "wall_seconds": round(seconds),
              "stages": {s["name"]: s["seconds"] for s in manifest["stages"]}, "run_dir": manifest["run_dir"],
              "data": {s["name"]: s["written"] for s in manifest["data"]["sources"]}}
    for lang in ("zh", "en"):
        langs = after["languages"][lang]
        result[lang] = {
            "identity": {suite: _rate(after["suites"][suite][lang].get("identity"))
                         for suite in ("direct", "multiturn", "system", "traps")} | {"all": _rate(langs["identity"])},
            "leak": _rate(langs["leak"]), "overreach": _rate(langs["overreach"]), "exact": _rate(langs["exact"]),
            "exact_base": _rate(ev["before"]["languages"][lang]["exact"]),
            "drift": ev["retention"]["drift"][lang]["relative"],
            "perplexity_change": ev["retention"]["real_text"][lang]["perplexity_change"],
        }
    return result


def table(rows: list[dict]) -> str:
    head = (f"{'variant':<8}{'lang':<5}{'ident':>6}{'direct':>7}{'multi':>6}{'system':>7}{'traps':>6}{'leak':>6}"
            f"{'overr':>6}{'exact':>6}{'drift':>8}{'ppl':>8}{'wall s':>8}")
    lines = [head]
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    pct = lambda v: "-" if v is None else f"{v:+.1%}"  # noqa: E731
    for r in rows:
        for lang in ("zh", "en"):
            m = r[lang]
            lines.append(f"{r['variant']:<8}{lang:<5}{fmt(m['identity']['all']):>6}{fmt(m['identity']['direct']):>7}"
                         f"{fmt(m['identity']['multiturn']):>6}{fmt(m['identity']['system']):>7}"
                         f"{fmt(m['identity']['traps']):>6}{fmt(m['leak']):>6}{fmt(m['overreach']):>6}"
                         f"{fmt(m['exact']):>6}{pct(m['drift']):>8}{pct(m['perplexity_change']):>8}"
                         f"{r['wall_seconds'] if lang == 'zh' else '':>8}")
    lines += [f"  {r['variant']}: {r['what']}" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(VARIANTS), help="comma-separated variants: " + ", ".join(VARIANTS))
    parser.add_argument("--work", default=str(ROOT / "output" / "ablation"), help="output dir shared by the runs")
    parser.add_argument("--out", default=str(ROOT / "bench" / "ablation.json"))
    args = parser.parse_args()
    path = Path(args.out)
    saved = json.loads(path.read_text()) if path.is_file() else {"rows": []}
    rows = {r["variant"]: r for r in saved["rows"]}
    for name in args.only.split(","):
        print(f"ablation: {name}: {VARIANTS[name][0]} …", flush=True)
        rows[name] = run_variant(name, VARIANTS[name][1], Path(args.work) / "out")
        ordered = [rows[k] for k in VARIANTS if k in rows]
        path.write_text(json.dumps({"recipe": "recipes/demo.yaml", "rows": ordered}, ensure_ascii=False, indent=2)
                        + "\n")
    print(table([rows[k] for k in VARIANTS if k in rows]))
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
