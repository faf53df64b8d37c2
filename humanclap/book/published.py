"""The published figures on RELATE, each with its source and set-up, in one place.

Only the results page (``notebooks/95_results.ipynb``, through
:func:`humanclap.book.results_page.published_table`) shows them, in a table of their own: no
chapter quotes them, and no simulated number ever shares a row with them. A figure names the
headline key (:meth:`humanclap.book.Chapter.headline`) of the book's *real* number for the same
quantity, which fills that row's last column once a real run has stated it.

The figures are those the project's sources state: the Human-CLAP paper and poster, ELSA's table
on RELATE (Interspeech 2026; ρ and τ there in %, here as fractions), and the XACLE baseline's
published results (:data:`humanclap.data.XACLE_PUBLISHED`), which chapter 6 recomputes from
its published predictions. :data:`SETTINGS` lists what each evaluation states about the choices
that move a CLAPScore's agreement (audio rate, cropping, caption cut), beside the book's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from humanclap.data.xacle import XACLE_COMMIT, XACLE_PUBLISHED

__all__ = [
    "ELSA_REFERENCE_BASED",
    "PUBLISHED",
    "SOURCES",
    "PublishedFigure",
    "published_discrepancies",
    "published_sources",
]

#: The works the figures come from, by short name.
SOURCES: dict[str, str] = {
    "Human-CLAP poster": (
        "T. Takano, Y. Okamoto, Y. Kanamori, Y. Saito, R. Nagase, H. Saruwatari, the Human-CLAP "
        "poster (2025)"
    ),
    "Human-CLAP paper": (
        'T. Takano et al., "Human-CLAP: Human-perception-based contrastive language-audio '
        'pretraining", arXiv:2506.23553 (2025): its abstract says "more than 0.25" in v1 and '
        '"more than 0.17" in v2'
    ),
    "ELSA": (
        "ELSA (Interspeech 2026; project page github.com/kento2247/ELSA_ProjectPage), its table "
        "of metrics on RELATE's REL test split, ρ and τ given in %"
    ),
    "XACLE baseline": (
        "the first XACLE challenge's baseline (BYOL-A + RoBERTa trained on RELATE's train "
        "split), its authors' published results on RELATE's 1,311 test pairs "
        f"(XACLE-Challenge/the_first_XACLE_challenge_baseline_model at {XACLE_COMMIT[:7]})"
    ),
}

_ELSA_SETUP = "REL test split; audio at 16 kHz, 10 s; ratings averaged per pair"
_POSTER_SETUP = "REL; split, audio rate, cropping and caption cut not stated in what we could read"
#: Where chapter 2's headline is LAION CLAPScore, and where it is the released Human-CLAP's.
_LAION_RUNS = ("book/chapters", "book/relate", "book/relate-laion")
_HUMAN_CLAP_RUNS = ("book/relate-human-clap",)


@dataclass(frozen=True)
class PublishedFigure:
    """One published row: a metric's agreement with RELATE's listeners as a source states it.

    Attributes
    ----------
    source : str
        Key of :data:`SOURCES`.
    metric : str
        The metric (or model) scored: ``"LAION CLAPScore"``.
    srcc, ktau, lcc : float or None
        Spearman's ρ, Kendall's τ and Pearson's r as fractions (None: not given).
    setup : str
        What the source states about the evaluation.
    key : str or None
        The headline key of the book's real number for the same quantity, if the book has one.
    text : str or None
        How the SRCC cell reads when it is not a plain value (a gain: ``"+0.177 (gain)"``).
    folders : tuple of str or None
        The folders of executed chapters whose ``key`` is that quantity (chapter 2 scores LAION
        CLAPScore in ``book/relate`` and ``book/relate-laion``, the released Human-CLAP in
        ``book/relate-human-clap``); None: every folder.
    """

    source: str
    metric: str
    srcc: float | None
    ktau: float | None = None
    lcc: float | None = None
    setup: str = ""
    key: str | None = None
    text: str | None = None
    folders: tuple[str, ...] | None = None


#: Every published figure the results page shows, in the order shown.
PUBLISHED: tuple[PublishedFigure, ...] = (
    PublishedFigure("Human-CLAP poster", "LAION CLAPScore", 0.280, setup=_POSTER_SETUP,
                    key="ch2_clapscore_srcc", folders=_LAION_RUNS),
    PublishedFigure("Human-CLAP poster", "Human-CLAP, gain over LAION CLAPScore", 0.177,
                    setup=_POSTER_SETUP, key="ch3_gain_srcc", text="+0.177 (gain)"),
    PublishedFigure("Human-CLAP paper", "Human-CLAP, gain over CLAPScore", 0.17,
                    setup="REL; the abstract of v1 said more than 0.25", key="ch3_gain_srcc",
                    text="> 0.17 (gain)"),
    PublishedFigure("ELSA", "LAION CLAPScore", 0.183, 0.126, setup=_ELSA_SETUP,
                    key="ch2_clapscore_srcc", folders=_LAION_RUNS),
    PublishedFigure("ELSA", "MS-CLAP CLAPScore", 0.152, 0.104, setup=_ELSA_SETUP),
    PublishedFigure("ELSA", "PAM", 0.092, 0.062, setup=_ELSA_SETUP),
    PublishedFigure("ELSA", "Human-CLAP (released checkpoint)", 0.315, 0.217, setup=_ELSA_SETUP,
                    key="ch2_clapscore_srcc", folders=_HUMAN_CLAP_RUNS),
    PublishedFigure("ELSA", "ELSA", 0.379, 0.262, setup=_ELSA_SETUP),
    PublishedFigure(
        "XACLE baseline", "XACLE baseline", XACLE_PUBLISHED["srcc"], XACLE_PUBLISHED["ktau"],
        XACLE_PUBLISHED["lcc"], setup="REL test split, 1,311 pairs; its published predictions",
        key="ch6_xacle_srcc",
    ),
)  # fmt: skip

#: ELSA's reference-based rows on RELATE, one figure each (in %) as quoted in this project's
#: brief, which does not say whether it is ρ or τ: shown as text only, never in ρ/τ columns.
ELSA_REFERENCE_BASED: dict[str, float] = {
    "SI-SDR": -2.4,
    "FD-OpenL3": -2.1,
    "KL-PaSST": 18.3,
    "AudioBERTScore": 17.8,
}


def published_sources(figures: tuple[PublishedFigure, ...] = PUBLISHED) -> str:
    """Where the figures come from, as a Markdown list: each source once, then ELSA's
    reference-based figures.

    Returns
    -------
    str
        Markdown.
    """
    used = dict.fromkeys(f.source for f in figures)
    lines = [f"- **{name}**: {SOURCES[name]}." for name in used]
    if "ELSA" in used:
        quoted = ", ".join(f"{k} {v:.1f}" for k, v in ELSA_REFERENCE_BASED.items())
        lines.append(
            f"- ELSA's table also gives reference-based metrics ({quoted}, in %); the quotation "
            "this project has does not say whether these are ρ or τ, so they stay out of the table."
        )
    return "\n".join(lines)


def _srcc(source: str, metric: str, figures: tuple[PublishedFigure, ...]) -> float:
    return next(f.srcc for f in figures if f.source == source and f.metric == metric)


def published_discrepancies(figures: tuple[PublishedFigure, ...] = PUBLISHED) -> list[str]:
    """The disagreements between the published figures, computed from them (Markdown lines).

    Returns
    -------
    list of str
        LAION CLAPScore by the poster and by ELSA; Human-CLAP as the poster's CLAPScore plus its
        gain, against ELSA's measurement of the released checkpoint.
    """
    poster = _srcc("Human-CLAP poster", "LAION CLAPScore", figures)
    gain = _srcc("Human-CLAP poster", "Human-CLAP, gain over LAION CLAPScore", figures)
    elsa = _srcc("ELSA", "LAION CLAPScore", figures)
    released = _srcc("ELSA", "Human-CLAP (released checkpoint)", figures)
    return [
        f"- **LAION CLAPScore**: SRCC {poster:.3f} on the poster, {elsa:.3f} in ELSA's table, "
        f"a difference of {poster - elsa:.3f} for what should be the same model on the same "
        "ratings.",
        f"- **Human-CLAP**: the poster's {poster:.3f} plus its gain of {gain:.3f} is about "
        f"{poster + gain:.3f}; ELSA measured the released checkpoint at {released:.3f}, "
        f"{poster + gain - released:.3f} lower. ELSA's own gain of the released checkpoint over "
        f"LAION CLAPScore is {released - elsa:.3f}, against the poster's {gain:.3f}.",
    ]
