"""The results page's three tables, never mixed: published figures on RELATE, the book's real
findings, and the simulated method checks; and the settings that can make published figures
disagree.

- :func:`published_table`: each published figure (:data:`humanclap.book.published.PUBLISHED`)
  with its source and set-up, and, in its last column, the book's *real* number for the same
  quantity where a chapter has stated one on RELATE (``make relate`` for chapters 2-4; chapter 6
  recomputes the XACLE baseline). A simulated number never appears there.
- :func:`real_table`: every headline a chapter stated on RELATE.
- :func:`simulated_table`: every headline of the embedded world, with no column for a paper.
- :func:`settings_table`: audio rate, cropping, fusion, caption cut ... as the book's real run
  sets them (read from the library's constants and the ``make relate`` parameter files) beside
  what ELSA states.

Every table reads the headlines of the executed chapters (:func:`humanclap.book.run_headlines`),
so the page cannot drift from them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
from pandas.io.formats.style import Styler

from humanclap import plots
from humanclap.audio.decode import SOXR_QUALITY
from humanclap.book.headlines import Headline
from humanclap.book.parameters import load_params
from humanclap.book.published import PUBLISHED, PublishedFigure
from humanclap.book.summary import FOLDERS, chapter_short_name
from humanclap.models.hf.config import FUSED_FEATURE_EXTRACTOR, LONG_CLIPS
from humanclap.models.laion.model import MAX_TEXT_LENGTH
from humanclap.models.laion.preprocess import CLIP_SAMPLES, SAMPLE_RATE

__all__ = [
    "PUBLISHED_COLUMNS",
    "headline_view",
    "published_table",
    "published_view",
    "real_table",
    "settings_table",
    "simulated_table",
]

#: The columns of :func:`published_table`, with their headers.
PUBLISHED_COLUMNS: dict[str, str] = {
    "source": "source",
    "metric": "metric",
    "srcc": "SRCC (ρ)",
    "ktau": "KTAU (τ)",
    "lcc": "LCC",
    "setup": "set-up",
    "book_real": "this book on RELATE (real)",
}
_HEADLINE_COLUMNS = {"chapter": "chapter", "quantity": "quantity", "value": "value", "n": "n"}
_WRAP = [("white-space", "normal"), ("text-align", "left")]


def _value(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _real_values(figure: PublishedFigure, headlines: pd.DataFrame) -> str:
    """The real values chapters stated for the figure's key (in its folders), each with its
    folder when not the book's."""
    if figure.key is None:
        return "–"
    found = headlines[(headlines["key"] == figure.key) & ~headlines["simulated"].astype(bool)]
    found = found[found["world"] == "relate"]
    if figure.folders is not None:
        found = found[found["folder"].isin(figure.folders)]
    if found.empty:
        return "not run on RELATE"
    texts = []
    for row in found.itertuples(index=False):
        text = Headline(row.key, row.quantity, row.estimate, row.lo, row.hi).text()
        where = "" if row.folder == FOLDERS[0] else f" (`{row.folder}`)"
        texts.append(text + where)
    return "; ".join(texts)


def published_table(
    headlines: pd.DataFrame, figures: tuple[PublishedFigure, ...] = PUBLISHED
) -> pd.DataFrame:
    """The published figures on RELATE, one row each, with the book's real number beside.

    Parameters
    ----------
    headlines : DataFrame
        :func:`humanclap.book.run_headlines` (with ``folder``).
    figures : tuple of PublishedFigure

    Returns
    -------
    DataFrame
        :data:`PUBLISHED_COLUMNS`, every cell text: ``srcc``, ``ktau``, ``lcc`` with three
        decimals ("–" when the source gives none); ``book_real`` the real headlines of the
        figure's key ("not run on RELATE" when none was stated, "–" when the book has no such
        quantity). Simulated headlines are never read.
    """
    rows = [
        {
            "source": f.source,
            "metric": f.metric,
            "srcc": f.text or _value(f.srcc),
            "ktau": _value(f.ktau),
            "lcc": _value(f.lcc),
            "setup": f.setup,
            "book_real": _real_values(f, headlines),
        }
        for f in figures
    ]
    return pd.DataFrame(rows, columns=list(PUBLISHED_COLUMNS))


def _headline_rows(headlines: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    titles = runs.drop_duplicates("chapter").set_index("chapter")["title"]
    names = {
        stem: chapter_short_name(stem, titles.get(stem, stem)) for stem in headlines["chapter"]
    }
    chapter = [f"Ch. {names[s]}" if names[s].isdigit() else names[s] for s in headlines["chapter"]]
    where = ["" if folder == FOLDERS[0] else f" (`{folder}`)" for folder in headlines["folder"]]
    out = pd.DataFrame(
        {
            "chapter": chapter,
            "quantity": [q + w for q, w in zip(headlines["quantity"], where, strict=True)],
            "value": headlines["estimate"].to_numpy(),
            "value_lo": headlines["lo"].to_numpy(),
            "value_hi": headlines["hi"].to_numpy(),
            "n": headlines["n"].astype("Int64").to_numpy(),
        }
    )
    return out.reset_index(drop=True)


def real_table(headlines: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Every headline a chapter stated on RELATE's real ratings (or real audio), book order.

    Returns
    -------
    DataFrame
        ``chapter, quantity, value, value_lo, value_hi, n``; a headline of another folder than
        the book's (``book/relate`` ...) names it after its quantity.
    """
    real = headlines[(headlines["world"] == "relate") & ~headlines["simulated"].astype(bool)]
    return _headline_rows(real, runs)


def simulated_table(headlines: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Every headline of the embedded simulated world: method checks, with no paper column.

    Returns
    -------
    DataFrame
        As :func:`real_table`.
    """
    return _headline_rows(headlines[headlines["simulated"].astype(bool)], runs)


def _wrapped(styler: Styler, columns: list[int], width: str = "9em") -> Styler:
    styles = [{"selector": f"td.col{i}", "props": [*_WRAP, ("min-width", width)]} for i in columns]
    return styler.set_table_styles(styles, overwrite=False)


def published_view(table: pd.DataFrame, caption: str | None = None) -> Styler:
    """:func:`published_table` as the page shows it (words wrapping to fit the column)."""
    styler = plots.format_table(table, columns=PUBLISHED_COLUMNS, caption=caption)
    return _wrapped(styler, [1, 5, 6])


def headline_view(table: pd.DataFrame, caption: str | None = None) -> Styler:
    """:func:`real_table` or :func:`simulated_table` as the page shows it."""
    styler = plots.format_table(table, columns=_HEADLINE_COLUMNS, caption=caption)
    return _wrapped(styler, [1], "14em")


def _relate_params(root: Path, name: str) -> dict:
    params = load_params(root / "params" / name)
    return {**params["common"], **params["notebooks"].get("02_clapscore_vs_humans", {})}


def settings_table(root: str | os.PathLike) -> pd.DataFrame:
    """The settings that can move a CLAPScore's agreement with RELATE's listeners: as the book's
    real run sets them (``params/relate-gpu.yaml``, ``params/relate-laion.yaml`` under
    ``root`` and the library's constants) and as ELSA states them; the Human-CLAP poster states
    none of them in what this project could read.

    Returns
    -------
    DataFrame
        ``setting, book, elsa, why`` (text).
    """
    fused, laion = (
        _relate_params(Path(root), "relate-gpu.yaml"),
        _relate_params(Path(root), "relate-laion.yaml"),
    )
    seconds = CLIP_SAMPLES / SAMPLE_RATE
    rows = [
        ("audio rate", f"{SAMPLE_RATE / 1000:g} kHz, CLAP's own (soxr {SOXR_QUALITY})", "16 kHz",
         "CLAP was trained at 48 kHz: at 16 kHz everything above 8 kHz is gone"),
        ("clip length", f"{seconds:g} s windows; longer clips: {LONG_CLIPS}",
         "10 s", "which part of a long clip is heard"),
        ("model (fusion)", f"`{fused['model']}` ({FUSED_FEATURE_EXTRACTOR['truncation']}); "
         f"second row `{laion['model']}` (no fusion)", "LAION CLAPScore; checkpoint not stated "
         "in what we could read", "fused and non-fused checkpoints score differently"),
        ("caption cut", f"{MAX_TEXT_LENGTH} tokens (RoBERTa BPE)", "77 characters (its code)",
         "77 characters cut long captions mid-event: the later sounds are never scored"),
        ("split", f"`{fused.get('split', 'test')}` (RELATE's own labels)", "REL test split",
         "different pairs, different correlation"),
        ("ratings per pair", "mean of the screened listeners' ratings", "averaged per pair",
         "screening and averaging change the target"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["setting", "book", "elsa", "why"])
