"""Notebook side of the book: publish an item (table and/or figure) under its ID, and the plot style.

``publish("lz-fig2", profile, table=frame, figure=fig)`` writes ``results/<profile>/lz-fig2.csv``
and ``.png`` and glues the figure as ``lz-fig2`` and the table as ``lz-fig2-table`` for the
markdown cell that follows, which gives the caption::

    ```{glue:figure} lz-fig2
    :name: lz-fig2
    Li & Zhang, Fig. 2: ...
    ```
"""

from __future__ import annotations

import matplotlib
import pandas as pd

from leakage.results import save_figure, save_table


def set_style() -> None:
    """One plot style for the whole book."""
    import seaborn as sns

    pd.set_option("display.max_colwidth", None)
    matplotlib.rcParams.update({"figure.dpi": 110, "savefig.dpi": 120, "axes.titlesize": "medium"})
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


def _glue(name: str, value) -> None:
    try:
        from myst_nb import glue
    except ImportError:  # outside the book (plain Jupyter): just show it
        from IPython.display import display

        display(value)
        return
    glue(name, value, display=False)


def publish(item_id: str, profile: str, *, table: pd.DataFrame | None = None, figure=None,
            round_to: int = 4) -> None:
    """Save the item's tidy table and figure under ``results/<profile>/`` and glue them for the book."""
    if table is None and figure is None:
        raise ValueError(f"publish({item_id!r}) needs a table or a figure")
    if table is not None:
        save_table(table, item_id, profile)
        _glue(f"{item_id}-table", table.style.hide(axis="index").format(precision=round_to))
    if figure is not None:
        save_figure(figure, item_id, profile)
        _glue(item_id, figure)
        import matplotlib.pyplot as plt

        plt.close(figure)
