"""Every character a report can show is drawn by a font the project ships.

Reports are read offline, on machines without emoji fonts: a character that no installed
font covers is an empty box (an emoji check mark in notebook 04 was). The project ships
DejaVu Sans (with matplotlib) and Noto Sans CJK SC (with mplfonts, for Chinese); every
non-ASCII character of the notebooks' cells, of the messages and labels of
:mod:`crm_lib.i18n` and of crm_lib's source must be in one of their character maps.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTFont

from crm_lib import i18n
from crm_lib.plotting import cjk_font_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def covered() -> set[int]:
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    out: set[int] = set()
    for path in (dejavu, cjk_font_path()):
        out |= set(TTFont(path, lazy=True).getBestCmap())
    return out


def _texts():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            yield f"{path.name} cell {i}", "".join(cell["source"])
    for key, by_language in i18n.MESSAGES.items():
        for language, text in by_language.items():
            yield f"i18n.MESSAGES[{key!r}][{language!r}]", text
    for key, text in i18n.LABELS.items():
        yield f"i18n.LABELS[{key!r}]", text
    for path in sorted((ROOT / "crm_lib").rglob("*")):
        if path.suffix in (".py", ".j2", ".json", ".css") and path.is_file():
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def test_every_character_shown_is_in_a_bundled_font(covered):
    missing = {}
    for where, text in _texts():
        for ch in set(text):
            if ord(ch) > 127 and ord(ch) not in covered:
                missing.setdefault(f"{ch} (U+{ord(ch):04X})", []).append(where)
    assert not missing, {ch: places[:3] for ch, places in missing.items()}


def test_the_check_finds_an_emoji(covered):
    assert ord("✅") not in covered and ord("✔") in covered and ord("客") in covered
