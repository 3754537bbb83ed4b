"""Open a report in a real browser (headless Chromium) and check what a reader sees.

:func:`check_report` loads a copy of the HTML with a small probe script, lets Chromium
render it offline (``--dump-dom``: network requests fail, as in a mail attachment), and
reads back from the rendered DOM:

- ``raw_tex``: text that still looks like TeX (``$...$``, ``\\frac`` ...) outside code,
  i.e. formulas that were not typeset;
- ``broken_images``: images that did not load;
- ``errors``: script errors, ``console.error`` calls and failed resource loads;
- ``truncated``: table cells whose text pandas cut short (ending in ``...``) or that
  overflow their cell;
- ``record_echo``: ``name = value`` lines of :func:`crm_lib.reporting.record`.

With ``screenshot=True`` a PNG of the top of the page is written beside the report.
Chromium comes from the system (Debian's ``chromium`` package); :func:`find_chromium`
returns None when it is absent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BrowserCheck", "check_report", "find_chromium"]

_PROBE = r"""
<script>
window.__crm = {errors: []};
window.addEventListener("error", function (e) {
  var t = e.target;
  var what = (t && t !== window && (t.src || t.href)) ? "failed to load " + (t.src || t.href).slice(0, 80)
                                                    : String(e.message);
  window.__crm.errors.push(what);
}, true);
(function () {
  var original = console.error;
  console.error = function () {
    window.__crm.errors.push(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})();
window.addEventListener("load", function () {
  var skip = {CODE: 1, PRE: 1, SCRIPT: 1, STYLE: 1, MATH: 1, TEXTAREA: 1};
  var tex = /\$[^$\s][^$]*\$|\\(frac|tfrac|sum|sqrt|hat|bar|operatorname|mathrm|left|right|big)\b/;
  var raw = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    var node = walker.currentNode, p = node.parentElement, inside = false;
    for (var el = p; el; el = el.parentElement) { if (skip[el.tagName.toUpperCase()]) { inside = true; break; } }
    if (!inside && tex.test(node.textContent)) { raw.push(node.textContent.trim().slice(0, 100)); }
  }
  var broken = [];
  Array.prototype.forEach.call(document.images, function (img) {
    if (!(img.complete && img.naturalWidth > 0)) { broken.push((img.getAttribute("src") || "").slice(0, 60)); }
  });
  var cut = [];
  Array.prototype.forEach.call(document.querySelectorAll("td, th"), function (c) {
    var text = c.textContent.trim();
    if (/\.\.\.$|\u2026$/.test(text) || c.scrollWidth > c.clientWidth + 2) { cut.push(text.slice(0, 80)); }
  });
  var echo = [];
  Array.prototype.forEach.call(document.querySelectorAll(".jp-OutputArea-output pre"), function (p) {
    if (/^[A-Za-z_][A-Za-z0-9_]* = /m.test(p.textContent)) { echo.push(p.textContent.trim().slice(0, 80)); }
  });
  var out = document.createElement("pre");
  out.id = "crm-browser-check";
  out.textContent = JSON.stringify({raw_tex: raw, broken_images: broken, errors: window.__crm.errors,
                                    truncated: cut, record_echo: echo, images: document.images.length,
                                    math: document.getElementsByTagName("math").length});
  document.body.appendChild(out);
});
</script>
"""


@dataclass
class BrowserCheck:
    """What the rendered page showed (see the module docstring); ``ok`` when nothing is wrong."""

    report: Path
    raw_tex: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    record_echo: list[str] = field(default_factory=list)
    images: int = 0
    math: int = 0
    screenshot: Path | None = None

    @property
    def problems(self) -> dict[str, list[str]]:
        """The kinds of problem found, each with examples."""
        kinds = ("raw_tex", "broken_images", "errors", "truncated", "record_echo")
        return {k: getattr(self, k) for k in kinds if getattr(self, k)}

    @property
    def ok(self) -> bool:
        return not self.problems


def find_chromium() -> str | None:
    """The Chromium (or Chrome) binary on this machine, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _flags(profile: str) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        # offline, as in a mail attachment: any network request fails
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={profile}",
    ]


def check_report(
    report: str | Path,
    *,
    chromium: str | None = None,
    screenshot: bool = True,
    timeout: float = 120,
) -> BrowserCheck:
    """Render ``report`` (an HTML file) in headless Chromium and check it.

    Raises
    ------
    FileNotFoundError
        When no Chromium is installed (``apt-get install chromium``).
    RuntimeError
        When Chromium fails or the probe's result is missing from the page.
    """
    report = Path(report).resolve()
    binary = chromium or find_chromium()
    if binary is None:
        raise FileNotFoundError(
            "no Chromium found: install Debian's package (apt-get install chromium)"
        )
    page = report.read_text(encoding="utf-8")
    probed = re.sub(r"(<head[^>]*>)", lambda m: m.group(1) + _PROBE, page, count=1)
    with tempfile.TemporaryDirectory(prefix="crm_browser_") as tmp:
        copy = Path(tmp) / report.name
        copy.write_text(probed, encoding="utf-8")
        cmd = [
            binary,
            *_flags(str(Path(tmp) / "profile")),
            "--virtual-time-budget=15000",
            "--dump-dom",
            copy.as_uri(),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        found = re.search(r'<pre id="crm-browser-check">(.*?)</pre>', done.stdout, re.S)
        if found is None:
            raise RuntimeError(
                f"Chromium did not render {report.name} (exit {done.returncode}): {done.stderr[-500:]}"
            )
        import html as html_lib

        data = json.loads(html_lib.unescape(found.group(1)))
        shot = None
        if screenshot:
            shot = report.with_suffix(".png")
            subprocess.run(
                [binary, *_flags(str(Path(tmp) / "profile2")), "--window-size=1200,3000",
                 "--hide-scrollbars", f"--screenshot={shot}", report.as_uri()],
                capture_output=True,
                timeout=timeout,
            )  # fmt: skip
            shot = shot if shot.is_file() else None
    return BrowserCheck(report=report, screenshot=shot, **data)
