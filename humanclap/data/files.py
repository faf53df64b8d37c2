"""What every reader of RELATE-layout files shares: the aspects, sources and splits, the error
type, and the checked CSV reader.

The lowest module of :mod:`humanclap.data`: :mod:`humanclap.data.categories`,
:mod:`humanclap.data.locate`, :mod:`humanclap.data.ratings` and the rest import from it, and it
imports nothing of :mod:`humanclap.data`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd

__all__ = [
    "ASPECTS",
    "AUDIOCAPS_SPLITS",
    "SIMULATED_SOURCES",
    "SOURCES",
    "SPLITS",
    "RelateDataError",
    "check_aspect",
    "read_csv_checked",
    "row_error",
]

#: The three rated aspects: overall relevance, inclusion of the events, their order.
ASPECTS: tuple[str, ...] = ("REL", "IS", "OS")
#: The five audio sources: the first folder of ``wavname``.
SOURCES: tuple[str, ...] = ("audiocaps", "audioldm", "audioldm2", "tango", "tango2")
#: How the embedded simulated world's four text-to-audio sources are named in its tables: never
#: as the real systems (its clips are synthesised by this library, not by AudioLDM or Tango, and
#: a simulated row "tango 0.145" would be one screenshot from being quoted as Tango's). The
#: world's files keep RELATE's folders; :meth:`humanclap.data.Dataset.load_ratings` relabels.
SIMULATED_SOURCES: dict[str, str] = {s: f"sim-{s}" for s in SOURCES if s != "audiocaps"}
#: RELATE's splits of the screened data.
SPLITS: tuple[str, ...] = ("train", "validation", "test")
#: AudioCaps' own splits: the second folder of ``wavname``.
AUDIOCAPS_SPLITS: tuple[str, ...] = ("train", "test")


class RelateDataError(ValueError):
    """RELATE data missing, unreadable or malformed; the message names file and row/column."""


def check_aspect(aspect: str) -> None:
    """Raise ``ValueError`` unless ``aspect`` is one of :data:`ASPECTS`."""
    if aspect not in ASPECTS:
        raise ValueError(f"aspect must be one of {ASPECTS}, got {aspect!r}")


def row_error(
    path: str | os.PathLike, index: int, column: str, value: object, problem: str, count: int = 1
) -> RelateDataError:
    """Build an error naming ``path``, the 1-based data row ``index + 1`` and ``column``.

    The CSV line is ``index + 2`` (line 1 is the header; no RELATE field spans lines).

    Parameters
    ----------
    path : path-like
        The file.
    index : int
        0-based data row.
    column : str
    value : object
        The offending cell.
    problem : str
        What is wrong with it.
    count : int
        How many rows have the problem (said when more than one).

    Returns
    -------
    RelateDataError
    """
    message = (
        f"{path}: data row {index + 1} (CSV line {index + 2}), column {column!r}: "
        f"{problem}; value {value!r}"
    )
    if count > 1:
        message += f" ({count} rows in all have this problem)"
    return RelateDataError(message)


def read_csv_checked(path: str | os.PathLike) -> pd.DataFrame:
    """Read a UTF-8 CSV with every cell as a string (``""`` for empty, no NaN guessing).

    Returns
    -------
    pandas.DataFrame
        Shape ``(num_rows, num_columns)``, every column of dtype ``str``/object.

    Raises
    ------
    RelateDataError
        The file cannot be opened, holds binary data or is not a parsable UTF-8 CSV.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError as err:
        raise RelateDataError(f"cannot read {path}: {err.strerror or err}") from err
    if b"\x00" in head:
        raise RelateDataError(f"{path} is not a text CSV file (it contains NUL bytes)")
    try:
        with warnings.catch_warnings():
            # more fields in a row than in the header: an error, not a silent shift into the index
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8-sig",
                index_col=False,
            )
    except (
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.ParserWarning,
        pd.errors.EmptyDataError,
    ) as err:
        raise RelateDataError(f"cannot read {path} as a UTF-8 CSV file: {err}") from err
