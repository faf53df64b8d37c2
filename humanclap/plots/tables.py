"""The book's tables: one formatter for every table a chapter shows.

:func:`format_table` turns a result table (the library's column names, such as ``srcc``,
``srcc_lo``, ``srcc_hi``, ``p_holm``, ``n_pairs``) into what a reader sees:

- readable headers (:data:`LABELS`; an unknown name loses its underscores);
- an estimate and its interval in one cell, ``0.299 [0.185, 0.400]`` (``x`` with ``x_lo`` and
  ``x_hi``; a bare ``lo``/``hi`` pair belongs to ``estimate``, ``mean`` or the column before it);
- no integer index (a named or non-integer index becomes the first column);
- counts as integers with thousands separators, other numbers with ``decimals`` decimals,
  p-values as ``< 0.001`` below that, missing values as ``–``;
- internal columns (:data:`INTERNAL`, such as ``n_boot_valid``) left out unless named;
- the bootstrap's resampling unit (a ``resampled`` column: ``captions`` or ``pairs``) said in
  the header of the bootstrap's intervals (``lo``/``hi``, ``diff_lo``/``diff_hi``, the columns
  :mod:`humanclap.stats` gives them), ``SRCC [95% CI, captions resampled]``.

It returns a pandas ``Styler`` whose HTML is deterministic (its id is a hash of the content), so
an executed chapter is the same every time it is run. :func:`table_text` gives the same cells as
a DataFrame of strings, for tests and for text output. :func:`csv_download` is a link that
downloads the full table as CSV, its data inside the page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from IPython.display import HTML
from pandas.io.formats.style import Styler

__all__ = ["INTERNAL", "LABELS", "csv_download", "format_table", "table_text"]

#: Readable headers for the library's column names.
LABELS: dict[str, str] = {
    "n": "n",
    "n_pairs": "pairs",
    "n_ratings": "ratings",
    "n_listeners": "listeners",
    "n_captions": "captions",
    "n_clips": "clips",
    "n_seeds": "seeds",
    "n_events": "event types",
    "srcc": "SRCC",
    "lcc": "LCC",
    "ktau": "KTAU",
    "mse": "MSE",
    "mse_calibrated": "MSE (calibrated)",
    "icc1": "ICC(1)",
    "icck": "ICC(1,k)",
    "icc1k": "ICC(1,k)",
    "k_hm": "raters per pair (harmonic mean)",
    "ceiling": "ceiling",
    "ceiling_lcc": "LCC ceiling",
    "ceiling_srcc": "SRCC ceiling",
    "mean_score": "mean rating (0–10)",
    "sd_score": "SD of ratings",
    "estimate": "estimate",
    "mean": "mean",
    "sd": "SD",
    "se": "SE",
    "diff": "difference",
    "p": "p",
    "p_value": "p",
    "p_holm": "p (Holm)",
    "p_adj": "p (adjusted)",
    "source": "source",
    "origin": "origin",
    "category": "category",
    "event": "sound-event type",
    "group": "group",
    "by": "grouped by",
    "name": "name",
    "clapscore": "CLAPScore",
    "human_clapscore": "Human-CLAPScore",
}

#: Columns that are bookkeeping, not results: left out unless asked for by name.
INTERNAL: frozenset[str] = frozenset(
    {
        "n_boot",
        "n_boot_valid",
        "seed",
        "hash",
        "run_hash",
        "out_dir",
        "path",
        "wavname_full",
        "resampled",
    }
)

_P_VALUE = re.compile(r"^p($|_)")
_COUNT = re.compile(r"^(n|n_.+|count|.+_count|rows.*|.+_removed|.+_rows)$")


_RIGHT = [
    ("text-align", "right"),
    ("font-variant-numeric", "tabular-nums"),
    ("white-space", "nowrap"),
]


#: A cell that is a number as the formatter writes it: "0.299", "1,311", "< 0.001", "-0.05",
#: "0.299 [0.185, 0.400]", "0.412 ± 0.020", or missing ("–").
_NUMBER = re.compile(r"^(–|(< )?[-+−]?\d[\d,]*(\.\d+)?%?( ± \d[\d.]*)?( \[[^\]]*\])?)$")


def _word_columns(text: pd.DataFrame) -> list[str]:
    """Shown headers whose cells are not all numbers (names such as "audioldm2"): left-aligned."""
    return [c for c in text.columns if not text[c].astype(str).str.match(_NUMBER).all()]


def _label(name: str, labels: Mapping[str, str]) -> str:
    if name in labels:
        return labels[name]
    if name in LABELS:
        return LABELS[name]
    return str(name).replace("_", " ")


def _interval_columns(columns: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``{estimate column: (lo column, hi column)}`` for the intervals present."""
    found: dict[str, tuple[str, str]] = {}
    cols = list(columns)
    for col in cols:
        if f"{col}_lo" in cols and f"{col}_hi" in cols:
            found[col] = (f"{col}_lo", f"{col}_hi")
    if "lo" in cols and "hi" in cols:
        owner = next((c for c in ("estimate", "mean") if c in cols), None)
        if owner is None and cols.index("lo") > 0:
            owner = cols[cols.index("lo") - 1]
        if owner is not None and owner not in found:
            found[owner] = ("lo", "hi")
    return found


def _is_count(name: str, values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return False
    if pd.api.types.is_integer_dtype(values):
        return True
    finite = values.dropna().to_numpy(dtype=float)
    whole = finite.size > 0 and bool(np.all(np.isfinite(finite) & (finite == np.round(finite))))
    return bool(_COUNT.match(str(name))) and whole


def _number(value: object, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{float(value):.{decimals}f}".replace("-", "−")
    return str(value)


def _p_value(value: object, decimals: int) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    threshold = 10.0**-decimals
    return f"< {threshold:.{decimals}f}" if float(value) < threshold else f"{value:.{decimals}f}"


def _column_text(name: str, values: pd.Series, decimals: int) -> list[str]:
    if _P_VALUE.match(str(name)) and pd.api.types.is_numeric_dtype(values):
        return [_p_value(v, decimals) for v in values]
    if _is_count(name, values):
        return ["–" if pd.isna(v) else f"{int(v):,}" for v in values]
    return [_number(v, decimals) for v in values]


def _with_index(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a meaningful index turned into columns and an integer index dropped."""
    index = table.index
    if isinstance(index, pd.MultiIndex) or index.name is not None:
        return table.reset_index()
    if pd.api.types.is_integer_dtype(index) or isinstance(index, pd.RangeIndex):
        return table.reset_index(drop=True)
    return table.reset_index(names="")


def _select(
    table: pd.DataFrame, columns: Sequence[str] | Mapping[str, str] | None
) -> tuple[pd.DataFrame, dict[str, str]]:
    if columns is None:
        keep = [c for c in table.columns if c not in INTERNAL]
        return table[keep], {}
    names = list(columns)
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise KeyError(f"format_table: column(s) {missing} not in the table {list(table.columns)}")
    intervals = _interval_columns(table.columns)
    kept: list[str] = []
    for name in names:
        kept.extend([name, *intervals.get(name, ())])
    labels = dict(columns) if isinstance(columns, Mapping) else {}
    return table[list(dict.fromkeys(kept))], labels


def _with_unit(interval: str, table: pd.DataFrame) -> str:
    """``interval`` with what the bootstrap of ``table`` resampled (its ``resampled`` column),
    e.g. ``"95% CI, captions resampled"``; unchanged without the column."""
    if "resampled" not in table.columns:
        return interval
    units = sorted({str(u) for u in table["resampled"].dropna() if str(u)})
    return f"{interval}, {' or '.join(units)} resampled" if units else interval


def table_text(
    table: pd.DataFrame,
    *,
    columns: Sequence[str] | Mapping[str, str] | None = None,
    decimals: int = 3,
    interval: str = "95% CI",
) -> pd.DataFrame:
    """The cells :func:`format_table` shows, as strings (same arguments).

    Returns
    -------
    DataFrame
        One string column per shown column, headers as shown, a plain 0..n-1 index.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"format_table: expected a DataFrame, got {type(table).__name__}")
    if not 0 <= decimals <= 6:
        raise ValueError(f"format_table: decimals must be 0..6, got {decimals}")
    frame, labels = _select(_with_index(table), columns)
    resampled = _with_unit(interval, table)
    intervals = _interval_columns(frame.columns)
    parts = {part for pair in intervals.values() for part in pair}
    out: dict[str, list[str]] = {}
    for col in frame.columns:
        if col in parts:
            continue
        text = _column_text(col, frame[col], decimals)
        header = _label(col, labels)
        if col in intervals:
            lo, hi = (_column_text(c, frame[c], decimals) for c in intervals[col])
            text = [
                t if a == "–" and b == "–" else f"{t} [{a}, {b}]"
                for t, a, b in zip(text, lo, hi, strict=True)
            ]
            boot = intervals[col] in (("lo", "hi"), ("diff_lo", "diff_hi"))
            header = f"{header} [{resampled if boot else interval}]"
        out[header] = text
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def format_table(
    table: pd.DataFrame,
    *,
    columns: Sequence[str] | Mapping[str, str] | None = None,
    decimals: int = 3,
    caption: str | None = None,
    interval: str = "95% CI",
) -> Styler:
    """A result table as the book shows it.

    Parameters
    ----------
    table : DataFrame
        Any result table of the library (rows x columns).
    columns : sequence or mapping of str, optional
        The columns to show, in order (their ``_lo``/``_hi`` come along); a mapping also renames
        them (``{"srcc": "SRCC (simulated)"}``). Default: every column but :data:`INTERNAL`.
    decimals : int
        Decimals of non-count numbers and of p-values (``< 0.001`` below ``10**-decimals``).
    caption : str, optional
        A caption above the table.
    interval : str
        What the brackets are, in the header (``"SRCC [95% CI]"``); a table with a
        ``resampled`` column adds its unit to the bootstrap's intervals (``lo``/``hi``,
        ``diff_lo``/``diff_hi``): ``"SRCC [95% CI, captions resampled]"``.

    Returns
    -------
    Styler
        Displays as an HTML table without index; ``.data`` holds the strings shown.
    """
    text = table_text(table, columns=columns, decimals=decimals, interval=interval)
    words = set(_word_columns(text))
    digest = hashlib.sha256(pd.util.hash_pandas_object(text, index=True).to_numpy().tobytes())
    digest.update("\x1f".join(map(str, text.columns)).encode())
    styler = text.style.hide(axis="index").set_uuid(f"t{digest.hexdigest()[:10]}")
    styler = styler.set_table_attributes('class="dataframe humanclap-table"')
    numeric = [f"td.col{i}" for i, c in enumerate(text.columns) if c not in words]
    wordy = [f"td.col{i}" for i, c in enumerate(text.columns) if c in words]
    styles = []  # numbers right-aligned, words left-aligned (whatever the theme's default)
    if numeric:
        styles.append({"selector": ", ".join(numeric), "props": _RIGHT})
    if wordy:
        styles.append({"selector": ", ".join(wordy), "props": [("text-align", "left")]})
    if styles:
        styler = styler.set_table_styles(styles)
    if caption:
        styler = styler.set_caption(caption)
    return styler


def csv_download(table: pd.DataFrame, filename: str, label: str | None = None) -> HTML:
    """A link that downloads ``table`` as a CSV file, with the data inside the page.

    Parameters
    ----------
    table : DataFrame
        The full table (all columns, numbers to 10 significant digits, not the formatted view);
        a named index is written as a column.
    filename : str
        The file's name in the reader's download folder (``.csv`` added when missing).
    label : str, optional
        The link's text (default: "Download <filename>").

    Returns
    -------
    IPython.display.HTML
    """
    if not filename.endswith(".csv"):
        filename += ".csv"
    if "/" in filename or "\\" in filename or filename == ".csv":
        raise ValueError(f"csv_download: filename must be a plain file name, got {filename!r}")
    # 10 significant digits: the same file whether a number was computed or read back
    data = _with_index(table).to_csv(index=False, lineterminator="\n", float_format="%.10g")
    encoded = base64.b64encode(data.encode("utf-8")).decode("ascii")
    text = html.escape(label or f"Download {filename}")
    return HTML(
        f'<p class="humanclap-download"><a download="{html.escape(filename)}" '
        f'href="data:text/csv;charset=utf-8;base64,{encoded}">{text}</a> '
        f"({len(table):,} rows)</p>"
    )
