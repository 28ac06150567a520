"""report.md and a self-contained report.html in the run folder: loss curves, checkpoint scores,
before/after answers side by side."""

from __future__ import annotations

import html
import json
import unicodedata
from pathlib import Path
from typing import Optional, Sequence

from .atomic import write_text
from .probes import IDENTITY_SUITES

# Display columns per answer in the terminal table: two side by side fit a 100-column terminal.
ANSWER_WIDTH = 48


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for ch in " ".join(text.split()):
        if _width(line + ch) > width:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line or not lines else lines


def before_after_table(questions: Sequence[str], before: Sequence[str], after: Sequence[str],
                       width: int = ANSWER_WIDTH) -> str:
    """A terminal table: question, the base model's answer, the tuned model's answer."""
    rule = "-" * (width * 2 + len("| " + " | " + " |"))
    rows = [rule, f"| {'before'.ljust(width)} | {'after'.ljust(width)} |", rule]
    for question, old, new in zip(questions, before, after):
        rows.append(f"<<< {question}")
        left, right = _wrap(old, width), _wrap(new, width)
        for i in range(max(len(left), len(right))):
            a = left[i] if i < len(left) else ""
            b = right[i] if i < len(right) else ""
            rows.append(f"| {a}{' ' * (width - _width(a))} | {b}{' ' * (width - _width(b))} |")
        rows.append(rule)
    return "\n".join(rows)


def _r(rate: Optional[dict]) -> str:
    return "-" if not rate else f"{rate['rate']:.2f}"


def _ci(rate: Optional[dict]) -> str:
    return "" if not rate else f"[{rate['ci'][0]:.2f}-{rate['ci'][1]:.2f}] {rate['k']}/{rate['n']}"


def languages(result: dict) -> list[str]:
    """The languages of an evaluation result, in the recipe's order: one column or row each."""
    return list(result["after"]["languages"])


def score_rows(result: dict) -> list[tuple[str, str, str, dict]]:
    """(measure, suite, lang, {"before", "after"}) for every scored cell, in reading order."""
    rows = []
    for measure, suites in (("identity", IDENTITY_SUITES), ("leak", IDENTITY_SUITES),
                            ("overreach", ("general",)), ("exact", ("general",))):
        for suite in (*suites, "all") if len(suites) > 1 else suites:
            for lang in languages(result):
                pick = (lambda side: side["languages"][lang].get(measure)) if suite == "all" else \
                    (lambda side: side["suites"].get(suite, {}).get(lang, {}).get(measure))
                after = pick(result["after"])
                if after:
                    rows.append((measure, suite, lang, {"before": pick(result["before"]), "after": after}))
    return rows


def summary_lines(result: dict, failures: Sequence[str] = ()) -> list[str]:
    """The terminal summary: rates per suite and language (after, with Wilson 95% intervals),
    retention, and the gate."""
    lines = [f"{'measure':<10}{'suite':<10}{'lang':<5}{'before':>7}{'after':>7}  95% CI (after) k/n"]
    for measure, suite, lang, pair in score_rows(result):
        lines.append(f"{measure:<10}{suite:<10}{lang:<5}{_r(pair['before']):>7}{_r(pair['after']):>7}  "
                     f"{_ci(pair['after'])}")
    ret = result["retention"]
    for lang in languages(result):
        drift, real = ret["drift"][lang], ret["real_text"][lang]
        lines.append(f"retention {lang}: drift (NLL of the base's own answers) {_pct(drift['relative'])} "
                     f"({drift['nll_base']} -> {drift['nll_tuned']}), real-text perplexity {_pct(real['perplexity_change'])}")
    lines.append("gate: passed" if not failures else "gate: FAILED: " + "; ".join(failures))
    return lines


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:+.1%}"


def loss_curves(run_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """(step, value) series for train loss and eval_loss from swift's logging.jsonl."""
    curves: dict[str, list[tuple[float, float]]] = {"loss": [], "eval_loss": []}
    path = run_dir / "logging.jsonl"
    if not path.is_file():
        return curves
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        step = str(row.get("global_step/max_steps", "")).split("/")[0]
        for key in curves:
            if isinstance(row.get(key), (int, float)) and step.isdigit():
                curves[key].append((int(step), float(row[key])))
    return curves


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _num(value: Optional[float], digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _markdown(run_dir: Path, manifest: dict, result: dict) -> list[str]:
    gate = manifest.get("gate", {})
    md = [f"# selfcog-swift report: {run_dir.name}", "",
          f"Checkpoint: `{manifest['checkpoint']['path']}` — {manifest['checkpoint']['reason']}", "",
          "Gate: " + ("passed" if gate.get("passed", True) else "FAILED: " + "; ".join(gate.get("failures", []))), "",
          "## Held-out suites", "",
          "| measure | suite | lang | before | after | 95% CI (after) | k/n (after) |", "|---|---|---|---|---|---|---|"]
    for measure, suite, lang, pair in score_rows(result):
        after = pair["after"]
        md.append(f"| {measure} | {suite} | {lang} | {_r(pair['before'])} | {_r(after)} | "
                  f"{after['ci'][0]:.2f}–{after['ci'][1]:.2f} | {after['k']}/{after['n']} |")
    md += ["", "## Retention", "", "| lang | drift: NLL of the base's own answers, base → tuned | change | "
           "real-text NLL before → after | perplexity change |", "|---|---|---|---|---|"]
    for lang in languages(result):
        drift, real = result["retention"]["drift"][lang], result["retention"]["real_text"][lang]
        md.append(f"| {lang} | {_num(drift['nll_base'])} → {_num(drift['nll_tuned'])} | {_pct(drift['relative'])} | "
                  f"{_num(real['nll_before'])} → {_num(real['nll_after'])} | {_pct(real['perplexity_change'])} |")
    if manifest.get("checkpoint_scores"):
        md += ["", "## Checkpoints (swift's validation split)", "",
               "| checkpoint | identity rate | overreach rate | validation reference NLL |", "|---|---|---|---|"]
        md += [f"| {Path(s['path']).name}{' (chosen)' if s['path'] == manifest['checkpoint']['path'] else ''} | "
               f"{s['identity_rate']:.2f} | {s['overreach_rate']:.2f} | {_num(s['nll'])} |"
               for s in manifest["checkpoint_scores"]]
    md += ["", "## Answers", "", "| question | before | after |", "|---|---|---|"]
    questions = manifest["recipe"]["evaluate"]["questions"]
    md += [f"| {_md_cell(q)} | {_md_cell(b)} | {_md_cell(a)} |"
           for q, b, a in zip(questions, manifest["before"]["questions"], manifest["after"]["questions"])]
    md += ["", "| suite | lang | question | before | after |", "|---|---|---|---|---|"]
    md += [f"| {r['suite']} | {r['lang']} | {_md_cell(r['question'])} | {_md_cell(r['before'])} | {_md_cell(r['after'])} |"
           for r in result["answers"]]
    return md


def write_reports(run_dir: Path, manifest: dict, result: dict) -> tuple[Path, Path]:
    """Write report.md and a self-contained report.html into the run folder; returns both paths."""
    md = _markdown(run_dir, manifest, result)
    md_path = run_dir / "report.md"
    write_text(md_path, "\n".join(md) + "\n")
    html_path = run_dir / "report.html"
    write_text(html_path, _html(run_dir, md, _charts(run_dir, manifest, result)))
    return md_path, html_path


def _step(path: str) -> Optional[int]:
    tail = Path(path).name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _charts(run_dir: Path, manifest: dict, result: dict) -> dict[str, str]:
    """Section title → SVG, placed before the section's table."""
    from .charts import bar_chart, line_chart

    chosen = _step(manifest["checkpoint"]["path"])
    loss = line_chart(loss_curves(run_dir), "training step", "loss (mean token NLL, nats)",
                      "loss and eval loss per step", mark=chosen, mark_label=f"chosen: step {chosen}")
    groups = []
    for measure in ("identity", "leak", "overreach", "exact"):
        for lang in languages(result):
            bars = [(side, (rate or {}).get("rate"), tuple((rate or {}).get("ci", ())) or None)
                    for side, rate in (("before", result["before"]["languages"][lang].get(measure)),
                                       ("after", result["after"]["languages"][lang].get(measure)))]
            if any(value is not None for _, value, _ in bars):
                groups.append((f"{measure} {lang}", bars))
    rates = bar_chart(groups, "share of answers (95% CI)", "before and after per language")
    charts = {"## Held-out suites": rates}
    scores = manifest.get("checkpoint_scores") or []
    if scores:
        series = {"identity rate": [(s.get("step") or _step(s["path"]), s["identity_rate"]) for s in scores],
                  "overreach rate": [(s.get("step") or _step(s["path"]), s["overreach_rate"]) for s in scores]}
        charts["## Checkpoints (swift's validation split)"] = line_chart(
            series, "checkpoint step", "share of validation answers", "identity and overreach per checkpoint",
            mark=chosen, mark_label="chosen", y_range=(0.0, 1.0))
    charts["# "] = loss
    return charts


def _html(run_dir: Path, md: list[str], charts: dict[str, str]) -> str:
    """The same content as report.md, tables as HTML, with the charts as inline SVG."""
    body, in_table = [], False
    for line in md:
        if line.startswith("|") and not line.startswith("|---"):
            cells = [html.escape(c.strip().replace("\\|", "|")) for c in line.strip("|").split(" | ")]
            tag = "th" if not in_table else "td"
            body.append(("<table>" if not in_table else "") + "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>")
            in_table = True
            continue
        if line.startswith("|---"):
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1><h2>Loss</h2>{charts['# ']}")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>{charts.get(line, '')}")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}th{background:#f4f4f4}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(run_dir.name)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
