"""Plot helpers: every function takes ``ax=None``, returns the axes, never calls
``plt.show()``, and takes its labels through :mod:`crm_lib.i18n`.

Chinese text needs a CJK font. The set-up installs ``mplfonts``, which ships Noto Sans
CJK SC; :func:`setup` registers that file with matplotlib and puts it behind DejaVu
Sans in the font fallback list, so Latin text keeps its usual look and Chinese glyphs
render instead of empty boxes. Nothing is changed at import time.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager

from crm_lib.i18n import check_language, label, t

CJK_FAMILY = "Noto Sans CJK SC"
LATIN_FAMILY = "DejaVu Sans"


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC font file shipped by ``mplfonts``."""
    import mplfonts

    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not path.is_file():
        raise FileNotFoundError(
            f"the CJK font {path.name} is missing from mplfonts; reinstall with 'make venv'"
        )
    return path


def register_cjk_font() -> str:
    """Make the CJK font known to matplotlib (idempotent); return its family name."""
    path = str(cjk_font_path())
    if not any(f.fname == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    return CJK_FAMILY


def rc_params(language: str = "en") -> dict:
    """Matplotlib settings for reports in ``language`` (pass to seaborn's ``rc=``)."""
    check_language(language)
    return {
        "font.family": [LATIN_FAMILY, register_cjk_font()],
        "axes.unicode_minus": False,
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "figure.figsize": (7.0, 3.6),
    }


def setup(language: str = "en", *, currency: str | None = None) -> None:
    """Apply the report style: seaborn theme with the CJK-capable font list.

    Call it once at the top of a notebook; ``sns.set_theme`` resets ``font.family``, so
    the font list is passed through its ``rc=``. Tables show text in full: pandas would
    cut every cell after 50 characters ("Reward them; early access, referral programme;...")
    and a reader of the report could not see the rest. In a notebook, every DataFrame is
    shown in the report style of :mod:`crm_lib.tables` (no row index, percentages, money
    with ``currency``, Yes/No in ``language``).
    """
    import seaborn as sns

    sns.set_theme(style="whitegrid", rc=rc_params(language))
    pd.set_option("display.max_colwidth", None)
    from crm_lib.tables import use_in_notebook

    use_in_notebook(language, currency=currency)


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def bar(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    ax=None,
    language: str = "en",
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    translate_x: bool = True,
    percent: bool = False,
):
    """Bar chart of ``y`` by ``x``; labels are i18n message keys (default: the column names)."""
    ax = _ax(ax)
    xs = [label(v, language) if translate_x else str(v) for v in data[x]]
    ax.bar(xs, data[y], color=mpl.colormaps["tab10"](0))
    ax.set_xlabel(t(xlabel or x, language))
    ax.set_ylabel(t(ylabel or y, language))
    if title:
        ax.set_title(t(title, language))
    if percent:
        ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    else:
        ax.yaxis.set_major_formatter(mpl.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.tick_params(axis="x", rotation=30 if len(xs) > 5 else 0)
    return ax


def line(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    ax=None,
    language: str = "en",
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
):
    """Line chart of ``y`` over ``x``."""
    ax = _ax(ax)
    ax.plot(data[x], data[y], marker=".")
    ax.set_xlabel(t(xlabel or x, language))
    ax.set_ylabel(t(ylabel or y, language))
    if title:
        ax.set_title(t(title, language))
    return ax


def histogram(
    values: pd.Series,
    *,
    ax=None,
    language: str = "en",
    bins: int | list = 30,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str = "count",
    log: bool = False,
):
    """Histogram of ``values`` (missing values are left out and counted in the title)."""
    ax = _ax(ax)
    clean = values.dropna()
    ax.hist(clean, bins=bins, color=mpl.colormaps["tab10"](0), log=log)
    if xlabel:
        ax.set_xlabel(t(xlabel, language))
    ax.set_ylabel(t(ylabel, language))
    if title:
        n_missing = len(values) - len(clean)
        suffix = f" (n = {len(clean):,}, {t('missing', language)} {n_missing:,})"
        ax.set_title(t(title, language) + suffix)
    return ax


def estimates(
    data: pd.DataFrame,
    *,
    x: str,
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    ax=None,
    language: str = "en",
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    translate_x: bool = True,
    percent: bool = False,
    reference: float | None = None,
):
    """Point estimates with their confidence intervals (error bars), one per ``x``.

    An estimate is never drawn without its interval: readers compare intervals, not dots.
    ``reference`` draws a horizontal line (e.g. 0 for a difference).
    """
    ax = _ax(ax)
    xs = [label(v, language) if translate_x else str(v) for v in data[x]]
    est = data[estimate].to_numpy(dtype=float)
    err = [est - data[ci_low].to_numpy(dtype=float), data[ci_high].to_numpy(dtype=float) - est]
    ax.errorbar(xs, est, yerr=err, fmt="o", capsize=4, color=mpl.colormaps["tab10"](0))
    if reference is not None:
        ax.axhline(reference, color="grey", linewidth=1, linestyle="--")
    ax.set_xlabel(t(xlabel or x, language))
    ax.set_ylabel(t(ylabel or estimate, language))
    if title:
        ax.set_title(t(title, language))
    if percent:
        ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    return ax
