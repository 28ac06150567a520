"""report.md and a self-contained report.html in the run folder: loss curves, checkpoint scores,
before/after answers side by side."""

from __future__ import annotations

import html
import json
from pathlib import Path


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


def _svg(curves: dict[str, list[tuple[float, float]]], width: int = 560, height: int = 220) -> str:
    points = [p for series in curves.values() for p in series]
    if not points:
        return "<p>No loss was logged.</p>"
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs) or 1, min(ys), max(ys)
    sx = lambda x: 40 + (x - x0) / ((x1 - x0) or 1) * (width - 60)  # noqa: E731
    sy = lambda y: 10 + (y1 - y) / ((y1 - y0) or 1) * (height - 40)  # noqa: E731
    colours = {"loss": "#1f77b4", "eval_loss": "#d62728"}
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
             f'<text x="2" y="14" font-size="11">{y1:.3g}</text>',
             f'<text x="2" y="{height - 30}" font-size="11">{y0:.3g}</text>',
             f'<text x="40" y="{height - 5}" font-size="11">step {x0}</text>',
             f'<text x="{width - 80}" y="{height - 5}" font-size="11">step {x1}</text>']
    for i, (name, series) in enumerate(curves.items()):
        if series:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in series)
            lines.append(f'<polyline fill="none" stroke="{colours[name]}" stroke-width="2" points="{path}"/>')
            lines.append(f'<text x="{width - 120}" y="{20 + 14 * i}" fill="{colours[name]}" font-size="12">{name}</text>')
    lines.append("</svg>")
    return "\n".join(lines)


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_reports(run_dir: Path, manifest: dict, result: dict) -> tuple[Path, Path]:
    """Write report.md and report.html into the run folder; returns both paths."""
    ev = manifest.get("evaluation", {})
    scores = [("identity rate", result["before"]["identity_rate"], result["identity_rate"]),
              ("leak rate", result["before"]["leak_rate"], result["leak_rate"]),
              ("overreach rate", result["before"]["overreach_rate"], result["overreach_rate"])]
    ret = ev.get("retention", result["retention"])
    md = [f"# selfcog-swift report: {run_dir.name}", "",
          f"Checkpoint: `{manifest['checkpoint']['path']}` — {manifest['checkpoint']['reason']}", "",
          f"Gate: {'passed' if manifest.get('gate', {}).get('passed', True) else 'FAILED: ' + '; '.join(manifest['gate']['failures'])}",
          "", "| score | before (zh/en/all) | after (zh/en/all) |", "|---|---|---|"]
    for name, old, new in scores:
        md.append(f"| {name} | {old['zh']}/{old['en']}/{old['all']} | {new['zh']}/{new['en']}/{new['all']} |")
    md += [f"| reference hits | {ret['reference_hit_before']} | {ret['reference_hit_after']} |",
           f"| reference NLL | {ret['nll_before']} | {ret['nll_after']} ({ret['nll_change']}) |", ""]
    if manifest.get("checkpoint_scores"):
        md += ["| checkpoint | identity rate (validation) | overreach rate (validation) | reference NLL |",
               "|---|---|---|---|"]
        md += [f"| {Path(s['path']).name} | {s['identity_rate']} | {s['overreach_rate']} | {s['nll']} |"
               for s in manifest["checkpoint_scores"]]
        md.append("")
    md += ["| question | before | after |", "|---|---|---|"]
    questions = manifest["recipe"]["evaluate"]["questions"]
    md += [f"| {_md_cell(q)} | {_md_cell(b)} | {_md_cell(a)} |"
           for q, b, a in zip(questions, manifest["before"]["questions"], manifest["after"]["questions"])]
    md += [f"| {_md_cell(r['question'])} | {_md_cell(r['before'])} | {_md_cell(r['after'])} |" for r in result["answers"]]
    md_path = run_dir / "report.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    html_path = run_dir / "report.html"
    html_path.write_text(_html(run_dir, md, manifest), encoding="utf-8")
    return md_path, html_path


def _html(run_dir: Path, md: list[str], manifest: dict) -> str:
    """The same content as report.md, tables as HTML, plus the loss curves as inline SVG."""
    body, in_table = [], False
    for line in md:
        if line.startswith("|") and not line.startswith("|---"):
            cells = [html.escape(c.strip().replace("\\|", "|")) for c in line.strip("|").split(" | ")]
            body.append(("<table>" if not in_table else "") + "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            in_table = True
            continue
        if line.startswith("|---"):
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1><h2>Loss</h2>{_svg(loss_curves(run_dir))}")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;margin:1em 0}"
             "td{border:1px solid #ccc;padding:4px 8px;vertical-align:top}tr:first-child td{font-weight:bold}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(run_dir.name)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
