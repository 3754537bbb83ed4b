"""The batch overview: ``index.html`` for people, ``batch.json`` for machines."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from crm_lib.reporting.results import BatchResult, RunResult

__all__ = ["write_batch_json", "write_index_html"]

_MAX_METRICS = 8

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, "Noto Sans CJK SC", sans-serif;
       margin: 2rem auto; max-width: 78rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
.meta { color: #555; margin-top: 0; }
.banner { padding: .6rem 1rem; border-radius: 4px; margin: 1rem 0; font-weight: 600; }
.banner.succeeded { background: #e6f4ea; color: #1e6b34; }
.banner.failed { background: #fdecea; color: #a50e0e; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f5f5f5; }
td.num { text-align: right; white-space: nowrap; }
.status { font-weight: 600; white-space: nowrap; }
.status.succeeded { color: #1e6b34; }
.status.failed { color: #a50e0e; }
.withheld { color: #a50e0e; font-weight: 600; }
.error { color: #a50e0e; font-family: monospace; white-space: pre-wrap; word-break: break-word; }
ul.metrics { margin: 0; padding-left: 1rem; }
code { font-size: .88rem; }
"""


def write_batch_json(result: BatchResult, folder: Path) -> Path:
    """Write ``batch.json`` (see :meth:`BatchResult.to_dict`) into ``folder``."""
    data = result.to_dict()
    path = Path(folder) / "batch.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_index_html(result: BatchResult, folder: Path) -> Path:
    """Write the self-contained ``index.html`` overview of a batch into ``folder``."""
    n, failed = len(result.runs), result.n_failed
    if failed:
        banner = f"{failed} of {n} runs failed"
    else:
        banner = "The run succeeded" if n == 1 else f"All {n} runs succeeded"
    rows = "\n".join(_row(i, run, result.folder) for i, run in enumerate(result.runs, start=1))
    esc = html.escape
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Report batch {esc(result.run_id)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Report batch <code>{esc(result.run_id)}</code></h1>
<p class="meta">Batch file <code>{esc(result.source)}</code> &middot; started {esc(result.started_at)}
&middot; finished {esc(result.finished_at)} (UTC) &middot; {result.duration_s:.1f} s
&middot; <a href="batch.json">batch.json</a></p>
<div class="banner {result.status}">{esc(banner)}</div>
<table>
<thead><tr><th>#</th><th>Run</th><th>Status</th><th>Duration</th><th>Report</th>
<th>Headline numbers</th><th>Error</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""
    path = Path(folder) / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _row(i: int, run: RunResult, batch_folder: Path) -> str:
    esc = html.escape
    links = []
    if run.html is not None:
        anchor = "" if run.ok else "#papermill-error-cell"
        links.append(f'<a href="{_href(run.html, batch_folder)}{anchor}">HTML</a>')
    if run.ipynb is not None:
        links.append(f'<a href="{_href(run.ipynb, batch_folder)}">notebook</a>')
    links.append(f'<a href="{_href(run.metrics_file, batch_folder)}">metrics.json</a>')
    if run.withheld:
        links.append(f'<span class="withheld">{esc(run.withheld)}</span>')
    error = f'<div class="error">{esc(run.error)}</div>' if run.error else ""
    return (
        f"<tr><td class=num>{i}</td>"
        f"<td><strong>{esc(run.name)}</strong><br><code>{esc(run.notebook)}</code></td>"
        f'<td class="status {run.status}">{esc(run.status)}</td>'
        f"<td class=num>{run.duration_s:.1f} s</td>"
        f"<td>{' &middot; '.join(links)}</td>"
        f"<td>{_metrics(run.metrics)}</td>"
        f"<td>{error}</td></tr>"
    )


def _metrics(metrics: dict[str, Any]) -> str:
    if not metrics:
        return ""
    items = list(metrics.items())
    shown = [
        f"<li>{html.escape(name)} = {html.escape(_short(value))}</li>"
        for name, value in items[:_MAX_METRICS]
    ]
    if len(items) > _MAX_METRICS:
        shown.append(f"<li>&hellip; {len(items) - _MAX_METRICS} more in metrics.json</li>")
    return f'<ul class="metrics">{"".join(shown)}</ul>'


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _href(path: Path, base: Path) -> str:
    from urllib.parse import quote

    try:
        rel = path.relative_to(base).as_posix()
    except ValueError:
        rel = path.as_posix()
    return html.escape(quote(rel), quote=True)
