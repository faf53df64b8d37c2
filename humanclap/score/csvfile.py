"""Reading a CSV of pairs as written: every cell as text, with the line each row starts on.

Pure Python (``csv``, ``codecs``) up to the last step, so that ``humanclap score`` checks a CSV's
header (:func:`read_csv_rows`) before pandas or torch load; :func:`read_pairs_csv` makes the
table. Used for the pairs CSV of ``humanclap score --pairs`` and for prompts files
(:mod:`humanclap.score.prompts`).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_csv_rows", "read_pairs_csv"]


# ----------------------------------------------------------------------------- reading a CSV
def _decode_csv(data: bytes, path: Path, encoding: str) -> str:
    """The file's text; a ValueError naming the file and the line of a bad byte."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"encoding {encoding!r}: unknown (e.g. utf-8, cp1252, latin-1)") from None
    try:
        return data.decode("utf-8-sig" if name == "utf-8" else encoding)  # a BOM is not text
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ValueError(
            f"{path} line {line}: not {encoding} text (byte 0x{data[err.start]:02x} at column "
            f"{column}); give the file's encoding (encoding=..., humanclap score --encoding), "
            "e.g. cp1252 or latin-1"
        ) from None


def _records(
    text: str, path: Path, strict: bool = False, delimiter: str = ","
) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of each non-blank record, ``line`` the 1-based line it starts on; a
    ValueError naming that line when the csv module cannot read it."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=strict, delimiter=delimiter)
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            if "unexpected end of data" in str(err):  # only the strict reader says so
                raise ValueError(
                    f"{path} line {line}: a quoted field is never closed (its opening quote "
                    "makes the rest of the file one cell)"
                ) from None
            if strict:  # other strict complaints: read leniently, as pandas does
                return
            raise ValueError(f"{path} line {line}: cannot read the CSV ({err})") from None
        if row:
            yield line, row


def _header(names: list[str]) -> list[str]:
    """Column names as pandas gives them: ``Unnamed: <i>`` for blanks, ``.1``, ``.2`` for
    repeats."""
    out: list[str] = []
    for i, name in enumerate(names):
        name = base = name or f"Unnamed: {i}"
        k = 0
        while name in out:
            k += 1
            name = f"{base}.{k}"
        out.append(name)
    return out


def read_csv_rows(
    path: str | os.PathLike, *, encoding: str = "utf-8", delimiter: str = ","
) -> tuple[list[str], list[list[str | None]], list[int]]:
    """The header, the rows and the line of each row of a CSV (or TSV), in pure Python.

    Parameters
    ----------
    path : path-like
    encoding : str
        The file's text encoding (``"utf-8"`` also reads a UTF-8 file with a byte-order mark).
    delimiter : str
        ``","`` for CSV, ``"\\t"`` for TSV.

    Returns
    -------
    columns : list of str
        Named by the header line (blank names ``"Unnamed: <i>"``, repeats ``"<name>.1"``, as
        pandas does).
    rows : list of list, one per non-blank record, each ``len(columns)`` long
        Every cell as written (str), empty cells None; a short row is filled with None.
    lines : list of int, one per row
        The 1-based line it starts on (a quoted caption with a line break spans two).

    Raises
    ------
    OSError
        The file cannot be read.
    ValueError
        Naming the file (and the line): an unknown encoding, bytes that are not text in it, no
        header, a row with more fields than the header, a quoted field never closed.
    """
    path = Path(path)
    text = _decode_csv(path.read_bytes(), path, encoding)
    if text.count('"') % 2:  # maybe a quote never closed: only the strict reader finds it
        for _ in _records(text, path, strict=True, delimiter=delimiter):
            pass
    records = _records(text, path, delimiter=delimiter)
    _, names = next(records, (0, []))
    if not names:
        raise ValueError(f"{path}: cannot read the CSV (no header line: the file is empty)")
    columns = _header(names)
    rows, lines = [], []
    for line, row in records:
        if len(row) > len(columns):
            raise ValueError(
                f"{path} line {line}: {len(row)} fields, but the header has {len(columns)}"
            )
        rows.append([cell or None for cell in row] + [None] * (len(columns) - len(row)))
        lines.append(line)
    return columns, rows, lines


def read_pairs_csv(
    path: str | os.PathLike, *, encoding: str = "utf-8", require: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, list[int]]:
    """Read a CSV of pairs as text, with the line of the file each row starts on.

    Parameters
    ----------
    path : path-like
    encoding : str
        As in :func:`read_csv_rows`.
    require : mapping of str to str, optional
        Columns the file must have, each with the setting that names it (e.g.
        ``{"prompt": "text_col"}``): a missing one is a ValueError naming the file, the column,
        that setting and the file's columns.

    Returns
    -------
    table : pandas.DataFrame, shape (rows, columns)
        Every cell as written (str: captions such as ``"NA"`` or ``"null"`` stay text), empty
        cells None; columns and blank lines as in :func:`read_csv_rows`.
    lines : list of int, one per row
        The 1-based line it starts on.

    Raises
    ------
    OSError, ValueError
        As :func:`read_csv_rows`; or a column of ``require`` is missing.
    """
    import pandas as pd  # lazy: the header checks of `humanclap score` run before pandas loads

    columns, rows, lines = read_csv_rows(path, encoding=encoding)
    missing = [
        f"{c!r} (set {setting})" for c, setting in (require or {}).items() if c not in columns
    ]
    if missing:
        raise ValueError(
            f"{path}: no column {' or '.join(missing)}; its columns: {', '.join(columns)}"
        )
    return pd.DataFrame(rows, columns=columns, dtype=object), lines
