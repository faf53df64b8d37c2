"""One table of the same rows scored by several models (``humanclap score --model A --model B``).

:func:`merge_model_scores` joins :func:`humanclap.score.score_pairs`'s outputs for several
models on the same rows into one table: the input's columns, then one score column per model
(``clapscore_<slug>``, in the models' order), then ``model`` and ``model_fingerprint`` holding
every model's spec and fingerprint in that order, joined by ``"; "`` (one model: its spec and
fingerprint, as :func:`~humanclap.score.score_pairs` writes them), then ``error`` and
``warning``: each row's distinct messages over the models, in the models' order, joined by
``"; "`` (a clip that cannot be decoded fails for every model and is said once).
:func:`model_fingerprints` reads back the fingerprint of one score column's model.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from humanclap.score.columns import MODEL_COLUMNS, score_column

__all__ = ["MODEL_SEPARATOR", "merge_model_scores", "model_fingerprints"]

#: What separates the models' specs and fingerprints in ``model`` and ``model_fingerprint``.
MODEL_SEPARATOR = "; "
_ADDED = ("error", "warning", *MODEL_COLUMNS)


def _distinct(messages: Sequence[str]) -> str:
    seen: list[str] = []
    for message in messages:
        for part in str(message).split(MODEL_SEPARATOR):
            if part and part not in seen:
                seen.append(part)
    return MODEL_SEPARATOR.join(seen)


def merge_model_scores(tables: Sequence[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    """The rows of ``tables`` (one per model, the same rows) with every model's score.

    Parameters
    ----------
    tables : sequence of pandas.DataFrame, each shape (n, ...)
        :func:`humanclap.score.score_pairs`'s outputs for the same rows, one per model.
    columns : sequence of str
        Each table's score column (distinct).

    Returns
    -------
    pandas.DataFrame, shape (n, ...)
        Module doc: the input columns, the score columns, ``model``, ``model_fingerprint``,
        ``error``, ``warning``.

    Raises
    ------
    ValueError
        No table, not one column per table, a column named twice, or tables whose rows differ.
    """
    if not tables or len(tables) != len(columns):
        raise ValueError(f"{len(tables)} tables for {len(columns)} score columns")
    if len(set(columns)) != len(columns):
        raise ValueError(f"score columns named twice: {', '.join(columns)}")
    first = tables[0]
    inputs = [c for c in first.columns if c not in (*columns, *_ADDED)]
    for column, table in zip(columns, tables, strict=True):
        if not table.index.equals(first.index) or not table[inputs].equals(first[inputs]):
            raise ValueError(f"the table of {column!r} does not hold the same rows")
    out = first[inputs].copy()
    for column, table in zip(columns, tables, strict=True):
        out[column] = table[column]
    for name in (*MODEL_COLUMNS, "error", "warning"):
        cells = zip(*(t[name].astype(str) for t in tables), strict=True)
        out[name] = [
            (MODEL_SEPARATOR.join if name in MODEL_COLUMNS else _distinct)(c) for c in cells
        ]
    return out


def model_fingerprints(table: pd.DataFrame, column: str) -> set[str]:
    """The fingerprints of the model whose score column is ``column``, over the rows (read
    from ``model`` and ``model_fingerprint``, module doc); empty when the table lacks them or
    names no such model."""
    if not set(MODEL_COLUMNS) <= set(table.columns):
        return set()
    found: set[str] = set()
    for specs, prints in zip(table[MODEL_COLUMNS[0]], table[MODEL_COLUMNS[1]], strict=True):
        specs_fps = (str(specs).split(MODEL_SEPARATOR), str(prints).split(MODEL_SEPARATOR))
        pairs = zip(*specs_fps, strict=False)  # a cell edited by hand may lack one
        found.update(fp for spec, fp in pairs if _column_of(spec) == column)
    return found


def _column_of(spec: str) -> str | None:
    try:
        return score_column(spec)
    except ValueError:
        return None
