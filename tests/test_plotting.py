"""Chinese labels render with a real CJK font (no missing-glyph boxes)."""

from __future__ import annotations

import warnings

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from crm_lib import plotting


def _font_for(char: str, family: list[str]) -> str:
    """The font file matplotlib's fallback chain uses for ``char``."""
    props = font_manager.FontProperties(family=family)
    for path in font_manager.fontManager._find_fonts_by_props(props):
        if FT2Font(str(path)).get_char_index(ord(char)):
            return str(path)
    return ""


def test_chinese_figure_uses_cjk_font_without_missing_glyphs():
    rc = plotting.rc_params("zh")
    data = pd.DataFrame({"region": ["north", "east", "south"], "revenue": [3.0, 5.0, 4.0]})
    with matplotlib.rc_context(rc), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        plotting.bar(
            data, x="region", y="revenue", ax=ax, language="zh", title="title_revenue_region"
        )
        fig.canvas.draw()
        texts = [ax.get_title(), ax.get_xlabel()] + [t.get_text() for t in ax.get_xticklabels()]
        plt.close(fig)
        family = list(matplotlib.rcParams["font.family"])
    assert "各区域销售额" in texts and "华北" in texts
    glyph_warnings = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not glyph_warnings
    used = _font_for("销", family)
    assert used == str(plotting.cjk_font_path())
    assert "CJK" in FT2Font(used).family_name
    # Latin text still uses the Latin font first
    assert "DejaVu" in _font_for("R", family)


def test_without_cjk_font_matplotlib_would_warn():
    """The check above can fail: DejaVu Sans alone has no Chinese glyphs."""
    with (
        matplotlib.rc_context({"font.family": ["DejaVu Sans"]}),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title("销售额")
        fig.canvas.draw()
        plt.close(fig)
    assert any("missing from" in str(w.message) for w in caught)


def test_plot_functions_return_the_axes_they_were_given():
    fig, ax = plt.subplots()
    data = pd.DataFrame({"month": [1, 2], "value": [3, 4]})
    assert plotting.line(data, x="month", y="value", ax=ax, ylabel="count") is ax
    assert plotting.histogram(pd.Series([1, 2, None]), ax=ax, title="title_orders_hist") is ax
    assert "missing" in ax.get_title().lower()
    plt.close(fig)


def test_estimates_draws_intervals_and_translates():
    data = pd.DataFrame(
        {
            "nps_group": ["detractor", "promoter"],
            "rate": [0.5, 0.8],
            "lo": [0.4, 0.7],
            "hi": [0.6, 0.9],
        }
    )
    fig, ax = plt.subplots()
    out = plotting.estimates(
        data, x="nps_group", estimate="rate", ci_low="lo", ci_high="hi", ax=ax, language="zh",
        ylabel="rate", reference=0.0,
    )  # fmt: skip
    assert out is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == ["贬损者", "推荐者"]
    segments = ax.collections[0].get_segments()  # the error bars
    assert [tuple(s[:, 1]) for s in segments] == [(0.4, 0.6), (0.7, 0.9)]
    plt.close(fig)
