"""Headline numbers: what a chapter states as its result, recorded where a script can read it.

A chapter states each headline quantity once, through :meth:`humanclap.book.Chapter.headline`
(which calls :func:`headline_output`): the reader sees a bold line, and the output's metadata
(key :data:`HEADLINE_METADATA`) keeps the number, its interval, its unit and the world it came
from. :func:`collect_headlines` reads them back from executed chapters, so the book's results
page and the README are generated from what the chapters printed and cannot drift from them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

__all__ = ["HEADLINE_METADATA", "Headline", "collect_headlines", "headline_output"]

#: Key of an output's metadata that holds a :class:`Headline` (as a dict).
HEADLINE_METADATA = "humanclap_headline"
_COLUMNS = ["chapter", "key", "quantity", "estimate", "lo", "hi", "n", "world", "simulated"]


@dataclass(frozen=True)
class Headline:
    """One headline number of a chapter.

    Attributes
    ----------
    key : str
        Stable identifier, for example ``"clapscore_srcc"`` (the results page's row).
    quantity : str
        What it is, in words: ``"SRCC of CLAPScore with the mean rating (test pairs)"``.
    estimate, lo, hi : float
        The value and its 95% interval (``nan`` when there is none).
    n : int or None
        Pairs (or other units) it was computed on.
    world : str
        ``"relate"``, ``"synthetic"`` or ``"folder"``: where the number comes from.
    simulated : bool
        True for numbers of the embedded simulated world (a method check, never a finding).
    """

    key: str
    quantity: str
    estimate: float
    lo: float = math.nan
    hi: float = math.nan
    n: int | None = None
    world: str = "synthetic"
    simulated: bool = True

    def __post_init__(self) -> None:
        if not self.key or not self.key.replace("_", "").isalnum():
            raise ValueError(f"Headline: key must be letters, digits and '_', got {self.key!r}")
        for name in ("estimate", "lo", "hi"):
            object.__setattr__(self, name, float(getattr(self, name)))

    def text(self, decimals: int = 3) -> str:
        """``"0.299 [0.185, 0.400]"``."""
        value = f"{self.estimate:.{decimals}f}"
        if math.isfinite(self.lo) and math.isfinite(self.hi):
            value += f" [{self.lo:.{decimals}f}, {self.hi:.{decimals}f}]"
        return value


def headline_output(headline: Headline, sentence: str | None = None) -> tuple[Markdown, dict]:
    """What to display for a headline, and the metadata to display it with.

    Parameters
    ----------
    headline : Headline
    sentence : str, optional
        The line the reader sees (Markdown); default "**<quantity>: <value>**", prefixed
        "Simulated: " on the embedded world.

    Returns
    -------
    (Markdown, dict)
        Pass both to ``IPython.display.display(obj, metadata=...)``.
    """
    if sentence is None:
        tag = "Simulated: " if headline.simulated else ""
        sentence = f"**{tag}{headline.quantity}: {headline.text()}**"
    record = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
              for k, v in asdict(headline).items()}  # fmt: skip
    return Markdown(sentence), {HEADLINE_METADATA: record}


def collect_headlines(notebooks: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Every headline recorded in executed notebooks, in order.

    Parameters
    ----------
    notebooks : iterable of path
        Executed chapters (``book/chapters/*.ipynb``); the chapter is the file's stem.

    Returns
    -------
    DataFrame
        Columns ``chapter, key, quantity, estimate, lo, hi, n, world, simulated`` (``n`` a
        nullable integer); one row per headline. A key recorded twice in one chapter keeps its last value.

    Raises
    ------
    ValueError
        A notebook that is not JSON, naming the file.
    """
    rows = []
    for path in map(Path, notebooks):
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: not a readable notebook ({err})") from err
        for cell in nb.get("cells", []):
            for output in cell.get("outputs", []):
                record = output.get("metadata", {}).get(HEADLINE_METADATA)
                if isinstance(record, dict):
                    rows.append({"chapter": path.stem, **record})
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table = table.drop_duplicates(["chapter", "key"], keep="last").reset_index(drop=True)
    return table.astype({"estimate": float, "lo": float, "hi": float, "n": "Int64"})
