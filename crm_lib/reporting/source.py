"""The line near the top of every report that says which data it was run on.

>>> from crm_lib.datasets import simulate
>>> dataset_line(simulate("small", seed=1), "zh").data
'**数据：** 模拟世界（小型，种子 1）'
"""

from __future__ import annotations

import html
from typing import Any

from crm_lib import i18n
from crm_lib.reporting.language import VERBATIM_CLASS

__all__ = ["dataset_line", "dataset_name"]


def dataset_name(source: Any, language: str = "en") -> str:
    """The name of the data a report runs on, as Markdown in ``language``.

    Parameters
    ----------
    source : World or ExportSources
        A dataset (:class:`crm_lib.datasets.World`): the simulated world is named by its
        size and seed in ``language``; any other dataset by the ``name`` of its
        ``dataset.yml``. Or a user's raw exports
        (:func:`crm_lib.intake.pipeline.export_sources`): the files of each table.
    language : str
        ``en`` or ``zh``.

    Returns
    -------
    str
        Markdown. What comes from the data itself (a dataset's own name, file names) is
        shown verbatim, in an element of class ``crm-verbatim`` that
        :func:`crm_lib.reporting.language.foreign_words` leaves alone.
    """
    i18n.check_language(language)
    if hasattr(source, "files"):  # a user's exports
        if language == "en":
            return _verbatim(source.description)
        parts = [
            f"{i18n.label(table, language)}：{_verbatim(path.name)}"
            for table, path in source.files.items()
        ]
        return i18n.t("your_exports", language).format(files="；".join(parts))
    config = getattr(source, "config", None)
    if config is not None and not config.simulated:
        return _verbatim(config.name)
    size, seed = source.meta.get("size"), source.meta.get("seed")
    return i18n.t("simulated_world", language).format(size=i18n.label(size, language), seed=seed)


def dataset_line(source: Any, language: str = "en") -> Any:
    """``**Data:** <name>`` (``**数据：** <name>``) as IPython Markdown, to ``display`` it.

    See :func:`dataset_name` for ``source``.
    """
    from IPython.display import Markdown

    colon = "：" if language == "zh" else ":"
    name = dataset_name(source, language)
    return Markdown(f"**{i18n.t('data_source', language)}{colon}** {name}")


def _verbatim(text: str) -> str:
    return f'<span class="{VERBATIM_CLASS}">{html.escape(str(text))}</span>'
