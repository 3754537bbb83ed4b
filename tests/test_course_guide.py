"""The course guide (docs/course.md and its Chinese twin) cannot rot: every section it cites
is a heading of the notebook it names, and it lists exactly the exercises that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crm_lib import teaching

ROOT = Path(__file__).resolve().parents[1]
GUIDES = [ROOT / "docs" / "course.md", ROOT / "docs" / "course.zh.md"]
NOTEBOOK_LINK = re.compile(r"\(\.\./notebooks/(\d\d_\w+\.ipynb)\)")
SECTION = re.compile(r"§ \*([^*]+)\*")
EXERCISE = re.compile(r"\*\*(\d\d\.\d)\*\*")


def headings(notebook: str) -> set[str]:
    """Every heading of a notebook's markdown cells, in both languages, without the #."""
    cells = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]
    lines = (
        line
        for c in cells
        if c["cell_type"] == "markdown"
        for line in "".join(c["source"]).splitlines()
    )
    return {line.lstrip("#").strip() for line in lines if line.startswith("#")}


def citations(text: str) -> list[tuple[str | None, str]]:
    """``(notebook, section)`` for every § *section* of the guide; a section belongs to the
    notebook linked last in its list item (``None`` when the item links none)."""
    out, notebook = [], None
    for line in text.splitlines():
        if line.startswith(("-", "#")):  # a new list item or heading: a new notebook
            notebook = None
        link = NOTEBOOK_LINK.search(line)
        if link:
            notebook = link.group(1)
        out += [(notebook, s.strip()) for s in SECTION.findall(line)]
    return out


def problems(text: str) -> list[str]:
    found = []
    for notebook, section in citations(text):
        if notebook is None:
            found.append(f"§ {section!r} names no notebook")
        elif not (ROOT / "notebooks" / notebook).exists():
            found.append(f"no notebook {notebook}")
        elif section not in headings(notebook):
            found.append(f"{notebook} has no heading {section!r}")
    listed = EXERCISE.findall(text)
    found += [f"no exercise {e}" for e in listed if e not in teaching.EXERCISES]
    found += [f"exercise {e} not listed" for e in teaching.EXERCISES if e not in listed]
    return found


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_guide_cites_real_sections_and_exercises(guide):
    text = guide.read_text(encoding="utf-8")
    assert problems(text) == []
    cited = {notebook for notebook, _ in citations(text)}
    assert {p.name for p in (ROOT / "notebooks").glob("0[1-9]_*.ipynb")} <= cited


def test_a_rotten_guide_is_caught():
    text = (
        "- **Notebook 03** ([x](../notebooks/03_segmentation.ipynb)): § *4 · Clustering*;\n"
        "  § *9 · A section nobody wrote*\n"
        "- § *4 · Clustering*\n"
        "- **03.1** fine, **03.9** unknown\n"
    )
    found = problems(text)
    assert "03_segmentation.ipynb has no heading '9 · A section nobody wrote'" in found
    assert "§ '4 · Clustering' names no notebook" in found
    assert "no exercise 03.9" in found and "exercise 09.1 not listed" in found
    assert not any("'4 · Clustering'" in p and "has no heading" in p for p in found)


def test_the_readme_links_the_guide():
    assert "(docs/course.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
