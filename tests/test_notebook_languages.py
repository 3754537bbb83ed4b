"""Every notebook tells its story in both languages: each English markdown cell has a
Simplified Chinese twin right after it, and no narrative cell is untagged (an untagged cell
would appear in both reports, in one language only)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _tags(cell) -> list[str]:
    return [t for t in cell.get("metadata", {}).get("tags", []) if t.startswith("lang-")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_english_cell_has_a_chinese_twin(path):
    cells = nbformat.read(path, as_version=4).cells
    problems = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        tags = _tags(cell)
        if not tags:
            problems.append(f"cell {i}: markdown without a lang-en / lang-zh tag")
        elif tags == ["lang-en"]:
            twin = cells[i + 1] if i + 1 < len(cells) else None
            if twin is None or twin.cell_type != "markdown" or _tags(twin) != ["lang-zh"]:
                problems.append(f"cell {i}: lang-en cell without a lang-zh twin after it")
            elif not twin.source.strip():
                problems.append(f"cell {i + 1}: empty lang-zh twin")
        elif tags == ["lang-zh"]:
            before = cells[i - 1] if i else None
            if before is None or _tags(before) != ["lang-en"]:
                problems.append(f"cell {i}: lang-zh cell without the lang-en cell before it")
    assert not problems, f"{path.name}: " + "; ".join(problems)


def test_the_check_fails_on_a_cell_without_its_twin(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Only English", metadata={"tags": ["lang-en"]})]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(AssertionError, match="without a lang-zh twin"):
        test_every_english_cell_has_a_chinese_twin(path)
