"""The published figures the book's results are compared with, in one place, each with its source.

Only the results page (``notebooks/95_results.ipynb``, through
:func:`humanclap.book.summary.comparison_table`) sets these beside the book's own numbers; no
chapter quotes them next to a simulated number. Each :class:`PaperFigure` names the headline key
(:meth:`humanclap.book.Chapter.headline`) it is compared with. Every number here is stated in
the project's sources: the RELATE and Human-CLAP papers as the book's introduction cites them,
and the XACLE baseline's published results (:data:`humanclap.data.XACLE_PUBLISHED`).
"""

from __future__ import annotations

from dataclasses import dataclass

from humanclap.data.xacle import XACLE_COMMIT, XACLE_PUBLISHED

__all__ = ["PAPER_FIGURES", "SOURCES", "PaperFigure", "paper_sources"]

#: The works the figures come from, by short name.
SOURCES: dict[str, str] = {
    "RELATE": (
        "Y. Kanamori, Y. Okamoto, T. Takano, S. Takamichi, Y. Saito, H. Saruwatari, "
        '"RELATE: Subjective evaluation dataset for automatic evaluation of relevance between '
        'text and audio", Proc. INTERSPEECH 2025, pp. 3155–3159'
    ),
    "Human-CLAP": (
        'T. Takano et al., "Human-CLAP: Human-perception-based contrastive language-audio '
        'pretraining", 2025, arXiv:2506.23553'
    ),
    "XACLE baseline": (
        "the first XACLE challenge's baseline (BYOL-A + RoBERTa trained on RELATE's train "
        "split), its authors' published results on RELATE's 1,311 test pairs "
        f"(XACLE-Challenge/the_first_XACLE_challenge_baseline_model at {XACLE_COMMIT[:7]})"
    ),
}


@dataclass(frozen=True)
class PaperFigure:
    """One published figure and the headline it is compared with.

    Attributes
    ----------
    key : str
        The headline key of the book's number for the same quantity (``"ch2_clapscore_srcc"``).
    quantity : str
        What the figure is, in words.
    value : float
        The figure as a number (for a bound such as "> 0.17", the bound).
    text : str
        The figure as the source states it: ``"≈ 0.28"``, ``"> 0.17"``, ``"0.3606"``.
    sources : tuple of str
        Keys of :data:`SOURCES`.
    """

    key: str
    quantity: str
    value: float
    text: str
    sources: tuple[str, ...]

    @property
    def chapter_number(self) -> str:
        """The chapter the key belongs to: ``"ch2_..."`` -> ``"2"``."""
        return self.key.split("_", 1)[0].removeprefix("ch")


#: Every published figure the results page compares with.
PAPER_FIGURES: tuple[PaperFigure, ...] = (
    PaperFigure(
        "ch2_clapscore_srcc",
        "SRCC of CLAPScore (LAION-CLAP) with RELATE's mean REL ratings",
        0.28,
        "≈ 0.28",
        ("RELATE", "Human-CLAP"),
    ),
    PaperFigure(
        "ch3_gain_srcc",
        "SRCC gain of Human-CLAP over CLAPScore on RELATE",
        0.17,
        "> 0.17",
        ("Human-CLAP",),
    ),
    PaperFigure(
        "ch6_xacle_srcc",
        "SRCC of the XACLE baseline on RELATE's test split",
        XACLE_PUBLISHED["srcc"],
        f"{XACLE_PUBLISHED['srcc']:.4f}",
        ("XACLE baseline",),
    ),
    PaperFigure(
        "ch6_xacle_lcc",
        "LCC of the XACLE baseline on RELATE's test split",
        XACLE_PUBLISHED["lcc"],
        f"{XACLE_PUBLISHED['lcc']:.4f}",
        ("XACLE baseline",),
    ),
)


def paper_sources(figures: tuple[PaperFigure, ...] = PAPER_FIGURES) -> str:
    """Where each figure comes from, as a Markdown list (one line a figure, then the works).

    Parameters
    ----------
    figures : tuple of PaperFigure

    Returns
    -------
    str
        Markdown.
    """
    lines = [
        f"- **{f.text}**, {f.quantity} (compared with `{f.key}`): {', '.join(f.sources)}."
        for f in figures
    ]
    used = dict.fromkeys(s for f in figures for s in f.sources)
    lines += ["", *(f"- {name}: {SOURCES[name]}." for name in used)]
    return "\n".join(lines)
