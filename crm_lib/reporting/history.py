"""``reports/index.html``: every published batch, and each study's numbers over time.

Read from the ``batch.json`` of every batch folder under the reports folder (the runs,
their status and recorded metrics). For each run name (a study, e.g. ``03_segmentation``)
and each numeric headline metric, a small line chart shows the value batch by batch; a
batch in which that run failed is marked on the time axis with a red cross, so a gap in
a line is explained. The page is one self-contained file (inline SVG, no script), rewritten
after every published batch and after ``crm report prune``.
"""

from __future__ import annotations

import html
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["HISTORY_FILE", "collect_history", "write_history_html"]

log = logging.getLogger("crm_lib.reporting")

HISTORY_FILE = "index.html"

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, "Noto Sans CJK SC", sans-serif;
       margin: 2rem auto; max-width: 78rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }
.failed { color: #a50e0e; font-weight: 600; } .succeeded { color: #1e6b34; }
.charts { display: flex; flex-wrap: wrap; gap: .8rem; }
figure { margin: 0; width: 15rem; } figcaption { font-size: .8rem; overflow-wrap: anywhere; }
details { margin: .6rem 0; } summary { cursor: pointer; font-weight: 600; }
"""


@dataclass
class Batch:
    """One published batch as the history page shows it."""

    run_id: str
    started_at: str
    status: str
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> run record


def collect_history(reports_dir: str | Path) -> list[Batch]:
    """Every published batch under ``reports_dir``, oldest first (a broken one is skipped)."""
    out = []
    for path in sorted(Path(reports_dir).glob("*/batch.json")):
        if path.parent.name.startswith(".") or path.parent.is_symlink():
            continue  # partial batches and the `latest` link
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            runs = {r["name"]: r for r in data.get("runs", [])}
            out.append(Batch(data["run_id"], data.get("started_at", ""), data["status"], runs))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("history: skipping %s (%s)", path, exc)
    return sorted(out, key=lambda b: (b.started_at, b.run_id))


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _chart(points: list[tuple[int, float | None, bool]], n: int) -> str:
    """An inline SVG line chart: x = batch index, y = value; failed batches as red crosses."""
    w, h, pad = 240, 90, 8
    values = [v for _, v, _ in points if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 1, hi + 1

    def x(i: int) -> float:
        return pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return h - pad - (h - 2 * pad) * (v - lo) / (hi - lo)

    parts = [f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">']
    parts.append(f'<rect x="0" y="0" width="{w}" height="{h}" fill="#fafafa"/>')
    line = [(x(i), y(v)) for i, v, _ in points if v is not None]
    if len(line) > 1:
        coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in line)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="#1e88e5" stroke-width="2"/>')
    for a, b in line:
        parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="#1e88e5"/>')
    for i, _, failed in points:
        if failed:
            cx, cy = x(i), h - pad
            parts.append(
                f'<path d="M{cx - 4:.1f},{cy - 4:.1f} L{cx + 4:.1f},{cy + 4:.1f} '
                f'M{cx - 4:.1f},{cy + 4:.1f} L{cx + 4:.1f},{cy - 4:.1f}" stroke="#a50e0e" '
                'stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def write_history_html(reports_dir: str | Path) -> Path:
    """Write ``<reports_dir>/index.html`` from the published batches; return its path."""
    root = Path(reports_dir)
    batches = collect_history(root)
    esc = html.escape
    rows = "\n".join(
        f'<tr><td><a href="{esc(b.run_id)}/index.html"><code>{esc(b.run_id)}</code></a></td>'
        f"<td>{esc(b.started_at)}</td><td class={esc(b.status)}>{esc(b.status)}</td>"
        f"<td>{len(b.runs)}</td>"
        f"<td>{esc(', '.join(n for n, r in b.runs.items() if r.get('status') != 'succeeded'))}</td></tr>"
        for b in reversed(batches)
    )
    names: list[str] = []
    for b in batches:
        names += [n for n in b.runs if n not in names]
    sections = []
    for name in names:
        metrics: list[str] = []
        for b in batches:
            for k, v in (b.runs.get(name, {}).get("metrics") or {}).items():
                if _numeric(v) is not None and k not in metrics:
                    metrics.append(k)
        figures = []
        for metric in metrics:
            points = []
            for i, b in enumerate(batches):
                run = b.runs.get(name)
                value = _numeric((run or {}).get("metrics", {}).get(metric)) if run else None
                failed = run is not None and run.get("status") != "succeeded"
                points.append((i, value, failed))
            last = next((v for _, v, _ in reversed(points) if v is not None), None)
            shown = "" if last is None else f" = {last:.4g}"
            figures.append(
                f"<figure>{_chart(points, len(batches))}"
                f"<figcaption><code>{esc(metric)}</code>{esc(shown)}</figcaption></figure>"
            )
        failures = sum(
            1 for b in batches if name in b.runs and b.runs[name].get("status") != "succeeded"
        )
        note = f' <span class="failed">({failures} failed)</span>' if failures else ""
        body = (
            f'<div class="charts">{"".join(figures)}</div>'
            if figures
            else "<p>No numbers recorded.</p>"
        )
        sections.append(f"<details><summary>{esc(name)}{note}</summary>{body}</details>")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reports: all batches</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Reports: all batches</h1>
<p>{len(batches)} published batches in this folder, newest first; <a href="latest/index.html">the latest</a>.
Each study's recorded numbers over the batches follow (x: batch, oldest left; a red cross: the
run failed in that batch).</p>
<table>
<thead><tr><th>Batch</th><th>Started (UTC)</th><th>Status</th><th>Runs</th><th>Failed runs</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<h2>Headline numbers over time</h2>
{"".join(sections)}
</body>
</html>
"""
    path = root / HISTORY_FILE
    tmp = root / f".{HISTORY_FILE}.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
