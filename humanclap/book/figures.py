"""The book's figures as a chapter shows them (:meth:`humanclap.book.Chapter.figure`): numbered
per chapter ("Figure 2.3"), captioned, with alt text, as an HTML ``<figure>``.

The output is a ``text/html`` bundle (:func:`humanclap.plots.figure_html`: the PNG embedded as a
``data:`` URI, its alt text, ``data-min-text-px`` and the numbered ``<figcaption>``) with a
``text/plain`` line ("Figure 2.3. caption") for plain viewers, so that Jupyter, Colab and the
built book (MyST-NB renders ``text/html`` as it is) show the same figure and caption. Its
metadata (:data:`FIGURE_METADATA`) records the number, caption, alt text and text size.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from humanclap import plots

__all__ = ["FIGURE_METADATA", "figure_anchor", "figure_label", "figure_output"]

#: The output metadata key of a figure.
FIGURE_METADATA = "humanclap/figure"


def figure_label(chapter: str | None, index: int) -> str:
    """``"Figure 2.3"`` for the third figure of chapter 2; ``"Figure 3"`` without a chapter."""
    return f"Figure {chapter}.{index}" if chapter else f"Figure {index}"


def figure_anchor(label: str) -> str:
    """The ``id`` of a figure for links: ``"Figure 2.3"`` -> ``"figure-2-3"``."""
    return label.lower().replace(" ", "-").replace(".", "-")


def figure_output(
    fig: Figure, *, label: str, caption: str, alt: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """A figure's display bundle and metadata.

    Parameters
    ----------
    fig : Figure
        Drawn at the size it is shown (:data:`humanclap.plots.FIG_WIDTH`); not closed here.
    label : str
        Its number, e.g. ``"Figure 2.3"`` (:func:`figure_label`).
    caption : str
        The caption (plain text, not empty).
    alt : str
        One sentence describing what is plotted (:func:`humanclap.plots.check_alt_text`).

    Returns
    -------
    bundle : dict
        ``{"text/html": ..., "text/plain": ...}`` for ``IPython.display.display(raw=True)``.
    metadata : dict
        ``{FIGURE_METADATA: {"label", "caption", "alt", "min_text_pt", "css_width"}}``.

    Raises
    ------
    ValueError
        When the caption is empty or the alt text is not a description.
    """
    alt = plots.check_alt_text(alt)
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError(f"caption: {label} needs a caption")
    caption = " ".join(caption.split())
    image = plots.figure_image(fig)
    html = plots.figure_html(
        image, label=label, caption=caption, alt=alt, anchor=figure_anchor(label)
    )
    about = {
        "label": label,
        "caption": caption,
        "alt": alt,
        "min_text_pt": image.min_text_pt,
        "css_width": image.css_width,
    }
    return {"text/html": html, "text/plain": f"{label}. {caption}"}, {FIGURE_METADATA: about}
